import { headerValueShown, quoted, quotedUnlessSecret } from "../http/caller-text.js";
import { contentCodings } from "../http/content-encoding.js";
import { RelayError } from "../http/errors.js";
import { type ContentCoding, OTLP_MEDIA_TYPES, type OtlpFormat, otlpFormatOf } from "../otlp/format.js";

/** The content codings a body may name, each with the coding it is read as; none is `identity`. */
const CONTENT_CODINGS: ReadonlyMap<string, ContentCoding> = new Map([
  ["gzip", "gzip"],
  ["x-gzip", "gzip"],
  ["deflate", "deflate"],
]);

/** What a 415 tells the client it would have taken (RFC 9110, section 15.5.16). */
const ACCEPTED_TYPES = [...OTLP_MEDIA_TYPES.keys()].join(", ");
const ACCEPTED_CODINGS = [...CONTENT_CODINGS.keys()].join(", ");

export function requireOtlpFormat(contentType: string | undefined): OtlpFormat {
  const format = otlpFormatOf(contentType);
  if (!format) {
    throw new RelayError(
      "unsupported_media_type",
      `unsupported content type ${contentTypeShown(contentType ?? "")}: send application/x-protobuf or application/json`,
      { accept: ACCEPTED_TYPES },
    );
  }
  if (format === "json") requireUtf8(contentType ?? "");
  return format;
}

/**
 * OTLP JSON is UTF-8 (OTLP/HTTP's JSON encoding; RFC 8259, section 8.1). A body declared in another
 * charset (`charset=utf-16`, `charset=iso-8859-1`) would be read as UTF-8 all the same: its text
 * changed without a word, or refused as not UTF-8 with nothing to say why. The charset is named, as
 * a content type is, since the parameter may hold anything; `utf-8` in any case (and `utf8`, the
 * label the Encoding Standard gives it too) is taken, quoted or not.
 */
function requireUtf8(contentType: string): void {
  for (const parameter of contentType.split(";").slice(1)) {
    const [name = "", ...value] = parameter.split("=");
    if (name.trim().toLowerCase() !== "charset") continue;
    const charset = value
      .join("=")
      .trim()
      .replace(/^"(.*)"$/, "$1");
    if (UTF8_LABELS.has(charset.toLowerCase())) continue;
    throw new RelayError(
      "unsupported_media_type",
      `unsupported charset ${headerValueShown(charset)} for application/json: OTLP JSON is UTF-8, send it as UTF-8 (charset=utf-8 or none)`,
      { accept: ACCEPTED_TYPES },
    );
  }
}

const UTF8_LABELS: ReadonlySet<string> = new Set(["utf-8", "utf8"]);

/**
 * Media types a client sends by mistake that are as long as a secret: named all the same, without
 * their parameters (which may hold anything), since a client told `of 33 characters` cannot see
 * that curl sent its form type. No other is: `application/` and a pasted key is as long.
 */
const MISTAKEN_TYPES: ReadonlyMap<string, string> = new Map([
  ["application/x-www-form-urlencoded", " (a form, as curl sends one without -H 'content-type: …')"],
  ["multipart/form-data", " (a form, as curl sends one without -H 'content-type: …')"],
  ["application/x-google-protobuf", ""],
  ["application/vnd.google.protobuf", ""],
]);

function contentTypeShown(contentType: string): string {
  const short = quotedUnlessSecret(contentType, false);
  if (short !== undefined) return short;
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  const why = MISTAKEN_TYPES.get(mediaType);
  return why === undefined ? headerValueShown(contentType) : `${quoted(mediaType)}${why}`;
}

/** RFC 9110 §8.4: an unsupported coding is answered with 415. */
export function contentCodingOf(contentEncoding: string | undefined): ContentCoding {
  const codings = contentCodings(contentEncoding);
  if (codings.length === 0) return "identity";
  const coding = codings.length === 1 ? CONTENT_CODINGS.get(codings[0]!) : undefined;
  if (coding) return coding;
  throw new RelayError(
    "unsupported_media_type",
    `unsupported content encoding ${headerValueShown(contentEncoding ?? "")}: send gzip, deflate or no encoding`,
    { acceptEncoding: ACCEPTED_CODINGS },
  );
}
