import { fromBinary, fromJson, type JsonValue } from "@bufbuild/protobuf";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { RelayError } from "../http/errors.js";
import type { OtlpFormat } from "../otlp/format.js";
import { parseOtlpJson } from "./otlp-json.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Bytes to the data model; every failure is the client's (400) with a message saying what is wrong. */
export function decodeExportRequest(bytes: Uint8Array, format: OtlpFormat): ExportTraceServiceRequest {
  if (format === "protobuf") {
    try {
      return fromBinary(ExportTraceServiceRequestSchema, bytes);
    } catch (err) {
      throw new RelayError("malformed", `request body is not a valid ExportTraceServiceRequest: ${describe(err)}`);
    }
  }
  if (bytes.byteLength === 0) return fromJson(ExportTraceServiceRequestSchema, {});
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new RelayError("malformed", "request body is not valid UTF-8");
  }
  const json = parseOtlpJson(text);
  try {
    return fromJson(ExportTraceServiceRequestSchema, json as JsonValue, { ignoreUnknownFields: true });
  } catch (err) {
    throw new RelayError("malformed", `request body is not a valid OTLP JSON ExportTraceServiceRequest: ${describe(err)}`);
  }
}

/** The decoder's own words, which say what is wrong ("premature EOF", "maximum recursion depth of 100 reached"…), shortened. */
function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
