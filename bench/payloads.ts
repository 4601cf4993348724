import { create, toBinary } from "@bufbuild/protobuf";
import { gzipSync } from "node:zlib";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { attr, spansOf, trueFoundryTrace } from "../test/support/traces.js";

/**
 * Gateway traffic as TrueFoundry exports it, batched to about `targetBytes`: ChatCompletion → Model
 * → POST traces whose tfy.input and tfy.output carry real-sized prompts and answers (a few KB).
 * A third of the traces are tagged env=eval and a third come from a second model, so a tenant with
 * two routes sends to three parents.
 */
export function gatewayBatch(targetBytes: number): Uint8Array {
  const request = create(ExportTraceServiceRequestSchema, {});
  let size = 0;
  for (let i = 0; size < targetBytes; i++) {
    const trace = trueFoundryTrace({ prompt: `Summarise ticket #${i}: ${"The customer reports that the export stalls after the second page. ".repeat(40)}` });
    const [root, model] = spansOf(trace);
    root!.attributes.push(attr("tfy.output", JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "Summary: ".padEnd(1500, "ok ") }, finish_reason: "stop" }] })));
    if (i % 3 === 1) root!.attributes.push(attr("tfy.request.metadata", JSON.stringify({ env: "eval" })));
    if (i % 3 === 2) model!.attributes.push(attr("tfy.model.name", "claude-sonnet-4"));
    request.resourceSpans.push(...trace.resourceSpans);
    size = toBinary(ExportTraceServiceRequestSchema, request).byteLength;
  }
  return toBinary(ExportTraceServiceRequestSchema, request);
}

export function gzipped(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes, { level: 6 }));
}
