import { fromBinary } from "@bufbuild/protobuf";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { Attempt, BraintrustView, FaultStep, ReceivedRequest } from "../../scripts/lib/braintrust-standin-contract.js";
import { spansOf } from "../../scripts/lib/traces.js";
import { hex } from "../../src/encoding/bytes.js";

export type DeliveredRequest = ReceivedRequest & { bytes: Uint8Array; request: ExportTraceServiceRequest };

/** The stand-in's control API, usable from workerd and from Node alike. */
export function standinClient(url: string) {
  return {
    url,

    /** A new API key the stand-in accepts. Each test uses its own, so tests never see each other's spans. */
    async issueKey(): Promise<string> {
      const response = await fetch(`${url}/_standin/keys`, { method: "POST" });
      return ((await response.json()) as { key: string }).key;
    },

    async revokeKey(key: string): Promise<void> {
      await fetch(`${url}/_standin/keys?key=${key}`, { method: "DELETE" });
    },

    /** Scripted answers for the next requests that carry `key`. */
    async script(key: string, steps: FaultStep[]): Promise<void> {
      await fetch(`${url}/_standin/faults?key=${key}`, { method: "POST", body: JSON.stringify(steps) });
    },

    async received(key: string): Promise<DeliveredRequest[]> {
      const list = (await (await fetch(`${url}/_standin/received?key=${key}`)).json()) as ReceivedRequest[];
      return list.map((r) => {
        const bytes = Uint8Array.from(atob(r.body), (c) => c.charCodeAt(0));
        return { ...r, bytes, request: fromBinary(ExportTraceServiceRequestSchema, bytes) };
      });
    },

    /** Every span accepted for `key`, in the order the requests arrived. */
    async spans(key: string): Promise<Span[]> {
      return (await this.received(key)).flatMap((r) => spansOf(r.request));
    },

    /** The same by name, for tests whose spans each have a name of their own. */
    async spansByName(key: string): Promise<Map<string, Span>> {
      return new Map((await this.spans(key)).map((span) => [span.name, span]));
    },

    /** What a Braintrust user would see of what arrived for `key` under `parent` (when all went to one, that one). */
    async view(key: string, parent?: string): Promise<BraintrustView> {
      const query = new URLSearchParams({ key, ...(parent === undefined ? {} : { parent }) });
      const response = await fetch(`${url}/_standin/view?${query}`);
      if (!response.ok) throw new Error(`the stand-in has no view: ${await response.text()}`);
      return (await response.json()) as BraintrustView;
    },

    async attempts(key: string): Promise<Attempt[]> {
      return (await (await fetch(`${url}/_standin/attempts?key=${key}`)).json()) as Attempt[];
    },

    /** Opens another port serving the same endpoint (the same port again, when given). */
    async openListener(port?: number): Promise<number> {
      const response = await fetch(`${url}/_standin/listeners${port ? `?port=${port}` : ""}`, { method: "POST" });
      return ((await response.json()) as { port: number }).port;
    },

    async closeListener(port: number): Promise<void> {
      await fetch(`${url}/_standin/listeners?port=${port}`, { method: "DELETE" });
    },

    /**
     * Polls until every span id (hex) has arrived for `key`, or the deadline passes. Returns how
     * often each arrived, so a test can assert nothing was lost and count duplicates.
     */
    async waitForSpans(
      key: string,
      spanIds: string[],
      timeoutMs = 30_000,
    ): Promise<{ missing: string[]; duplicates: number; requests: DeliveredRequest[] }> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const requests = await this.received(key);
        const counts = new Map<string, number>();
        for (const r of requests) {
          for (const rs of r.request.resourceSpans)
            for (const ss of rs.scopeSpans)
              for (const span of ss.spans) {
                const id = hex(span.spanId);
                counts.set(id, (counts.get(id) ?? 0) + 1);
              }
        }
        const missing = spanIds.filter((id) => !counts.has(id));
        if (missing.length === 0 || Date.now() > deadline) {
          const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
          return { missing, duplicates, requests };
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  };
}
