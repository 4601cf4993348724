import type { SpanFields } from "../otlp/incoming.js";
import { isRoot } from "../otlp/root.js";

/**
 * Braintrust's SDK rule for AI spans: roots, and spans whose name or any attribute key starts with
 * one of these prefixes (`tfy.` added for TrueFoundry). The three keys below mark where a span
 * goes, not what it is about, so they alone do not count. See docs/braintrust-otlp.md.
 */
const AI_PREFIXES = ["gen_ai.", "braintrust.", "llm.", "ai.", "traceloop.", "tfy."];
const NOT_BY_THEMSELVES = new Set(["braintrust.parent", "braintrust.org", "braintrust.app_url"]);

export function isAiSpan(span: SpanFields): boolean {
  if (isRoot(span)) return true;
  if (AI_PREFIXES.some((p) => span.name.startsWith(p))) return true;
  return span.attributes.some((a) => !NOT_BY_THEMSELVES.has(a.key) && AI_PREFIXES.some((p) => a.key.startsWith(p)));
}
