import { isJsonObject } from "../encoding/json.js";
import { GIVEN_TWICE, repeatedKey, stringEnd } from "../encoding/json-text.js";
import { placeShown, repeatable } from "../http/caller-text.js";
import { RelayError } from "../http/errors.js";
import { scrubCredentials } from "../log/events.js";
import { ParentSchema } from "../tenants/parent.js";
import { processingSettingsOf } from "../tenants/processing-schema.js";
import { DEFAULT_API_URL, TENANT_ID } from "../tenants/schema.js";
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
export function tenantPutBody(form: FormFields, existing: boolean): Record<string, unknown> {
  // A tenant's own form shows its settings in the box: emptied (select all, delete, meaning to paste)
  // and sent, it would reset its routes, redaction and rate limit without a word. `{}` says so.
  if (existing && !text(form, "settings")) {
    throw new RelayError(
      "invalid_field",
      "settings: empty: this would set every other setting (routes, redaction, rate limit, …) to its default; give {} to do so",
      { field: "settings" },
    );
  }
  const settingsText = text(form, "settings") || "{}";
  let settings: unknown;
  try {
    settings = JSON.parse(settingsText);
  } catch {
    settings = undefined;
  }
  if (!isJsonObject(settings)) {
    throw new RelayError("invalid_field", 'settings: must be a JSON object, e.g. {} or {"routes": []}', { field: "settings" });
  }
  const repeated = repeatedKey(settingsText);
  if (repeated !== undefined)
    throw new RelayError("invalid_field", `settings: ${placeShown(repeated)}: ${GIVEN_TWICE}`, { field: "settings" });
  const body: Record<string, unknown> = { ...settings };
  const braintrust: Record<string, unknown> = { ...(body.braintrust as Record<string, unknown> | undefined) };
  if (text(form, "parent")) body.parent = text(form, "parent");
  // Empty, as the form's hint says, is the default: left out, the API would keep the tenant's URL.
  braintrust.api_url = text(form, "api_url") || braintrust.api_url || DEFAULT_API_URL;
  const choice = text(form, "key") as KeyChoice;
  // The settings are the base the fields override, but a key they give would override "keep": a
  // pasted PUT body would replace the stored key, or drop it, under a choice that says it stays.
  if (choice === "keep" && Object.hasOwn(braintrust, "api_key")) {
    throw new RelayError(
      "invalid_field",
      'settings: braintrust.api_key: "keep as it is" keeps the stored key, so the settings cannot give one: take it out, or choose "store this key" or "passthrough"',
      { field: "settings" },
    );
  }
  if (choice === "passthrough" && typeof braintrust.api_key === "string") {
    throw new RelayError(
      "invalid_field",
      'settings: braintrust.api_key: "passthrough" stores no key, so the settings cannot give one: take it out, or choose "store this key"',
      { field: "settings" },
    );
  }
  // Keys are never trimmed into something else: the API refuses one with spaces.
  const key = typeof form.api_key === "string" ? form.api_key : "";
  // A key typed under another choice is one the operator meant to store (a leaked key rotated): it is not dropped without a word.
  if (choice !== "store" && key) {
    const chosen =
      choice === "keep"
        ? '"keep as it is" leaves the tenant\'s key as it is'
        : choice === "passthrough"
          ? '"passthrough" stores none'
          : "no choice of what to do with the key was made";
    throw new RelayError(
      "invalid_field",
      `braintrust.api_key: a key was typed, but ${chosen}: choose "store this key" to store it, or clear the field`,
      { field: "api_key" },
    );
  }
  if (choice === "passthrough") braintrust.api_key = null;
  if (choice === "store") {
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
 * The form's field a setting of the PUT body (by the admin API's name) was typed in, as tenantPutBody
 * takes it: the parent's or the API URL's own field when it has text, else the settings JSON.
 */
function enteredFieldOf(field: string, form: FormFields): EnteredField {
  if (field === "parent" && text(form, "parent")) return "parent";
  if (field === "braintrust.api_url" && text(form, "api_url")) return "api_url";
  return "settings";
}

/**
 * The form's field a refusal found the tenant's stored key in (reason `key_shown`), which the console
 * never has, so cannot find itself: told by the reason, never by the message's words, which may change.
 * Undefined for any other refusal.
 */
export function storedKeyFieldOf(err: RelayError, form: FormFields): EnteredField | undefined {
  const { field, reason } = err.options;
  return field !== undefined && reason === "key_shown" ? enteredFieldOf(field, form) : undefined;
}

/** A member name as JSON.parse reads it (`api\u005fkey` is `api_key`), or undefined for one that does not parse. */
function memberName(typed: string): string | undefined {
  try {
    return JSON.parse(`"${typed}"`) as string;
  } catch {
    return undefined;
  }
}

/** A string of the text: from its opening quote to just past its closing one, or to the end when it has none. */
interface StringAt {
  start: number;
  end: number;
}

/** The text's strings, read from its start, each escape skipped: a string's own text is never read as a member. */
function stringsOf(text: string): StringAt[] {
  const strings: StringAt[] = [];
  for (let at = text.indexOf('"'); at !== -1; ) {
    const end = stringEnd(text, at) ?? text.length;
    strings.push({ start: at, end });
    at = text.indexOf('"', end);
  }
  return strings;
}

/**
 * The settings JSON with the string of each member a key is given under (`"api_key"`, namesKey) emptied where it stands, and each
 * `"api_url"` member's as urlShownAgain shows it (emptied when it is none), the rest as typed;
 * undefined when that cannot be done for sure: text that does not parse and could name either (a
 * `\u` escape spells any name) has no sure reading of where its strings start, and a key that is no
 * string, or either one given as a list or an object, has no string to empty. None of such text is
 * shown again.
 */
function settingsShownAgain(text: string): string | undefined {
  if (!parses(text)) return KEY_NAME_IN_TEXT.test(text) || /api_url|\\u/.test(text) || holdsCredential(text) ? undefined : text;
  const strings = stringsOf(text);
  let shown = "";
  let copied = 0;
  for (let i = 0; i < strings.length; i++) {
    const name = strings[i]!;
    MEMBER_COLON.lastIndex = name.end;
    const colon = MEMBER_COLON.exec(text);
    const member = colon ? memberName(text.slice(name.start + 1, name.end - 1)) : undefined;
    if (member === undefined || (member !== "api_url" && !namesKey(member))) {
      // A key or token by its shape, under a name no list of names has (`credentials`, `auth`), or as the parent.
      if (holdsCredential(JSON.parse(text.slice(name.start, name.end)) as string)) {
        shown += `${text.slice(copied, name.start)}""`;
        copied = name.end;
      }
      continue;
    }
    const valueAt = name.end + colon![0].length;
    const value = strings[i + 1];
    if (value?.start !== valueAt) {
      // No string: null, a number or a boolean holds no key (an api_url of one is shown as it is); a
      // list or an object may, in strings this does not read.
      const scalar = !"[{".includes(text[valueAt] ?? "[");
      if (scalar && (member === "api_url" || text.startsWith("null", valueAt))) continue;
      return undefined;
    }
    shown += text.slice(copied, value.start);
    shown += member !== "api_url" ? '""' : JSON.stringify(urlShownAgain(JSON.parse(text.slice(value.start, value.end)) as string) ?? "");
    copied = value.end;
    i++;
  }
  return shown + text.slice(copied);
}

/**
 * Whether a member's name is one a key is given under: `api_key`, and its slips, which the API
 * refuses as unknown while the page would show their key again (`apiKey`, `API-KEY`,
 * `braintrust_api_key`), or a key, token, secret or password by any name. None of the settings' own
 * names ends so (`keys`, a view's `tokens`).
 */
function namesKey(member: string): boolean {
  return KEY_NAME.test(member.toLowerCase().replace(/[^a-z]/g, ""));
}

/** The words a name a key is given under ends with. */
const KEY_WORDS = "(?:key|token|secret|password|authorization|bearer)";
const KEY_NAME = new RegExp(`${KEY_WORDS}$`);
/** Such a name closing a string of text that does not parse: a member's, for all that can be told. */
const KEY_NAME_IN_TEXT = new RegExp(`${KEY_WORDS}"`, "i");

/** What follows a member's name, up to its value. */
const MEMBER_COLON = /\s*:\s*/y;

/** Whether the text holds a credential of the shapes the log's backstop scrubs: a Braintrust key (`sk-…`), an ingest token, a bearer. */
function holdsCredential(text: string): boolean {
  return scrubCredentials(text) !== text;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A URL's `user:password@`, as a URL parser finds it (after the scheme, if any, and any slashes,
 * before the host), whether or not the rest of the text parses: a URL refused for its host, or for
 * want of a scheme (`//user:key@host`), keeps its credentials too.
 */
const URL_CREDENTIALS = /^(\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?[/\\]*)[^/\\?#]*@/;

/**
 * What a URL parser drops of the text before reading it: tabs and line breaks anywhere, and
 * control characters and spaces at either end; a key hidden from URL_CREDENTIALS by them is read
 * as credentials all the same.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds
const URL_IGNORED = /[\t\n\r]|^[\x00-\x20]+|[\x00-\x20]+$/g;

/**
 * A refused form's text field as the page shows it again: as typed, without a Braintrust key typed
 * into it; undefined when it cannot be shown so. The settings JSON's `"api_key"` is emptied where it
 * stands, the rest of the text as it was (sent again so, it is refused beside the key's field until
 * the key is typed again); an API URL's credentials are left out.
 */
export function shownAgain(name: EnteredField, value: string): string | undefined {
  if (name === "settings") return settingsShownAgain(value);
  const shown = fieldShownAgain(name, value);
  // A key or token by its shape, left in any field: `project_name:sk-…` is a parent's shape too.
  return shown !== undefined && holdsCredential(shown) ? undefined : shown;
}

function fieldShownAgain(name: Exclude<EnteredField, "settings">, value: string): string | undefined {
  if (name === "api_url") return urlShownAgain(value);
  // A key pasted one field too high: shown again only with the field's shape, or too short to be one.
  if (name === "parent") return repeatable(value, ParentSchema.safeParse(value).success) ? value : undefined;
  if (name === "tenant") return repeatable(value, TENANT_ID.test(value)) ? value : undefined;
  return value;
}

/**
 * An API URL, the field's or a settings JSON's `api_url`, as shown again: without its credentials;
 * undefined for text that is no URL and long enough to be a key, pasted into the URL's place beside
 * the key's (the field above it, the member next to it).
 */
function urlShownAgain(value: string): string | undefined {
  return repeatable(value, URL_SHAPED.test(value.replace(URL_IGNORED, ""))) ? withoutCredentials(value) : undefined;
}

/** A scheme and `//`, as every URL the relay takes begins (http: or https:). */
const URL_SHAPED = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * An API URL as typed, or, when it carries credentials, as read without them: a user and password,
 * and a query or fragment, which the relay refuses because they may hold a key (`?api_key=…`).
 */
function withoutCredentials(url: string): string {
  const read = url.replace(URL_IGNORED, "");
  const bare = read.replace(URL_CREDENTIALS, "$1").replace(/[?#][\s\S]*$/, "");
  return bare === read ? url : bare;
}
