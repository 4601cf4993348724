import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Span_EventSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { attr, toProtobuf } from "../../scripts/lib/traces.js";
import { relayConfig } from "../../src/env.js";
import { requestOf, spanWith } from "../support/traces.js";

/**
 * A model call whose message events sit beside its payload: translation matches the events with the
 * payload's messages, which it otherwise passes on as bytes. A prompt of tiny JSON objects filling
 * the body limit, parsed for that, would take several times the heap an isolate has.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;

describe("message events beside a payload of tiny JSON objects filling the body limit", () => {
  it("completes under a 128 MiB heap", () => {
    const objects = Math.floor((limit - 4096) / 3);
    const span = spanWith("Model: openai-main/gpt-4o", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", `{"messages":[${"{},".repeat(objects - 1)}{}]}`),
    ]);
    span.events = [create(Span_EventSchema, { name: "gen_ai.user.message", attributes: [attr("content", "hi")] })];
    const body = toProtobuf(requestOf([span]));
    expect(body.byteLength).toBeLessThanOrEqual(limit);

    const run = runHeapCapped(body, "protobuf", {});

    expect(run, JSON.stringify(run).slice(0, 600)).toMatchObject({ outcome: "completed", spans: 1 });
  });
});
