/**
 * OTLP's partial success: spans the receiver refused, and why. The relay's own rejections and
 * Braintrust's are added together into the one the client receives.
 */
export interface PartialSuccess {
  rejectedSpans: bigint;
  errorMessage: string;
}
