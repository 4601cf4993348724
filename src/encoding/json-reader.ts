import { recurringTextOf, textOf } from "./bytes.js";
import { BACKSLASH, CLOSE_LIST, CLOSE_OBJECT, COLON, COMMA, isJsonSpace, OPEN_LIST, OPEN_OBJECT, QUOTE } from "./json-characters.js";

/**
 * The reader of JSON bytes behind json.ts's questions (an object's members, a list's items, whether
 * it is JSON at all): one pass, byte by byte, as strictly as JSON.parse reads text.
 */

/**
 * How many more members and items a caller may have read, across every object and list it reads:
 * each costs a few objects of heap, so a value of a million tiny members would otherwise take more
 * memory than an isolate has.
 */
export interface EntryBudget {
  left: number;
}

export const OVER_BUDGET = Symbol("over budget");

/** Where JSON's white space (space, tab, line feed, carriage return) from `at` ends. */
export function afterSpace(utf8: Uint8Array, at: number): number {
  while (at < utf8.length) {
    const c = utf8[at]!;
    if (!isJsonSpace(c)) return at;
    at++;
  }
  return at;
}

/** Thrown where the bytes stop being JSON: caught by the reader's callers, never seen outside. */
export class Invalid extends Error {}

/**
 * The one refusal thrown: made once, since an error made for each refusal takes its stack, which
 * costs microseconds, and text that must be checked for JSON may be millions of small strings.
 */
const INVALID = new Invalid();

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

/** A reader of JSON bytes, from `at`: json.ts asks it for one value's shape at a time. */
export class Reader {
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
        : recurringTextOf(this.bytes, keyStart + 1, keyEnd - 1);
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
    if (depth > MAX_DEPTH) throw INVALID;
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
    if (this.at !== this.bytes.length) throw INVALID;
  }

  space(): void {
    this.at = afterSpace(this.bytes, this.at);
  }

  private expect(c: number): void {
    if (this.bytes[this.at] !== c) throw INVALID;
    this.at++;
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) throw INVALID;
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
      if (c !== COMMA) throw INVALID;
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
      if (c < 0x20) throw INVALID;
      if (c !== BACKSLASH) continue;
      escaped = true;
      const next = bytes[at++];
      if (next === 0x75) {
        for (let i = 0; i < 4; i++) if (!isHexDigit(bytes[at++])) throw INVALID;
      } else if (next === undefined || !ESCAPES.has(next)) throw INVALID;
    }
    throw INVALID;
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
    if (this.at === start) throw INVALID;
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
