import { isJsonObject } from "../encoding/json.js";
import { RelayError } from "../http/errors.js";
import { processingSettingsOf } from "../tenants/processing-schema.js";
import type { TenantView } from "./answers.js";

/** How the form treats the Braintrust key, as the CLI's `--api-key-env` / `--passthrough` / neither do. */
type KeyChoice = "keep" | "store" | "passthrough";

type FormFields = Record<string, string | File | (string | File)[]>;

function text(form: FormFields, name: string): string {
  const value = form[name];
  return typeof value === "string" ? value.trim() : "";
}

/**
 * The admin API's PUT body from the tenant form, built as the CLI builds it from `--config` and its
 * flags: the settings JSON is the base, the parent, URL and key fields override it. The API
 * validates all of it.
 */
export function tenantPutBody(form: FormFields): Record<string, unknown> {
  let settings: unknown;
  try {
    settings = JSON.parse(text(form, "settings") || "{}");
  } catch {
    settings = undefined;
  }
  if (!isJsonObject(settings)) {
    throw new RelayError("invalid_field", 'settings: must be a JSON object, e.g. {} or {"routes": []}', { field: "settings" });
  }
  const body: Record<string, unknown> = { ...settings };
  const braintrust: Record<string, unknown> = { ...(body.braintrust as Record<string, unknown> | undefined) };
  if (text(form, "parent")) body.parent = text(form, "parent");
  if (text(form, "api_url")) braintrust.api_url = text(form, "api_url");
  const choice = text(form, "key") as KeyChoice;
  if (choice === "passthrough") braintrust.api_key = null;
  if (choice === "store") {
    // Keys are never trimmed into something else: the API refuses one with spaces.
    const key = typeof form.api_key === "string" ? form.api_key : "";
    if (!key)
      throw new RelayError("invalid_field", "braintrust.api_key: give the key to store, or choose another option", { field: "api_key" });
    braintrust.api_key = key;
  }
  if (Object.keys(braintrust).length > 0) body.braintrust = braintrust;
  return body;
}

/** The settings a tenant has besides its parent and Braintrust connection, as the form's JSON shows them. */
export function settingsOf(tenant: TenantView): string {
  return JSON.stringify(processingSettingsOf(tenant), null, 2);
}

/** The tenant form's text fields a refused form shows again as sent (the key to store is not among them). */
export const ENTERED_FIELDS = ["tenant", "parent", "api_url", "key", "settings"] as const;
export type EnteredField = (typeof ENTERED_FIELDS)[number];

/**
 * A settings JSON member whose value is a string: its name (group 2, as typed, escapes and all) and
 * the string, or, its closing quote forgotten (JSON the form refuses), the rest of the text.
 */
const STRING_MEMBER = /("((?:[^"\\]|\\.)*)"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)/g;

/** A member name as JSON.parse reads it (`api\u005fkey` is `api_key`), or undefined for one that does not parse. */
function memberName(typed: string): string | undefined {
  try {
    return JSON.parse(`"${typed}"`) as string;
  } catch {
    return undefined;
  }
}

/**
 * A URL's `user:password@`, as a URL parser finds it (after the scheme and any slashes, before the
 * host), whether or not the rest of the text parses: a URL refused for its host keeps its credentials too.
 */
const URL_CREDENTIALS = /^(\s*[A-Za-z][A-Za-z0-9+.-]*:[/\\]*)[^/\\?#]*@/;

/**
 * What a URL parser drops of the text before reading it: tabs and line breaks anywhere, and
 * control characters and spaces at either end; a key hidden from URL_CREDENTIALS by them is read
 * as credentials all the same.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds
const URL_IGNORED = /[\t\n\r]|^[\x00-\x20]+|[\x00-\x20]+$/g;

/**
 * A refused form's text field as the page shows it again: as typed, without a Braintrust key typed
 * into it. The settings JSON's `"api_key"` is emptied where it stands, the rest of the text as it was
 * (sent again so, it is refused beside the key's field until the key is typed again); an API URL's
 * credentials are left out.
 */
export function shownAgain(name: EnteredField, value: string): string {
  if (name === "settings") {
    return value.replace(STRING_MEMBER, (member, start: string, typed: string) =>
      memberName(typed) === "api_key" ? `${start}""` : member,
    );
  }
  if (name === "api_url") {
    const read = value.replace(URL_IGNORED, "");
    return URL_CREDENTIALS.test(read) ? read.replace(URL_CREDENTIALS, "$1") : value;
  }
  return value;
}
