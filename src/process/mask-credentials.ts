import { isJsonObject, type JsonObject } from "../encoding/json.js";
import { StringsSought, stringEnd, WordEndings } from "../encoding/json-text.js";
import { REDACTED } from "../tenants/processing-schema.js";

/**
 * Credentials a request body carries among its settings (an MCP server's `headers.Authorization` or
 * `authorization_token`, a provider's `api_key`), masked in the metadata translation writes from
 * it: translation removes `tfy.input` and shows the rest of the body as metadata, so without this the
 * relay itself would put the token there, in plaintext. The key stays, its value `[REDACTED]` (the
 * redaction rules' default), so a user still sees that a credential was sent.
 */

/**
 * The words a name ends with when it names a credential. A name's words are split at `-`, `_`, `.`,
 * a space and where a capital follows a small letter or starts one after capitals (`X-Amz-Security-Token`,
 * `GITHUB_PERSONAL_ACCESS_TOKEN`, `xApiKey`, `OAuthToken`), compared without case: HTTP's credential
 * headers (`Authorization`, `Proxy-Authorization`, `Cookie`), any token's (`X-Auth-Token`, GitLab's
 * `PRIVATE-TOKEN`, OAuth's), any secret's, password's or credentials', and a key only as an API's,
 * a secret's, a private, access or subscription key (`OPENAI_API_KEY`, `x-goog-api-key`,
 * `Ocp-Apim-Subscription-Key`, `aws_secret_access_key`). Not `key` alone nor `prompt_cache_key`,
 * `idempotency_key` or `public_key`, which say nothing secret, nor plurals of `token`
 * (`max_tokens`, `prompt_tokens`): a setting masked that the user meant to read is a setting lost.
 */
export const CREDENTIAL_NAMES = [
  "authorization",
  "authentication",
  "cookie",
  "cookies",
  "bearer",
  "token",
  "secret",
  "secrets",
  "password",
  "passwd",
  "passphrase",
  "credential",
  "credentials",
  "apikey",
  "api key",
  "api keys",
  "secret key",
  "private key",
  "access key",
  "subscription key",
] as const;

/**
 * Names ending as a credential's that hold none, masked no more: a page's cursor (`page_token`,
 * `next_page_token`) and a tokenizer's special tokens (`eos_token`), settings an open model's server takes.
 */
export const NOT_CREDENTIAL_NAMES = [
  "page token",
  "continuation token",
  "pagination token",
  "bos token",
  "eos token",
  "pad token",
  "unk token",
  "sep token",
  "cls token",
  "mask token",
  "stop token",
] as const;

const endsWithWords = (names: readonly string[]) => new RegExp(`(?:^| )(?:${names.join("|")})$`);
const CREDENTIAL_NAME = endsWithWords(CREDENTIAL_NAMES);
const NOT_CREDENTIAL_NAME = endsWithWords(NOT_CREDENTIAL_NAMES);
/** Where a name's words meet: a capital after a small letter or digit, or one starting a word after capitals. */
const WORD_START = /(?<=[a-z\d])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/g;
const SEPARATORS = /[-_. ]+/g;

/**
 * What a string of JSON text ends with when it may be such a name: each name's last word, found
 * without decoding or splitting anything (so every string of a setting is looked at for a few
 * characters). A name spelled with an escape (`\u0061`) is found by the text's reader too.
 */
export const CREDENTIAL_ENDINGS = new WordEndings(CREDENTIAL_NAMES.map((name) => name.slice(name.lastIndexOf(" ") + 1)));

export function isCredentialKey(key: string): boolean {
  if (!CREDENTIAL_ENDINGS.endsOne(key, key.length)) return false;
  const words = key.replace(WORD_START, " ").replace(SEPARATORS, " ").toLowerCase();
  return CREDENTIAL_NAME.test(words) && !NOT_CREDENTIAL_NAME.test(words);
}

/**
 * Whether a string of this valid JSON text, a key or a value, is a credential's name: text left
 * unparsed (past the span's parse budget) is not searched member by member, but this much of it is
 * read, string by string, decoding only those that may be one.
 */
export function namesCredential(text: string): boolean {
  const strings = new StringsSought(text, CREDENTIAL_ENDINGS);
  for (let start = text.indexOf('"'); start !== -1; ) {
    const end = stringEnd(text, start);
    if (end === undefined) return false;
    if (strings.mayEndOne(start, end) && isCredentialKey(JSON.parse(text.slice(start, end)) as string)) return true;
    start = text.indexOf('"', end);
  }
  return false;
}

