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
 * commas (a list's or object's first entry goes uncounted), up to just past `limit`, where counting
 * stops; and whether one of the strings counted past, a key or a value, ends with one of the words
 * `sought` (a setting's credential names), or spells an ASCII character with an escape (`\u0061`),
 * and so may end with one once decoded: the one walk over the text tells both.
 */
export function jsonEntries(text: string, limit: number, sought?: WordEndings): { entries: number; found: boolean } {
  let count = 0;
  let found = false;
  const strings = sought && new StringsSought(text, sought);
  for (let i = 0; i < text.length && count <= limit; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Valid JSON closes every string.
      const end = stringEnd(text, i)!;
      found ||= strings?.mayEndOne(i, end) === true;
      i = end - 1;
    } else if (c === COMMA || c === OPEN_LIST || c === OPEN_OBJECT) count++;
  }
  return { entries: count, found };
}

/**
 * The strings of one JSON text, asked in order whether each may end with one of the words once
 * decoded: it does as written, or it spells an ASCII character with an escape (`\u0061`), which may
 * make it. The text's escapes are looked for once, however many of its strings are asked.
 */
export class StringsSought {
  /** The next backslash not yet looked at, -1 past the last. */
  private escape: number;

  constructor(
    private readonly text: string,
    private readonly words: WordEndings,
  ) {
    this.escape = text.indexOf("\\");
  }

  /** Whether the string from its opening quote at `start` to just past its closing quote, `end`, may end with one of the words. */
  mayEndOne(start: number, end: number): boolean {
    const { text } = this;
    let spelled = false;
    // An escape's second character starts none; one before `start` is a string's not asked.
    for (; this.escape !== -1 && this.escape < end; this.escape = text.indexOf("\\", this.escape + 2))
      spelled ||= this.escape > start && isAsciiEscape(text, this.escape);
    return spelled || this.words.endsOne(text, end - 1);
  }
}

/** Whether the escape at `at` is a `\u` one of a printable ASCII character, which JSON needs no escape for. */
function isAsciiEscape(text: string, at: number): boolean {
  const digit = text.charCodeAt(at + 4);
  return text.startsWith("u00", at + 1) && digit >= DIGIT_TWO && digit <= DIGIT_SEVEN;
}

const DIGIT_TWO = 0x32;
const DIGIT_SEVEN = 0x37;

/**
 * Words looked for at the end of strings, lower-case ASCII letters, matched whatever the string's
 * case (`X-Api-Key` ends with `key`); filed by their last letter, so a string is compared with those
 * ending as it does and most are let go at their last character.
 */
export class WordEndings {
  private readonly byLastLetter: Array<string[] | undefined> = [];

  constructor(words: Iterable<string>) {
    for (const word of new Set(words)) {
      const last = word.charCodeAt(word.length - 1);
      this.byLastLetter[last] = [...(this.byLastLetter[last] ?? []), word];
    }
  }

  /**
   * Whether the characters just before `end` spell one of the words. A word longer than the string
   * is not: the character before it (its opening quote, or none) is no letter.
   */
  endsOne(text: string, end: number): boolean {
    const words = this.byLastLetter[text.charCodeAt(end - 1) | CASE_BIT];
    if (words === undefined) return false;
    for (const word of words) {
      let i = word.length - 2;
      for (let at = end - 2; i >= 0 && (text.charCodeAt(at) | CASE_BIT) === word.charCodeAt(i); at--) i--;
      if (i < 0) return true;
    }
    return false;
  }
}

/** Set in a capital ASCII letter, it makes the small one; a character it makes a small letter of is that letter, in either case. */
const CASE_BIT = 0x20;

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
