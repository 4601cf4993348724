import { describe, expect, it } from "vitest";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { relayConfig } from "../../src/env.js";

/**
 * A JSON span (or a resource's own members) holding one member of millions of tiny values that are
 * not objects, each of which JSON.parse would build: the layout's check counts every list, object,
 * member and item, and refuses them before anything is parsed.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;
const ids = `"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"x"`;

function oneSpanWith(member: string, element: string): Uint8Array {
  const count = Math.floor((limit - 256) / (element.length + 1));
  const values = Array(count).fill(element).join(",");
  return new TextEncoder().encode(`{"resourceSpans":[{"scopeSpans":[{"spans":[{${ids},"${member}":[${values}]}]}]}]}`);
}

function oneResourceWith(member: string, element: string): Uint8Array {
  const count = Math.floor((limit - 256) / (element.length + 1));
  const values = Array(count).fill(element).join(",");
  return new TextEncoder().encode(`{"resourceSpans":[{"${member}":[${values}],"scopeSpans":[{"spans":[{${ids}}]}]}]}`);
}

/** A span whose unknown member is one object of as many distinct keys as fit: one `{`, a million members. */
function oneSpanWithAnObjectOfManyKeys(): Uint8Array {
  const members: string[] = [];
  for (let i = 0, length = 0; length < limit - 256; i++) {
    const member = `"${i.toString(36)}":0`;
    members.push(member);
    length += member.length + 1;
  }
  return new TextEncoder().encode(`{"resourceSpans":[{"scopeSpans":[{"spans":[{${ids},"zz":{${members.join(",")}}}]}]}]}`);
}

describe("a JSON request at the default limits whose one span or resource holds millions of non-object values, under a 128 MiB heap", () => {
  it.each([
    ["a span's unknown member of empty lists", () => oneSpanWith("zz", "[]")],
    ["a span's unknown member of zeros", () => oneSpanWith("zz", "0")],
    ["a span's unknown member of empty strings", () => oneSpanWith("zz", '""')],
    ["a span's unknown member that is one object of a million keys", oneSpanWithAnObjectOfManyKeys],
  ])("%s: the span is rejected on its own before it is parsed", (_shape, body) => {
    const run = runHeapCapped(body(), "json", {});

    expect(run, JSON.stringify(run).slice(0, 300)).toEqual({ outcome: "completed", spans: 0, rejected: 1 });
  });

  it("a resource's unknown member of zeros is refused with 413 before it is parsed", () => {
    const run = runHeapCapped(oneResourceWith("zz", "0"), "json", {});

    expect(run, JSON.stringify(run).slice(0, 300)).toMatchObject({ outcome: "refused", status: 413 });
  });
});
