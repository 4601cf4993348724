import type { ExportTracePartialSuccess } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";

/**
 * OTLP's partial success: spans the receiver refused, and why. The relay's own rejections and
 * Braintrust's are added together into the one the client receives.
 */
export type PartialSuccess = Pick<ExportTracePartialSuccess, "rejectedSpans" | "errorMessage">;
