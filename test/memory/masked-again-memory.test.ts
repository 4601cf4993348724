import { describe, expect, it } from "vitest";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { attr, randomId, toProtobuf } from "../../scripts/lib/traces.js";
import { MAX_UPSTREAM_REQUEST_BYTES } from "../../src/deliver/plan.js";
import { MAX_SPANS_PER_REQUEST } from "../../src/receive/request-limits.js";
import { requestOf, spanWith } from "../support/traces.js";

/**
 * Kept spans sent after their tenant's rules changed are masked again (process/mask-again.ts): a
 * queued request of the most spans a request may hold, of tiny attributes, near the upstream limit,
 * decoded whole, took more than an isolate's 128 MiB of heap, on every retry and replay.
 */
describe("spans masked again after their tenant's rules changed", () => {
  it("completes under a 128 MiB heap for a kept request of the most spans, of tiny attributes, near the upstream limit", () => {
    const traceId = randomId(16);
    // Tiny attributes, what costs the most heap decoded per byte; one an address the rule masks.
    const tiny = Array.from({ length: 12 }, (_, i) => attr(String.fromCharCode(97 + i), ""));
    const spans = Array.from({ length: MAX_SPANS_PER_REQUEST }, () => spanWith("s", [...tiny, attr("n", "a@b.co")], { traceId }));
    const body = toProtobuf(requestOf(spans));
    expect(body.byteLength).toBeGreaterThan(MAX_UPSTREAM_REQUEST_BYTES * 0.8);
    expect(body.byteLength).toBeLessThanOrEqual(MAX_UPSTREAM_REQUEST_BYTES);

    const run = runHeapCapped(body, "protobuf", { redact: { values: ["emails"] } }, 128, "masked again");

    expect(run, JSON.stringify(run).slice(0, 600)).toEqual({ outcome: "completed", spans: MAX_SPANS_PER_REQUEST, rejected: 0 });
  });
});
