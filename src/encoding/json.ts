import { concat, utf8Of } from "./bytes.js";
import { type EntryBudget, Invalid, OVER_BUDGET, Reader } from "./json-reader.js";

/**
 * JSON read as UTF-8, checked as strictly as JSON.parse checks text, without making a string of it
 * or an object of what it holds: translation passes a payload's big members on as bytes, and the
 * receiver checks a request's JSON before it parses any of it piece by piece.
 */

/**
 * The members of a JSON object, each value as its own bytes (views of `utf8`, not copies), in
 * order (a repeated key comes twice: the caller keeps the last, as JSON.parse does); undefined
 * when `utf8` is not a valid JSON object. `utf8` must be valid UTF-8, as encoded text and the
 * strings of a request the wire check vouched for are. Validates as strictly as JSON.parse does
 * the text, and allocates only the result.
 */
export function objectMembers(utf8: Uint8Array): Array<[key: string, value: Uint8Array]> | undefined;
/** As above, with each member taken from `budget`: OVER_BUDGET once it would go below 0. */
export function objectMembers(
  utf8: Uint8Array,
  budget: EntryBudget,
): Array<[key: string, value: Uint8Array]> | undefined | typeof OVER_BUDGET;
export function objectMembers(
  utf8: Uint8Array,
  budget?: EntryBudget,
): Array<[key: string, value: Uint8Array]> | undefined | typeof OVER_BUDGET {
  return whole(utf8, budget, (reader) => reader.object());
}

/** The items of a JSON list, each as its own bytes (views of `utf8`), in order; undefined when `utf8` is not a valid JSON list. As for objectMembers. */
export function listItems(utf8: Uint8Array): Uint8Array[] | undefined;
export function listItems(utf8: Uint8Array, budget: EntryBudget): Uint8Array[] | undefined | typeof OVER_BUDGET;
export function listItems(utf8: Uint8Array, budget?: EntryBudget): Uint8Array[] | undefined | typeof OVER_BUDGET {
  return whole(utf8, budget, (reader) => reader.list());
}

/** A list's first item as its own bytes, the rest only checked; undefined when `utf8` is not a valid JSON list, or is empty. */
export function firstListItem(utf8: Uint8Array): Uint8Array | undefined {
  return whole(utf8, undefined, (reader) => reader.firstItem()) as Uint8Array | undefined;
}

/** How many numbers a JSON list of numbers holds, counted without keeping them; undefined for anything else. */
export function numberListLength(utf8: Uint8Array): number | undefined {
  return whole(utf8, undefined, (reader) => reader.numberListLength()) as number | undefined;
}

/**
 * Every scalar a JSON value holds as a value, at any depth (not its keys), as a token: a string
 * `"s"` and its text, a number `"n"` and the number it reads as, `true` and `false` as themselves.
 * Only each string is kept, and only while `visit` runs. False when `utf8` is not valid JSON.
 */
export function forEachScalar(utf8: Uint8Array, visit: (token: string) => void): boolean {
  return whole(utf8, undefined, (reader) => reader.scalars(visit, 1)) !== undefined;
}

/** What `read` takes from `utf8` when that is all of it but white space; undefined for JSON not of that shape, or not JSON. */
function whole<T>(utf8: Uint8Array, budget: EntryBudget | undefined, read: (reader: Reader) => T): T | undefined | typeof OVER_BUDGET {
  const reader = new Reader(utf8, budget);
  try {
    const value = read(reader);
    reader.space();
    return reader.at === utf8.length ? value : undefined;
  } catch (err) {
    if (err instanceof Invalid) return undefined;
    if (err === OVER_BUDGET) return OVER_BUDGET;
    throw err;
  }
}

/**
 * Whether `utf8` is one JSON value, with white space around it or none, as JSON.parse accepts its
 * text. `utf8` must be valid UTF-8, as for objectMembers.
 */
export function isJson(utf8: Uint8Array): boolean {
  const reader = new Reader(utf8);
  try {
    reader.wholeValue();
    return true;
  } catch (err) {
    if (err instanceof Invalid) return false;
    throw err;
  }
}

/** A JSON object of these members, each value's bytes as they are (valid JSON each), keys written anew. */
export function jsonObject(members: ReadonlyArray<readonly [key: string, value: Uint8Array]>): Uint8Array {
  const parts = members.flatMap(([key, value], i) => [utf8Of(`${i === 0 ? "" : ","}${JSON.stringify(key)}:`), value]);
  return concat([utf8Of("{"), ...parts, utf8Of("}")]);
}

