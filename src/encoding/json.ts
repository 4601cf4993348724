import { concat, textOf, utf8Of } from "./bytes.js";
import { BACKSLASH, CLOSE_LIST, CLOSE_OBJECT, COLON, COMMA, OPEN_LIST, OPEN_OBJECT, QUOTE } from "./json-characters.js";

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

/**
 * How many more members and items a caller may have read, across every object and list it reads:
 * each costs a few objects of heap, so a value of a million tiny members would otherwise take more
 * memory than an isolate has.
 */
export interface EntryBudget {
  left: number;
}

export const OVER_BUDGET = Symbol("over budget");

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
 * The integer a JSON number's text in decimal or exponent form writes, as digits; undefined for a
 * fraction, or one longer than any 64-bit integer.
 */
function integerDigitsOf(source: string): string | undefined {
  const number = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(source);
  if (!number) return undefined;
  const [, sign, whole, fraction = "", exponent = "0"] = number as unknown as [string, string, string, string?, string?];
  const digits = whole + fraction;
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

/** Where JSON's white space (space, tab, line feed, carriage return) from `at` ends. */
export function afterSpace(utf8: Uint8Array, at: number): number {
  while (at < utf8.length) {
    const c = utf8[at]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return at;
    at++;
  }
  return at;
}

class Invalid extends Error {}

const encoder = new TextEncoder();

/**
 * Deeper than this is refused, as this reader recurses: translation then leaves the payload to
 * JSON.parse; the receiver refuses requests nested deeper than this already.
 */
const MAX_DEPTH = 256;

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const LITERALS = new Map([
  [0x74, encoder.encode("true")],
  [0x66, encoder.encode("false")],
  [0x6e, encoder.encode("null")],
]);

class Reader {
  at = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly budget?: EntryBudget,
  ) {}

  /** Takes one entry from the budget, if there is one; stops the read once it is spent. */
  private take(): void {
    if (this.budget && --this.budget.left < 0) throw OVER_BUDGET;
  }

  object(): Array<[string, Uint8Array]> {
    this.space();
    const members: Array<[string, Uint8Array]> = [];
    this.entries(OPEN_OBJECT, 1, (keyStart, keyEnd, keyEscaped) => {
      const key = keyEscaped
        ? (JSON.parse(textOf(this.bytes.subarray(keyStart, keyEnd))) as string)
        : textOf(this.bytes.subarray(keyStart + 1, keyEnd - 1));
      const valueStart = this.at;
      this.value(1);
      this.take();
      members.push([key, this.bytes.subarray(valueStart, this.at)]);
    });
    return members;
  }

  list(): Uint8Array[] {
    this.space();
    const items: Uint8Array[] = [];
    this.entries(OPEN_LIST, 1, () => {
      const itemStart = this.at;
      this.value(1);
      this.take();
      items.push(this.bytes.subarray(itemStart, this.at));
    });
    return items;
  }

  firstItem(): Uint8Array | undefined {
    this.space();
    let first: Uint8Array | undefined;
    this.entries(OPEN_LIST, 1, () => {
      const start = this.at;
      this.value(1);
      first ??= this.bytes.subarray(start, this.at);
    });
    return first;
  }

  numberListLength(): number {
    this.space();
    let count = 0;
    this.entries(OPEN_LIST, 1, () => {
      this.number();
      count++;
    });
    return count;
  }

  scalars(visit: (token: string) => void, depth: number): true {
    if (depth > MAX_DEPTH) throw new Invalid();
    this.space();
    const c = this.bytes[this.at];
    const start = this.at;
    if (c === QUOTE) {
      const escaped = this.string();
      const raw = this.bytes.subarray(start, this.at);
      visit(`s${escaped ? (JSON.parse(textOf(raw)) as string) : textOf(raw.subarray(1, -1))}`);
    } else if (c === OPEN_OBJECT || c === OPEN_LIST) this.entries(c, depth, () => this.scalars(visit, depth + 1));
    else {
      this.value(depth);
      if (c !== 0x6e)
        visit(
          c === 0x74 || c === 0x66
            ? textOf(this.bytes.subarray(start, this.at))
            : `n${Number(textOf(this.bytes.subarray(start, this.at)))}`,
        );
    }
    return true;
  }

  /** One value and nothing after it but white space. */
  wholeValue(): void {
    this.space();
    this.value(1);
    this.space();
    if (this.at !== this.bytes.length) throw new Invalid();
  }

  space(): void {
    this.at = afterSpace(this.bytes, this.at);
  }

  private expect(c: number): void {
    if (this.bytes[this.at] !== c) throw new Invalid();
    this.at++;
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) throw new Invalid();
    const c = this.bytes[this.at];
    const literal = c === undefined ? undefined : LITERALS.get(c);
    if (c === QUOTE) this.string();
    else if (c === OPEN_OBJECT || c === OPEN_LIST) this.entries(c, depth);
    else if (literal) this.literal(literal);
    else this.number();
  }

  /**
   * Reads the object or list that opens with `open` at the reader, `depth` deep, handing each entry to
   * `entry` with the reader at its value, for `entry` to read: an object's key read first, its bytes
   * [keyStart, keyEnd) and whether they have escapes given. Without `entry` each value is only read,
   * as checking JSON does, on every payload: no function is made per object or list there. Every
   * object and list is read by this loop.
   */
  private entries(open: number, depth: number, entry?: (keyStart: number, keyEnd: number, keyEscaped: boolean) => void): void {
    const keyed = open === OPEN_OBJECT;
    const close = keyed ? CLOSE_OBJECT : CLOSE_LIST;
    this.expect(open);
    this.space();
    if (this.bytes[this.at] === close) {
      this.at++;
      return;
    }
    for (;;) {
      this.space();
      const keyStart = this.at;
      const keyEscaped = keyed && this.string();
      const keyEnd = this.at;
      if (keyed) {
        this.space();
        this.expect(COLON);
        this.space();
      }
      if (entry) entry(keyStart, keyEnd, keyEscaped);
      else this.value(depth + 1);
      this.space();
      const c = this.bytes[this.at++];
      if (c === close) return;
      if (c !== COMMA) throw new Invalid();
    }
  }

  /** Reads a string; says whether it has escapes. Bytes from 0x80 up are parts of characters, which JSON allows in strings. */
  private string(): boolean {
    const bytes = this.bytes;
    this.expect(QUOTE);
    let escaped = false;
    let at = this.at;
    while (at < bytes.length) {
      // Most bytes of a payload are the text of its strings: one table look-up each, four to a step.
      while (
        at + 4 <= bytes.length &&
        (PLAIN_IN_STRING[bytes[at]!]! &
          PLAIN_IN_STRING[bytes[at + 1]!]! &
          PLAIN_IN_STRING[bytes[at + 2]!]! &
          PLAIN_IN_STRING[bytes[at + 3]!]!) ===
          1
      )
        at += 4;
      while (at < bytes.length && PLAIN_IN_STRING[bytes[at]!] === 1) at++;
      if (at === bytes.length) break;
      const c = bytes[at++]!;
      if (c === QUOTE) {
        this.at = at;
        return escaped;
      }
      if (c < 0x20) throw new Invalid();
      if (c !== BACKSLASH) continue;
      escaped = true;
      const next = bytes[at++];
      if (next === 0x75) {
        for (let i = 0; i < 4; i++) if (!isHexDigit(bytes[at++])) throw new Invalid();
      } else if (next === undefined || !ESCAPES.has(next)) throw new Invalid();
    }
    throw new Invalid();
  }

  private literal(word: Uint8Array): void {
    for (const c of word) this.expect(c);
  }

  /** -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
  private number(): void {
    if (this.bytes[this.at] === MINUS) this.at++;
    if (this.bytes[this.at] === ZERO) this.at++;
    else this.digits();
    if (this.bytes[this.at] === DOT) {
      this.at++;
      this.digits();
    }
    const e = this.bytes[this.at];
    if (e === 0x65 || e === 0x45) {
      this.at++;
      const sign = this.bytes[this.at];
      if (sign === PLUS || sign === MINUS) this.at++;
      this.digits();
    }
  }

  /** One digit or more. */
  private digits(): void {
    const start = this.at;
    while (isDigit(this.bytes[this.at])) this.at++;
    if (this.at === start) throw new Invalid();
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHexDigit(c: number | undefined): boolean {
  return isDigit(c) || (c !== undefined && ((c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)));
}

/** 1 for the bytes a string may hold as they are: not `"`, `\` or a control character. */
const PLAIN_IN_STRING = new Uint8Array(256).map((_, byte) => (byte >= 0x20 && byte !== QUOTE && byte !== BACKSLASH ? 1 : 0));

/** `"`, `\`, `/`, b, f, n, r, t. */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
