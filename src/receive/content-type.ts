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
  return format;
}

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