/** A JSON list of these items, each's bytes as they are (valid JSON each). */
export function jsonList(items: readonly Uint8Array[]): Uint8Array {
  return concat([utf8Of("["), ...items.flatMap((item, i) => (i === 0 ? [item] : [utf8Of(","), item])), utf8Of("]")]);
}

/** A JSON object as JSON.parse makes one: its members by key. */
export type JsonObject = Record<string, unknown>;

/** A parsed JSON value that is an object: not null, not a list, not a number kept as its digits (JSON.rawJSON). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && rawJsonText(value) === undefined;
}

/**
 * Whether two parsed values are the same JSON (b present): an object's members in any order, as
 * JSON gives their order no meaning (an exporter writing a tool call's fields in its own order
 * says the same call), a list's items in theirs.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  return b !== undefined && sameValue(a, b);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key]));
  }
  if (a === b) return true;
  // Numbers kept as their digits (JSON.rawJSON) are the same as the numbers those digits write.
  return isNumber(a) && isNumber(b) && JSON.stringify(a) === JSON.stringify(b);
}

/** A number, or one kept as its digits; what else may be the same without being `===` is not. */
function isNumber(value: unknown): boolean {
  return typeof value === "number" || rawJsonText(value) !== undefined;
}

/** The text of a value JSON.rawJSON made (a number kept as its digits), or undefined for any other value. */
export function rawJsonText(value: unknown): string | undefined {
  return (JSON as JsonWithRawCheck).isRawJSON(value) ? (value as { rawJSON: string }).rawJSON : undefined;
}

/** What JSON.parse hands a reviver besides the value: its source text (workerd and Node 22 have it; TypeScript's lib not yet). */
export interface ReviverContext {
  source?: string;
}

/**
 * For a JSON.parse reviver: the digits of an integer past 2^53, which as the double JSON.parse made
 * of it has lost some, however its text writes it (`9007199254740993`, `9007199254740993.0`,
 * `9.007199254740993e15`); undefined for any other value, a fraction among them.
 */
export function unsafeIntegerDigits(value: unknown, context: ReviverContext | undefined): string | undefined {
  const source = context?.source;
  if (typeof value !== "number" || !(Math.abs(value) > Number.MAX_SAFE_INTEGER) || source === undefined) return undefined;
  return /^-?\d+$/.test(source) ? source : integerDigitsOf(source);
}

/**
 * Whether a JSON number's text writes a whole number of at most 64 bits' digits (`12`, `12.0`,
 * `1.2e1`), where its double may be whole though the text is not (`1.0000000000000000001`, `1e-400`).
 */
export function writesWholeNumber(source: string): boolean {
  return /^-?\d+$/.test(source) || integerDigitsOf(source) !== undefined;
}

/**
 * The integer a JSON number's text in decimal or exponent form writes, as digits; undefined for a
 * fraction, or one longer than any 64-bit integer.
 */
function integerDigitsOf(source: string): string | undefined {
  const number = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(source);
  if (!number) return undefined;
  const [, sign, whole, fraction = "", exponent = "0"] = number as unknown as [string, string, string, string?, string?];
  const digits = whole + fraction;
  // A zero is whole whatever its exponent (`0E-10`, as Java's BigDecimal writes a zero of ten places).
  if (!/[1-9]/.test(digits)) return `${sign}0`;
  const point = whole.length + Number(exponent);
  if (point > MAX_INTEGER_DIGITS || point < 0) return undefined;
  if (/[1-9]/.test(digits.slice(point))) return undefined;
  const integer = digits
    .slice(0, point)
    .padEnd(point, "0")
    .replace(/^0+(?=\d)/, "");
  return `${sign}${integer}`;
}

/**
 * The longest 64-bit integer (18446744073709551615), so any OTLP holds. A longer one in a payload is
 * left a double, as JSON.stringify writes it (`1e+21`): written out digit by digit, `1e399` would be
 * 400 bytes from 5, and a list of them would take more memory than an isolate has.
 */
const MAX_INTEGER_DIGITS = 20;

/** JSON.isRawJSON, of JSON.parse's source text access (workerd and Node 22 have it; TypeScript's lib not yet). */
type JsonWithRawCheck = JSON & { isRawJSON(value: unknown): boolean };
