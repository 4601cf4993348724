import type { Context } from "hono";
import { strictTextOf } from "../encoding/bytes.js";
import { afterWhiteSpace, GIVEN_TWICE, repeatedKey } from "../encoding/json-text.js";
import type { AppEnv } from "../http/app-env.js";
import { headerValueShown, placeShown } from "../http/caller-text.js";
import { contentCodings } from "../http/content-encoding.js";
import { RelayError } from "../http/errors.js";

/** An admin call's JSON body, or a 400 naming `body`: a schema then says what in it is wrong. */
export async function jsonBody(c: Context<AppEnv>): Promise<unknown> {
  return parsedBody(await bodyText(c), "body: must be a JSON object");
}

/** An admin call's JSON body where one may be left out: none, or only JSON's white space, reads as `{}`. */
export async function optionalJsonBody(c: Context<AppEnv>): Promise<unknown> {
  const text = await bodyText(c);
  // JSON's white space only, which `trim` would widen to every Unicode space.
  return afterWhiteSpace(text, 0) === text.length ? {} : parsedBody(text, "body: must be a JSON object, or none");
}

/**
 * The body as text, a leading byte order mark dropped. One sent with a content coding (RFC 9110,
 * section 8.4) is refused with 415, not read as if it had none: the admin API takes none, and gzip
 * read as JSON would be called malformed. The 415 says so in `Accept-Encoding: identity` (RFC 7694,
 * section 3: no content coding is taken), as ingest's lists the codings it takes, so a client tells
 * a refused coding from a refused media type without reading the words.
 */
async function bodyText(c: Context<AppEnv>): Promise<string> {
  const header = c.req.header("content-encoding") ?? "";
  if (contentCodings(header).length > 0) {
    throw new RelayError(
      "unsupported_media_type",
      `unsupported content encoding ${headerValueShown(header.trim().toLowerCase())}: the admin API reads bodies as sent, without a content encoding`,
      { acceptEncoding: "identity" },
    );
  }
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  // Bytes that are not UTF-8 are refused, where replacing them would store a setting no one sent.
  try {
    return strictTextOf(bytes);
  } catch {
    throw new RelayError("invalid_field", "body: must be UTF-8 text, as JSON is (RFC 8259)", { field: "body" });
  }
}

/**
 * The parsed body. A key given twice in one object is refused, naming it: JSON.parse keeps its last
 * value without a word, so a `braintrust` given twice would drop the key rotation in the first.
 */
function parsedBody(text: string, malformed: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RelayError("invalid_field", malformed, { field: "body" });
  }
  const repeated = repeatedKey(text);
  if (repeated !== undefined) {
    const place = placeShown(repeated);
    throw new RelayError("invalid_field", `${place}: ${GIVEN_TWICE}`, { field: place });
  }
  return body;
}
