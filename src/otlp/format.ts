/** The two OTLP/HTTP encodings; a response always uses the request's. */
export type OtlpFormat = "protobuf" | "json";

/** The codings a body may arrive in; `deflate` is zlib-wrapped per RFC 9110, raw deflate is tolerated. */
export type ContentCoding = "identity" | "gzip" | "deflate";

/** An OTLP request body as received: what every stage after reading it works from. */
export interface RequestBody {
  /** The body as it arrived, still in its content coding. */
  wire: Uint8Array;
  coding: ContentCoding;
  /** The decompressed body: the OTLP message itself. */
  bytes: Uint8Array;
}

/** `undefined` for a content type OTLP/HTTP does not define. */
export function otlpFormatOf(contentType: string | undefined): OtlpFormat | undefined {
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType === "application/x-protobuf" || mediaType === "application/protobuf") return "protobuf";
  if (mediaType === "application/json") return "json";
  return undefined;
}
