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
  /**
   * How many bytes of `wire` the decompression read, when it was compressed: zlib stops at the end
   * of the compressed data and leaves what follows (zero padding, say) unread.
   */
  inflatedFrom?: number;
}

/** The media types OTLP/HTTP defines, each with the encoding it names. */
export const OTLP_MEDIA_TYPES: ReadonlyMap<string, OtlpFormat> = new Map([
  ["application/x-protobuf", "protobuf"],
  ["application/protobuf", "protobuf"],
  ["application/json", "json"],
]);

/** `undefined` for a content type OTLP/HTTP does not define. */
export function otlpFormatOf(contentType: string | undefined): OtlpFormat | undefined {
  const mediaType = mediaTypeOf(contentType);
  return mediaType === undefined ? undefined : OTLP_MEDIA_TYPES.get(mediaType);
}

/**
 * A response's Content-Type: OTLP/HTTP has the server answer in the request's own, so a protobuf
 * request sent as `application/protobuf` is answered so; `application/x-protobuf`, the name OTLP
 * registers, otherwise.
 */
export function otlpResponseType(format: OtlpFormat, requestContentType: string | undefined): string {
  if (format === "json") return "application/json";
  return mediaTypeOf(requestContentType) === "application/protobuf" ? "application/protobuf" : "application/x-protobuf";
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(";")[0]?.trim().toLowerCase();
}