/** A credential's value as shown: masked, but for null, a boolean or "", which hold none and say so. */
export function credentialShown(value: unknown): unknown {
  return value === null || value === "" || typeof value === "boolean" ? value : REDACTED;
}

/**
 * A parsed object or list with each credential in it masked, in place: a member's value whose key
 * names one, the `value` of an object whose `name`, `key` or `header` names one (an MCP config's
 * `env: [{"name": "API_KEY", "value": …}]`), the second item of a pair in a list whose first item
 * names one (`headers: [["Authorization", "Bearer …"]]`). A JSON Schema's `properties` (a tool's
 * parameters: `{"password": {"type": "string"}}`), and the schemas it names in `$defs` or
 * `definitions`, say what a tool takes: a member of such a map in a schema, whose value is a schema
 * too, is searched, not masked, but for the values it gives (`default`, `const`, `enum`, examples),
 * and those its items' and alternatives' schemas give.
 */
export function withCredentialsMasked(value: unknown): unknown {
  // A list, not recursion: JSON.parse takes nesting deeper than the stack.
  const pending: unknown[] = [value];
  const schemaMaps = new Set<JsonObject>();
  const credentialSchemas = new Set<JsonObject>();
  while (pending.length > 0) {
    const next = pending.pop();
    if (Array.isArray(next))
      for (const item of next) {
        if (Array.isArray(item) && item.length === 2 && typeof item[0] === "string" && isCredentialKey(item[0]))
          item[1] = credentialShown(item[1]);
        pending.push(item);
      }
    else if (isJsonObject(next)) {
      if (credentialSchemas.has(next)) {
        for (const key of SCHEMA_VALUES) if (Object.hasOwn(next, key)) next[key] = credentialShown(next[key]);
        for (const key of CREDENTIAL_SUBSCHEMAS)
          for (const schema of [next[key]].flat()) if (isJsonObject(schema)) credentialSchemas.add(schema);
      }
      maskNamedValue(next);
      for (const key of Object.keys(next)) {
        const member = next[key];
        if (!isCredentialKey(key)) {
          if (SCHEMA_MAPS.has(key) && isJsonObject(member) && isSchema(next)) schemaMaps.add(member);
          pending.push(member);
        } else if (schemaMaps.has(next) && isJsonObject(member) && isSchema(member)) {
          credentialSchemas.add(member);
          pending.push(member);
        } else next[key] = credentialShown(member);
      }
    }
  }
  return value;
}

/**
 * An object holding a credential as its `value` beside its `name` or `key`, or, in an auth config, beside
 * the `header` it is sent as (`{"header": "Authorization", "value": …}`, `header_name` and `header_value`),
 * the first letter in either case.
 */
function maskNamedValue(object: JsonObject): void {
  const named = NAMING_MEMBERS.some((key) => {
    const name = object[key];
    return typeof name === "string" && isCredentialKey(name);
  });
  if (named) for (const key of VALUE_MEMBERS) if (Object.hasOwn(object, key)) object[key] = credentialShown(object[key]);
}

const NAMING_MEMBERS = ["name", "key", "header", "header_name", "headerName", "Name", "Key", "Header", "HeaderName"];
const VALUE_MEMBERS = ["value", "header_value", "headerValue", "Value", "HeaderValue"];

/** JSON Schema's members whose keys name parameters or schemas, not values. */
const SCHEMA_MAPS = new Set(["properties", "$defs", "definitions"]);

/** An object that looks like a JSON Schema: it says a type, names one or combines some. */
function isSchema(object: JsonObject): boolean {
  return SCHEMA_MARKS.some((key) => Object.hasOwn(object, key));
}

const SCHEMA_MARKS = ["type", "$ref", "$schema", "anyOf", "oneOf", "allOf", "enum", "const", "items"];

/** A schema's members giving values, which a schema of a credential gives as the credential. */
const SCHEMA_VALUES = ["default", "const", "enum", "examples", "example"];

/**
 * A schema's members holding the schemas of its value's items (`items`, a tuple's `prefixItems`), of
 * its values as a map (`additionalProperties`) or of what it may be (`anyOf`, `oneOf`, `allOf`): in a
 * credential's schema, these describe the credential too, so the values they give are masked as well.
 */
const CREDENTIAL_SUBSCHEMAS = ["items", "prefixItems", "additionalProperties", "anyOf", "oneOf", "allOf"];
