import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { isJsonObject } from "../encoding/json.js";
import { givenOf, parseJson, structuredOf } from "./attributes.js";

const WHOLE = "tfy.request.metadata";
const FLATTENED = `${WHOLE}.`;

/**
 * The caller's request metadata (`X-TFY-METADATA`), which Braintrust shows as the span's metadata,
 * key by key, as its own SDKs log a caller's metadata. How the gateway puts it on the span is not
 * documented, so all three plausible forms are read: JSON text, a key-value list, or one
 * `tfy.request.metadata.<key>` attribute per key (which wins over the same key of a whole one).
 */
export interface RequestMetadata {
  values: Record<string, unknown>;
  /** The attributes the values were read from; a whole one that is not an object is none. */
  sources: string[];
  /**
   * TrueFoundry takes only string values, so tags come as one comma-separated string; a list is
   * accepted too.
   */
  tags: string[];
}

/** What most spans have: no metadata, read without making anything. */
const NONE: RequestMetadata = Object.freeze({ values: Object.freeze({}), sources: [], tags: [] });

export function requestMetadata(attributes: KeyValue[]): RequestMetadata {
  if (!attributes.some((a) => a.key.startsWith(WHOLE))) return NONE;
  // A Map, then entries: a caller's key may be "__proto__".
  const values = new Map<string, unknown>();
  const sources: string[] = [];
  for (const { key, value } of attributes) {
    if (key !== WHOLE) continue;
    // JSON text is parsed; a key-value list's values are the header's text, as a flattened one's are.
    const whole = structuredOf(value);
    if (!isJsonObject(whole)) continue;
    for (const entry of Object.entries(whole)) values.set(...entry);
    sources.push(key);
  }
  for (const { key, value } of attributes) {
    if (!key.startsWith(FLATTENED)) continue;
    // A flattened value is the header's string as it came: "2024" is text, not a number.
    values.set(key.slice(FLATTENED.length), givenOf(value));
    sources.push(key);
  }
  return { values: Object.fromEntries(values), sources, tags: tagsOf(values.get("tags")) };
}

/**
 * Tags as a list, a comma-separated string, or a string holding a JSON list (a caller's `JSON.stringify(tags)`),
 * each once: Braintrust documents tags only as a list of strings, and a label shown twice on one span
 * (`"prod,checkout,prod"`) says nothing more than once.
 */
function tagsOf(tags: unknown): string[] {
  return [...new Set(tagList(tags))];
}

function tagList(tags: unknown): string[] {
  // Space around a tag is no part of it, in a list as between commas: " prod" is the tag prod.
  if (Array.isArray(tags)) return tags.flatMap((t) => (typeof t === "string" ? trimmed([t]) : []));
  if (typeof tags !== "string") return [];
  const list = tags.trimStart().startsWith("[") ? parseJson(tags) : undefined;
  if (Array.isArray(list)) return tagList(list);
  return trimmed(tags.split(","));
}

/** The tags without the space around them; a blank one is none. */
function trimmed(tags: string[]): string[] {
  return tags.map((t) => t.trim()).filter(Boolean);
}
