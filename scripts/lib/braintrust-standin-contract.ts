/** What the stand-in's control API takes and returns (scripts/lib/braintrust-standin.ts). */

/** Braintrust's hosted OTLP endpoint takes at most 10 MB per request. */
export const BRAINTRUST_MAX_REQUEST_BYTES = 10_000_000;

/** One scripted answer, used once, for the next request carrying the key. */
export interface FaultStep {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the connection without answering. */
  reset?: boolean;
  /** Answer 200 with this partial success. */
  partialSuccess?: { rejectedSpans: number; errorMessage: string };
}

/** A request that passed every check and was accepted. */
export interface ReceivedRequest {
  path: string;
  parent: string;
  contentType: string;
  contentEncoding: string;
  userAgent: string;
  /** The ExportTraceServiceRequest bytes after decompression, base64. */
  body: string;
  receivedAt: number;
}

/** Every request seen for a key, answered or not, for retry assertions. */
export interface Attempt {
  status: number;
  receivedAt: number;
  /** The body's size as it came over the wire, and its `content-encoding` ("" for none). */
  bytes: number;
  contentEncoding: string;
}
