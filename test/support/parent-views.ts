import type { SpanView } from "../../scripts/lib/braintrust-standin-contract.js";
import { braintrustView } from "../../scripts/lib/braintrust-view.js";
import type { DeliveredRequest } from "../standin/client.js";

/** What a Braintrust user sees under one parent: the traces its Logs table lists (root name, spans in the tree) and spans it hides. */
interface ParentView {
  traces: Array<{ root: string; spans: number }>;
  unlisted: number;
}

function countSpans(span: SpanView): number {
  return 1 + span.children.reduce((sum, child) => sum + countSpans(child), 0);
}

/** Each parent's view, from what the stand-in received: a trace split across parents shows as a root in one and hidden spans in another. */
export function viewsByParent(received: DeliveredRequest[]): Record<string, ParentView> {
  const byParent = Map.groupBy(received, (r) => r.parent);
  return Object.fromEntries(
    [...byParent].map(([parent, requests]) => {
      const view = braintrustView(requests.map((r) => r.request));
      return [parent, { traces: view.traces.map((t) => ({ root: t.root, spans: countSpans(t.tree) })), unlisted: view.unlisted }];
    }),
  );
}
