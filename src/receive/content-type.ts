import { headerValueShown, quoted, quotedUnlessSecret, RelayError } from "../http/errors.js";
import { type ContentCoding, type OtlpFormat, otlpFormatOf } from "../otlp/format.js";

export function requireOtlpFormat(contentType: string | undefined): OtlpFormat {
  const format = otlpFormatOf(contentType);
  if (!format) {
    throw new RelayError(
      "unsupported_media_type",
      `unsupported content type ${contentTypeShown(contentType ?? "")}: send application/x-protobuf or application/json`,
    );
  }
  return format;
}

/**
 * A media type of a registered top-level type, which no key or token begins with, its subtype of at
 * most 127 characters (RFC 6838). Those as long as a secret are still named by it, without their
 * parameters (which may hold anything): a client told `of 33 characters` cannot see that curl sent
 * its form type.
 */
const MEDIA_TYPE = /^(application|audio|font|image|message|model|multipart|text|video)\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** The types curl sends for -d and -F when no Content-Type is given. */
const CURL_FORM_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data"]);

function contentTypeShown(contentType: string): string {
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  const shown = quotedUnlessSecret(contentType, false) ?? (MEDIA_TYPE.test(mediaType) ? quoted(mediaType) : undefined);
  if (shown === undefined) return headerValueShown(contentType);
  return CURL_FORM_TYPES.has(mediaType) ? `${shown} (a form, as curl sends one without -H 'content-type: …')` : shown;
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
