import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { Span } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, spansOf, trueFoundryTrace } from "../scripts/lib/traces.js";

/**
 * Gateway traffic as TrueFoundry exports it, batched to about `targetBytes`: ChatCompletion → Model
 * → POST traces whose tfy.input and tfy.output carry real-sized prompts and answers (a few KB).
 * A third of the traces are tagged env=eval and a third come from a second model, so a tenant with
 * two routes sends to three parents.
 */
export function gatewayBatch(targetBytes: number): Uint8Array {
  const request = create(ExportTraceServiceRequestSchema, {});
  const text = prose(20260101);
  let size = 0;
  for (let i = 0; size < targetBytes; i++) {
    const trace = trueFoundryTrace({ prompt: `Summarise ticket #${i}: ${text(3000)}` });
    const [root, model] = spansOf(trace);
    // A real-sized answer in place of the fixture's short one: one tfy.output, as the gateway sends it.
    replaceAttribute(
      root!,
      "tfy.output",
      JSON.stringify({
        id: `chatcmpl-${i}`,
        choices: [{ index: 0, message: { role: "assistant", content: text(1500) }, finish_reason: "stop" }],
      }),
    );
    // Routes read a key's first attribute: a second beside the fixture's would route nothing.
    if (i % 3 === 1) replaceAttribute(root!, "tfy.request.metadata", JSON.stringify({ env: "eval" }));
    if (i % 3 === 2) replaceAttribute(model!, "tfy.model.name", "claude-sonnet-4");
    request.resourceSpans.push(...trace.resourceSpans);
    size = toBinary(ExportTraceServiceRequestSchema, request).byteLength;
  }
  return toBinary(ExportTraceServiceRequestSchema, request);
}

function replaceAttribute(span: Span, key: string, value: string): void {
  span.attributes = [...span.attributes.filter((a) => a.key !== key), attr(key, value)];
}

const WORDS = (
  "the customer reports export page second stalls after order refund invoice account billing error retry timeout " +
  "model response token prompt latency gateway request summary ticket support agent escalate priority shipping " +
  "delayed warehouse address update password reset login failed two factor payment card declined subscription " +
  "plan upgrade downgrade cancel trial discount coupon region europe asia pricing report dashboard chart metric " +
  "alert threshold incident resolved pending waiting reply thanks please could would should also however because"
).split(" ");

/** Text that reads and compresses like prose (about 3:1 with gzip), from a seeded generator. */
function prose(seed: number): (chars: number) => string {
  let state = seed;
  return (chars) => {
    const words: string[] = [];
    let length = 0;
    while (length < chars) {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      const word = state % 17 === 0 ? `${state % 9973}` : WORDS[state % WORDS.length]!;
      words.push(state % 11 === 0 ? `${word}.` : word);
      length += word.length + 1;
    }
    return words.join(" ");
  };
}

export function gzipped(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes, { level: 6 }));
}
