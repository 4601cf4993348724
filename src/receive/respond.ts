import { create, toBinary, toJson } from "@bufbuild/protobuf";
import {
  ExportTracePartialSuccessSchema,
  ExportTraceServiceResponseSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { OtlpFormat } from "../otlp/format.js";
import type { PartialSuccess } from "../otlp/partial-success.js";
import { otlpResponse } from "../otlp/response.js";

/**
 * 200 with ExportTraceServiceResponse in the request's encoding and content type; partial_success
 * only when something was rejected.
 */
export function otlpSuccessResponse(format: OtlpFormat, requestContentType: string | undefined, partial?: PartialSuccess): Response {
  const response = create(ExportTraceServiceResponseSchema, {
    partialSuccess:
      partial && (partial.rejectedSpans > 0n || partial.errorMessage) ? create(ExportTracePartialSuccessSchema, partial) : undefined,
  });
  return otlpResponse(format, requestContentType, {
    protobuf: () => toBinary(ExportTraceServiceResponseSchema, response),
    json: () => toJson(ExportTraceServiceResponseSchema, response),
  });
}
