import { describe, expect, it } from "vitest";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { WORST_SHAPES, worstRequest } from "../../scripts/lib/worst-shapes.js";
import { concat } from "../../src/encoding/bytes.js";
import { relayConfig } from "../../src/env.js";
import { MAX_SPANS_PER_REQUEST } from "../../src/receive/request-limits.js";
import { MAX_MENDED_STRINGS } from "../../src/receive/text-repair.js";

/**
 * Requests whose text is not all UTF-8, at the default limits, through the relay's pipeline under a
 * 128 MiB heap: text is mended (src/receive/text-repair.ts), and what is held until the request is
 * assembled stays bounded however the faults are spread.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;
const translating = {};
const nothingToChange = { translate: false };

/** Span.name (field 5) once more after the span's other fields, as the three bytes of half an emoji: the last value wins. */
const HALF_EMOJI_NAME = [0x2a, 3, 0xed, 0xa0, 0xbd];
/** An attribute (field 9) whose key is half an emoji, which mended takes no more bytes, and whose value is empty. */
const HALF_EMOJI_KEY_ATTRIBUTE = [0x4a, 5, 0x0a, 3, 0xed, 0xa0, 0xbd];

function withFields(shape: string, fields: number[]) {
  const { span, ...rest } = WORST_SHAPES[shape]!;
  return { ...rest, span: concat([span, new Uint8Array(fields)]) };
}

describe("a request with text to mend, filling the body limit, under a 128 MiB heap", () => {
  it.each([
    ["nothing to change", nothingToChange],
    ["translation", translating],
  ])("completes, every span mended and sent, for tiny attributes with half an emoji in each span's name (%s)", (_what, settings) => {
    const body = worstRequest(withFields("tiny attributes", HALF_EMOJI_NAME), limit);

    const run = runHeapCapped(body, "protobuf", settings);

    expect(run).toMatchObject({ outcome: "completed", rejected: 0 });
    expect(run.outcome === "completed" && run.spans).toBeGreaterThan(400);
  });

  it("completes for as many tiny spans as a request may hold, each with half an emoji in its name: as many strings as are mended", () => {
    expect(MAX_MENDED_STRINGS).toBe(MAX_SPANS_PER_REQUEST);
    const body = worstRequest(withFields("tiny spans, at the span limit", HALF_EMOJI_NAME), limit);

    expect(runHeapCapped(body, "protobuf", translating)).toMatchObject({
      outcome: "completed",
      spans: MAX_SPANS_PER_REQUEST,
      rejected: 0,
    });
  });

  it("completes rejecting the faulty spans, not mending them, when every attribute's key is half an emoji: more strings than are mended", () => {
    const attributes = Array.from({ length: 12_000 }, () => HALF_EMOJI_KEY_ATTRIBUTE).flat();
    const body = worstRequest(withFields("tiny spans", attributes), limit);

    const run = runHeapCapped(body, "protobuf", nothingToChange);

    expect(run).toMatchObject({ outcome: "completed", spans: 0 });
    expect(run.outcome === "completed" && run.rejected).toBeGreaterThan(100);
  });
});
