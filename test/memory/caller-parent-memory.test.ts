import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AnyValueSchema, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { worstRequest } from "../../scripts/lib/worst-shapes.js";
import { concat } from "../../src/encoding/bytes.js";
import { relayConfig } from "../../src/env.js";
import { MAX_MESSAGES_PER_SPAN } from "../../src/receive/request-limits.js";

/**
 * "tiny attributes" (which completes under 128 MiB, pipeline-memory.test.ts), but each span a gateway
 * request span continuing a caller's trace: a parent_span_id that is not in the request.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;
const spanType = create(KeyValueSchema, {
  key: "tfy.span_type",
  value: create(AnyValueSchema, { value: { case: "stringValue", value: "ChatCompletion" } }),
});
const fields = toBinary(
  SpanSchema,
  create(SpanSchema, {
    traceId: new Uint8Array(16).fill(1),
    spanId: new Uint8Array(8).fill(1),
    parentSpanId: new Uint8Array(8).fill(0xca),
    name: "ChatCompletion",
    attributes: [spanType],
  }),
);
const emptyAttributes = new Uint8Array((MAX_MESSAGES_PER_SPAN - 2) * 2).map((_, i) => (i % 2 === 0 ? 0x4a : 0));
const shape = { format: "protobuf" as const, span: concat([fields, emptyAttributes]) };

describe("request spans continuing a caller's trace, tiny attributes filling the body limit", () => {
  it.each([
    ["keep_caller_parent", { keep_caller_parent: true }],
    ["the default, making them roots", {}],
  ])("completes under a 128 MiB heap (%s)", (_what, settings) => {
    const body = worstRequest(shape, limit);
    const run = runHeapCapped(body, "protobuf", settings);
    expect(run, JSON.stringify(run).slice(0, 600)).toMatchObject({ outcome: "completed" });
  });
});
