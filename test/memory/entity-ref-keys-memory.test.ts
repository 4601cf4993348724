import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { concat } from "../../src/encoding/bytes.js";
import { relayConfig } from "../../src/env.js";
import { lengthDelimitedBytes } from "../support/wire.js";

/**
 * A resource's EntityRef holds `id_keys` and `description_keys`, repeated strings: protobuf-es makes a
 * JS string of each. Four bytes each, a 16 MiB body holds four million: each item counts toward the
 * resource's limit, in the full decode and in the wire check alike.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;

/** EntityRef.id_keys (field 3), each a string of two characters, as many distinct ones as two give. */
function idKeys(count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    out.set([0x1a, 2, 0x21 + (i % 90), 0x21 + (Math.floor(i / 90) % 90)], i * 4);
  }
  return out;
}

function bodyWith(parentSpanId?: Uint8Array): Uint8Array {
  const span = toBinary(
    SpanSchema,
    create(SpanSchema, {
      traceId: new Uint8Array(16).fill(1),
      spanId: new Uint8Array(8).fill(1),
      name: "x",
      ...(parentSpanId ? { parentSpanId } : {}),
    }),
  );
  // ResourceSpans { resource { entity_refs { id_keys × millions } }, scope_spans { spans } }
  const resource = lengthDelimitedBytes(1, lengthDelimitedBytes(3, idKeys(Math.floor((limit - 1024) / 4))));
  return lengthDelimitedBytes(1, concat([resource, lengthDelimitedBytes(2, lengthDelimitedBytes(2, span))]));
}

describe("a protobuf request at the default limits whose resource's entity ref holds millions of tiny id keys, under a 128 MiB heap", () => {
  it.each([
    ["a root with a parent of zeros (the full decode)", new Uint8Array(8), {}],
    ["a vouched span, masking emails", undefined, { translate: false, redact: { values: ["emails"] } }],
  ])("%s is refused with 413 before the resource is decoded", (_shape, parent, settings) => {
    const run = runHeapCapped(bodyWith(parent), "protobuf", settings);

    expect(run, JSON.stringify(run).slice(0, 300)).toMatchObject({ outcome: "refused", status: 413 });
  });
});
