import { headerValueShown, RelayError } from "../http/errors.js";
import { type ContentCoding, type OtlpFormat, otlpFormatOf } from "../otlp/format.js";

export function requireOtlpFormat(contentType: string | undefined): OtlpFormat {
  const format = otlpFormatOf(contentType);
  if (!format) {
    throw new RelayError(
      "unsupported_media_type",
      `unsupported content type ${headerValueShown(contentType ?? "")}: send application/x-protobuf or application/json`,
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
    `unsupported content encoding ${headerValueShown(contentEncoding ?? "")}: send gzip, deflate or no encoding`,
  );
}
