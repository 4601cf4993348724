import { BACKSLASH, CLOSE_LIST, CLOSE_OBJECT, COLON, COMMA, isJsonSpace, OPEN_LIST, OPEN_OBJECT, QUOTE } from "./json-characters.js";

/**
 * JSON read as text, where JSON.parse is not enough: its strings and white space stepped over (the
 * ingest's OTLP JSON layout, the console's settings shown again), and the check JSON.parse does not
 * make, that no key is given twice (an admin call's body, the console's settings, a CLI config file).
 */

/** What a key given twice is told: a change in its first value would be dropped without a word. */
export const GIVEN_TWICE = "given twice in one object, where only the last would be read";

/**
 * Where the first key an object of this JSON gives twice is, as the keys and list places leading to
 * it (`["routes", "0", "match", "field"]`); undefined when none is. `text` is valid JSON (JSON.parse
 * took it), so a string an object holds followed by a colon is a key. One pass without recursion,
 * whatever the nesting. The steps are the caller's text: a message names them as placeShown does.
 */
export function repeatedKey(text: string): string[] | undefined {
  // Each open object with its keys so far and the member being read; each open list with the item being read.
  const open: Array<{ keys: Set<string>; at: string } | { index: number }> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const inner = open.at(-1);
    if (c === QUOTE) {
      // Valid JSON closes every string.
      const end = stringEnd(text, i)!;
      if (inner && "keys" in inner && text.charCodeAt(afterWhiteSpace(text, end)) === COLON) {
        const key = JSON.parse(text.slice(i, end)) as string;
        if (inner.keys.has(key)) return [...open.slice(0, -1).map((o) => ("keys" in o ? o.at : String(o.index))), key];
        inner.keys.add(key);
        inner.at = key;
      }
      i = end - 1;
    } else if (c === OPEN_OBJECT) open.push({ keys: new Set(), at: "" });
    else if (c === OPEN_LIST) open.push({ index: 0 });
    else if (c === CLOSE_OBJECT || c === CLOSE_LIST) open.pop();
    else if (c === COMMA && inner && "index" in inner) inner.index++;
  }
  return undefined;
}

/**
 * How many lists, objects, members and items this valid JSON holds, counted by its brackets and
 * commas (a list's or object's first entry goes uncounted), up to just past `limit`, where counting stops.
 */
export function jsonEntries(text: string, limit: number): number {
  let count = 0;
  for (let i = 0; i < text.length && count <= limit; i++) {
    const c = text.charCodeAt(i);
    // Valid JSON closes every string.
    if (c === QUOTE) i = stringEnd(text, i)! - 1;
    else if (c === COMMA || c === OPEN_LIST || c === OPEN_OBJECT) count++;
  }
  return count;
}

/** Where the string whose opening quote is at `at` ends, just past its closing quote; undefined for one never closed. */
export function stringEnd(text: string, at: number): number | undefined {
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return undefined;
}

/** Where JSON's white space (space, line feed, carriage return, tab) from `at` ends. */
export function afterWhiteSpace(text: string, at: number): number {
  let i = at;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isJsonSpace(c)) break;
  }
  return i;
}
