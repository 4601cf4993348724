import { isJsonObject } from "../encoding/json.js";
import { REDACTED } from "../tenants/processing-schema.js";

/**
 * Credentials a request body carries among its settings (an MCP server's `headers.Authorization` or
 * `authorization_token`, a provider's `api_key`), masked in the metadata translation writes from
 * it: translation removes `tfy.input` and shows the rest of the body as metadata, so without this the
 * relay itself would put the token there, in plaintext. The key stays, its value `[REDACTED]` (the
 * redaction rules' default), so a user still sees that a credential was sent.
 */

/**
 * Key names holding a credential, compared without case, each `_` standing for a `-`, a `_` or
 * nothing (`X-API-Key`, `x_api_key` and `xApiKey` are one): HTTP's credential headers
 * (`Authorization`, `Proxy-Authorization`, `Cookie`), the API-key headers providers read
 * (`x-api-key`, Google's `x-goog-api-key`), OAuth's tokens and client secret, and the names SDKs,
 * cloud providers and MCP server configs give theirs. Whole names only: `max_tokens`, `key` or
 * `secret_name` say nothing secret, and a setting masked that the user meant to read is a setting lost.
 */
const CREDENTIAL_KEYS = [
  "authorization",
  "proxy_authorization",
  "authorization_token",
  "auth_token",
  "bearer_token",
  "access_token",
  "refresh_token",
  "id_token",
  "session_token",
  "api_token",
  "token",
  "api_key",
  "x_api_key",
  "x_goog_api_key",
  "secret",
  "secret_key",
  "client_secret",
  "secret_access_key",
  "aws_secret_access_key",
  "aws_session_token",
  "private_key",
  "password",
  "passwd",
  "cookie",
  "credentials",
];

// One anchored expression: a key is rejected at its first characters, with nothing made to compare it.
const CREDENTIAL_KEY = new RegExp(`^(?:${CREDENTIAL_KEYS.map((name) => name.replaceAll("_", "[-_]?")).join("|")})$`, "i");

export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key);
}

/**
 * Whether JSON text may have a credential's key in it: every name above ends as one of these, right
 * before the key's closing quote (`"prompt_tokens":` does not); text with an escape (`\u0061`) may
 * spell one with it. Only text that may is searched key by key, as JSON.parse decoded it.
 */
const MAY_NAME_CREDENTIAL = /(?:authorization|token|key|secret|password|passwd|cookie|credentials)"\s*:|\\u/i;

export function mayNameCredential(json: string): boolean {
  return MAY_NAME_CREDENTIAL.test(json);
}

/** A credential's value as shown: masked, but for null, a boolean or "", which hold none and say so. */
export function credentialShown(value: unknown): unknown {
  return value === null || value === "" || typeof value === "boolean" ? value : REDACTED;
}

/**
 * A parsed object or list with each credential's value in it masked, in place. Text is a container
 * left unparsed (past the span's parse budget), which cannot be searched: it is masked whole. A JSON
 * Schema's `properties` (a tool's parameters: `{"password": {"type": "string"}}`), and the schemas it
 * names in `$defs` or `definitions`, say what a tool takes: a member of them whose value is a schema
 * (an object) is searched, not masked.
 */
export function withCredentialsMasked(value: unknown): unknown {
  if (typeof value === "string") return REDACTED;
  // A list, not recursion: JSON.parse takes nesting deeper than the stack.
  const pending: unknown[] = [value];
  const schemaProperties = new Set<unknown>();
  while (pending.length > 0) {
    const next = pending.pop();
    if (Array.isArray(next)) for (const item of next) pending.push(item);
    else if (isJsonObject(next))
      for (const key of Object.keys(next)) {
        const member = next[key];
        if (isCredentialKey(key) && !(schemaProperties.has(next) && isJsonObject(member))) next[key] = credentialShown(member);
        else {
          if (SCHEMA_MAPS.has(key) && isJsonObject(member)) schemaProperties.add(member);
          pending.push(member);
        }
      }
  }
  return value;
}

/** JSON Schema's members whose keys name parameters or schemas, not values. */
const SCHEMA_MAPS = new Set(["properties", "$defs", "definitions"]);
