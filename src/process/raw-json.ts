import { utf8Of } from "../encoding/bytes.js";
import { type ReviverContext, unsafeIntegerDigits } from "../encoding/json.js";
import { OPEN_LIST, OPEN_OBJECT } from "../encoding/json-characters.js";
import { afterWhiteSpace, jsonEntries, type WordEndings } from "../encoding/json-text.js";

/**
 * JSON passed on as it is. A payload's messages or choices are most of its bytes, and translation
 * only moves them from one attribute to another: checking their UTF-8 is valid JSON and copying it
 * costs a fraction of decoding it to text, parsing it into objects and writing it out again.
 */
export class RawJson {
  constructor(readonly utf8: Uint8Array) {}
}

/** A value's JSON as UTF-8: raw JSON as it is, anything else written by JSON.stringify. */
export function jsonUtf8(value: unknown): Uint8Array {
  return value instanceof RawJson ? value.utf8 : utf8Of(JSON.stringify(value));
}

/** JSON.rawJSON, of JSON.parse's source text access (workerd and Node 22 have it; TypeScript's lib not yet). */
type JsonWithRawText = JSON & { rawJSON(text: string): unknown };

/**
 * The lists, objects, members and items the JSON parsed for one span may hold in all (its request's
 * settings, its caller's metadata, its messages' parts, an attribute a route reads into): JSON.parse
 * makes a value of each, dozens of bytes for the two of `[]`, and a span of millions would take
 * more heap than an isolate has. Text that would go past it is not parsed: it shows as it came
 * (withinParseBudget). Room for a request of 500 tools of 20 properties each and a response that
 * echoes them (some 106,000), about 16 MB of heap at the most.
 */
export const MAX_PARSED_ENTRIES_PER_SPAN = 200_000;

let parsedEntriesLeft = MAX_PARSED_ENTRIES_PER_SPAN;

/**
 * Gives the span about to be read its own MAX_PARSED_ENTRIES_PER_SPAN: the span processor calls it
 * for each span and again before masking its values, translateSpan for its own work. What one of
 * those stages parsed is let go before the next, so the budget bounds what is held at once.
 */
export function newParseBudget(): void {
  parsedEntriesLeft = MAX_PARSED_ENTRIES_PER_SPAN;
}

/**
 * Whether the span's budget has room for this JSON text's lists and objects, which are then taken
 * from it; a scalar (a string, a number) costs nothing. Asked before each parse of a span's JSON.
 */
export function withinParseBudget(text: string): boolean {
  return parseBudgetTaken(text).within;
}

/**
 * withinParseBudget, and, for text within it, whether one of its strings may end with one of the
 * words `sought` (jsonEntries), told by the same walk over the text.
 */
export function parseBudgetTaken(text: string, sought?: WordEndings): { within: boolean; found: boolean } {
  const opens = text.charCodeAt(afterWhiteSpace(text, 0));
  if (opens !== OPEN_LIST && opens !== OPEN_OBJECT) return { within: true, found: false };
  const { entries, found } = jsonEntries(text, parsedEntriesLeft, sought);
  if (entries > parsedEntriesLeft) return { within: false, found: false };
  parsedEntriesLeft -= entries;
  return { within: true, found };
}

/**
 * JSON text parsed to be written out again by JSON.stringify, its integers past 2^53 kept as their
 * text: as doubles they would lose digits (a request's `seed` of 12345678901234567890 shown as
 * 12345678901234567000), and the attribute they came from is then removed, so nothing would show
 * the number the caller sent. Not past MAX_REVIVED_CHARS, where such integers are rounded.
 */
export function parseKeepingIntegers(text: string): unknown {
  // A reviver costs a call per value: only text with an integer that long pays it.
  const revive = text.length <= MAX_REVIVED_CHARS && UNSAFE_INTEGER_DIGITS.test(text);
  return revive ? JSON.parse(text, keepIntegerText) : JSON.parse(text);
}

/**
 * The longest text parsed keeping its integers' digits. A reviver with source text access holds
 * several times the text in memory while it runs: a 16 MiB list of small numbers took more than the
 * 128 MiB an isolate has, 8 MiB did not.
 */
const MAX_REVIVED_CHARS = 4 * 1024 * 1024;

/**
 * A number of 16 significant digits, a point among them or not (`9.007199254740993e15`). An integer
 * past 2^53 written with fewer (`1e17`, `123456789012345e6`) parses to a double JSON.stringify
 * writes with the same digits: any 15 survive the round trip.
 */
const UNSAFE_INTEGER_DIGITS = /\d(?:\.?\d){15}/;

function keepIntegerText(_key: string, value: unknown, context?: ReviverContext): unknown {
  const digits = unsafeIntegerDigits(value, context);
  return digits === undefined ? value : exactInteger(digits);
}

/** An integer JSON.stringify writes out as these digits, where a number past 2^53 would lose some. */
export function exactInteger(digits: string): unknown {
  return (JSON as JsonWithRawText).rawJSON(digits);
}
