import { RelayError } from "../http/errors.js";

/** The two OTLP/HTTP encodings; a response always uses the request's. */
export type OtlpFormat = "protobuf" | "json";

/** The codings a body may arrive in; `deflate` is zlib-wrapped per RFC 9110, raw deflate is tolerated. */
export type ContentCoding = "identity" | "gzip" | "deflate";

/** `undefined` for a content type OTLP/HTTP does not define. */
export function otlpFormatOf(contentType: string | undefined): OtlpFormat | undefined {
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType === "application/x-protobuf" || mediaType === "application/protobuf") return "protobuf";
  if (mediaType === "application/json") return "json";
  return undefined;
}

export function requireOtlpFormat(contentType: string | undefined): OtlpFormat {
  const format = otlpFormatOf(contentType);
  if (!format) {
    throw new RelayError(
      "unsupported_media_type",
      `unsupported content type ${JSON.stringify(contentType ?? "")}: send application/x-protobuf or application/json`,
    );
  }
  return format;
}

/** RFC 9110 §8.4: an unsupported coding is answered with 415. */
export function contentCodingOf(contentEncoding: string | undefined): ContentCoding {
  const codings = (contentEncoding ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  if (codings.length === 0) return "identity";
  const [coding] = codings;
  if (codings.length === 1 && (coding === "gzip" || coding === "x-gzip")) return "gzip";
  if (codings.length === 1 && coding === "deflate") return "deflate";
  throw new RelayError(
    "unsupported_media_type",
    `unsupported content encoding ${JSON.stringify(contentEncoding)}: send gzip, deflate or no encoding`,
  );
}
