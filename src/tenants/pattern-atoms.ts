import { afterGroupOpening, endOfClass, lookaroundAt, quantifierAt, syntaxPlaces } from "./pattern-syntax.js";

/**
 * The characters a regular expression's atoms may match (JavaScript's syntax, without the `u` or
 * `i` flags, as redaction patterns are compiled), for adjacent-runs.ts to tell which repetitions may
 * take the same characters.
 */

/**
 * Characters an atom may match: ASCII ones by bit, the others (UTF-16 code units, as a pattern
 * without the `u` flag reads text) as ranges, so that letters of other scripts, `\s` and `\S` are
 * told apart as V8 tells them.
 */
export interface Characters {
  ascii: bigint;
  /** Code units past ASCII: ranges of first and last, in order, neither overlapping nor adjacent. */
  pastAscii: readonly CodeRange[];
}

export type CodeRange = readonly [first: number, last: number];

/** An atom: the characters it may match, and where it ends in the pattern. */
export interface Atom {
  characters: Characters;
  end: number;
  /** An assertion (`^`, `$`, `\b`): it matches no characters, and may fail where it stands. */
  zeroWidth?: boolean;
  /** A back reference: it matches what its group matched, of any length. */
  anyLength?: boolean;
}

const FIRST_PAST_ASCII = 0x80;
const LAST_CODE_UNIT = 0xffff;

export const NONE: Characters = { ascii: 0n, pastAscii: [] };
const ANY: Characters = { ascii: (1n << 128n) - 1n, pastAscii: [[FIRST_PAST_ASCII, LAST_CODE_UNIT]] };

export function overlap(a: Characters, b: Characters): boolean {
  return (a.ascii & b.ascii) !== 0n || rangesOverlap(a.pastAscii, b.pastAscii);
}

/** Whether `a` takes every character `b` takes. */
export function covers(a: Characters, b: Characters): boolean {
  return (b.ascii & ~a.ascii) === 0n && !rangesOverlap(b.pastAscii, complement(a.pastAscii));
}

export function isEmpty(a: Characters): boolean {
  return a.ascii === 0n && a.pastAscii.length === 0;
}

export function union(a: Characters, b: Characters): Characters {
  return { ascii: a.ascii | b.ascii, pastAscii: rangesUnion(a.pastAscii, b.pastAscii) };
}

/** Whether the code unit past ASCII is among the characters. */
export function takesPastAscii(a: Characters, code: number): boolean {
  return a.pastAscii.some(([first, last]) => first <= code && code <= last);
}

function not(a: Characters): Characters {
  return { ascii: ANY.ascii & ~a.ascii, pastAscii: complement(a.pastAscii) };
}

function range(from: number, to: number): Characters {
  const ascii = from > 127 ? 0n : ((1n << BigInt(Math.min(to, 127) - from + 1)) - 1n) << BigInt(from);
  return { ascii, pastAscii: to < FIRST_PAST_ASCII ? [] : [[Math.max(from, FIRST_PAST_ASCII), to]] };
}

function character(code: number): Characters {
  return range(code, code);
}

function rangesOverlap(a: readonly CodeRange[], b: readonly CodeRange[]): boolean {
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i]![1] < b[j]![0]) i++;
    else if (b[j]![1] < a[i]![0]) j++;
    else return true;
  }
  return false;
}

function rangesUnion(a: readonly CodeRange[], b: readonly CodeRange[]): CodeRange[] {
  const sorted = [...a, ...b].sort((x, y) => x[0] - y[0]);
  const joined: [number, number][] = [];
  for (const [first, last] of sorted) {
    const previous = joined[joined.length - 1];
    if (previous && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
    else joined.push([first, last]);
  }
  return joined;
}

function complement(ranges: readonly CodeRange[]): CodeRange[] {
  const gaps: CodeRange[] = [];
  let next = FIRST_PAST_ASCII;
  for (const [first, last] of ranges) {
    if (first > next) gaps.push([next, first - 1]);
    next = last + 1;
  }
  if (next <= LAST_CODE_UNIT) gaps.push([next, LAST_CODE_UNIT]);
  return gaps;
}

const DIGITS = range(48, 57);
const WORD = [DIGITS, range(65, 90), range(97, 122), character(95)].reduce(union);
// JavaScript's white space and line terminators.
const SPACE = [9, 10, 11, 12, 13, 32, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]
  .map(character)
  .reduce(union, range(0x2000, 0x200a));
const ESCAPED_SETS: Record<string, Characters> = { d: DIGITS, D: not(DIGITS), w: WORD, W: not(WORD), s: SPACE, S: not(SPACE) };
const CONTROL_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12 };
const LINE_ENDS = [10, 13, 0x2028, 0x2029].map(character).reduce(union);

/**
 * The atom at `at`, which is not a group's `(` or `)` nor a `|`. A back reference takes the
 * characters its group's atoms may take (`<(\w+)>.*</\1>`: no `<` nor `/`), unless `references`
 * says any, as they are read inside that group.
 */
export function atomAt(source: string, at: number, references: "of their group" | "any" = "of their group"): Atom {
  const c = source[at]!;
  if (c === "\\") return escapeAt(source, at + 1, references);
  if (c === "[") {
    const end = endOfClass(source, at + 1);
    return { characters: classOf(source.slice(at + 1, end - 1)), end };
  }
  if (c === ".") return { characters: not(LINE_ENDS), end: at + 1 };
  if (c === "^" || c === "$") return { characters: NONE, end: at + 1, zeroWidth: true };
  return { characters: character(c.charCodeAt(0)), end: at + 1 };
}

/** The escape whose letter is at `at`: a class, an assertion, a back reference or one character. */
function escapeAt(source: string, at: number, references: "of their group" | "any"): Atom {
  const letter = source[at] ?? "\\";
  const set = ESCAPED_SETS[letter];
  if (set) return { characters: set, end: at + 1 };
  if (letter === "b" || letter === "B") return { characters: NONE, end: at + 1, zeroWidth: true };
  // `\1` or `\12` is a back reference, of any length; past the pattern's groups, as V8 reads it without
  // the `u` flag, an octal escape (`\1` is U+0001) or, `\8` and `\9`, the digit itself: one character.
  if (/[1-9]/.test(letter)) {
    const digits = /^\d+/.exec(source.slice(at))![0];
    const opening = captureGroupOpenings(source)[Number(digits) - 1];
    if (opening !== undefined)
      return { characters: referredCharacters(source, opening, references), end: at + digits.length, anyLength: true };
    const octal = /^[0-7]{1,3}/.exec(digits)?.[0];
    return octal
      ? { characters: character(Number.parseInt(octal, 8)), end: at + octal.length }
      : { characters: character(letter.charCodeAt(0)), end: at + 1 };
  }
  if (letter === "k" && source[at + 1] === "<") {
    const end = source.indexOf(">", at) + 1 || source.length;
    const name = source.slice(at + 2, end - 1);
    // Alternatives may name a group alike (`(?:(?<n>-)|(?<n>\d+))`): the reference may repeat any of them.
    const openings = captureGroupOpenings(source).filter((i) => source.startsWith(`(?<${name}>`, i));
    // A name no group has, or none (`\k<>`, how modifier-groups.ts writes a reference matched in either case): any characters.
    const characters = name && openings.length > 0 ? openings.map((i) => referredCharacters(source, i, references)).reduce(union) : ANY;
    return { characters, end, anyLength: true };
  }
  const { code, end } = escapedCharacter(source, at);
  return { characters: character(code), end };
}

/** Where the pattern's capture groups open, in their order: each `(` that no `?` follows, or `(?<name>`. */
function captureGroupOpenings(source: string): number[] {
  const openings: number[] = [];
  for (const i of syntaxPlaces(source))
    if (source[i] === "(" && (source[i + 1] !== "?" || /^<[^=!]/.test(source.slice(i + 2, i + 4)))) openings.push(i);
  return openings;
}

/**
 * What a back reference to the group opening at `opening` may match: the characters of the atoms in
 * the group, since it matches what the group matched. A reference inside the group, or inside the
 * group another refers to, is read as any.
 */
function referredCharacters(source: string, opening: number, references: "of their group" | "any"): Characters {
  if (references === "any") return ANY;
  let characters = NONE;
  let depth = 0;
  for (let i = afterGroupOpening(source, opening + 1); i < source.length; ) {
    const c = source[i]!;
    if (c === "(") {
      depth++;
      i = afterGroupOpening(source, i + 1);
    } else if (c === ")") {
      if (depth-- === 0) break;
      i = quantifierAt(source, i + 1)?.end ?? i + 1;
    } else if (c === "|") i++;
    else {
      const atom = atomAt(source, i, "any");
      characters = union(characters, atom.characters);
      i = quantifierAt(source, atom.end)?.end ?? atom.end;
    }
  }
  return characters;
}

/** The one character an escape whose letter is at `at` writes: `\n`, `\cJ`, `\0`, `\017`, `\x41`, `\u00e9`, or the letter itself (`\.`). */
function escapedCharacter(source: string, at: number): { code: number; end: number } {
  const letter = source[at] ?? "\\";
  if (letter === "c" && /[a-zA-Z]/.test(source[at + 1] ?? "")) return { code: source.charCodeAt(at + 1) % 32, end: at + 2 };
  if (letter === "0") {
    const octal = /^[0-7]{0,2}/.exec(source.slice(at + 1))![0];
    return { code: Number.parseInt(`0${octal}`, 8), end: at + 1 + octal.length };
  }
  const digits = letter === "x" ? 2 : letter === "u" ? 4 : 0;
  const hex = source.slice(at + 1, at + 1 + digits);
  if (digits > 0 && hex.length === digits && /^[0-9a-fA-F]+$/.test(hex)) return { code: Number.parseInt(hex, 16), end: at + 1 + digits };
  return { code: CONTROL_ESCAPES[letter] ?? letter.charCodeAt(0), end: at + 1 };
}

/** A character class's members, between its brackets: characters, ranges, class escapes, `^` for all but them. */
function classOf(body: string): Characters {
  const negated = body.startsWith("^");
  let members = NONE;
  for (let i = negated ? 1 : 0; i < body.length; ) {
    const member = classMemberAt(body, i);
    i = member.end;
    if ("set" in member) {
      members = union(members, member.set);
      continue;
    }
    // `a-z`; a `-` first, last or beside a class escape is itself.
    const to = body[i] === "-" && i + 1 < body.length ? classMemberAt(body, i + 1) : undefined;
    if (to && "code" in to) {
      members = union(members, range(Math.min(member.code, to.code), Math.max(member.code, to.code)));
      i = to.end;
    } else members = union(members, character(member.code));
  }
  return negated ? not(members) : members;
}

/** One member of a class at `at`: a class escape's set, or one character (`\b` there is a backspace, `\1` an octal escape). */
function classMemberAt(body: string, at: number): { set: Characters; end: number } | { code: number; end: number } {
  if (body[at] !== "\\") return { code: body.charCodeAt(at), end: at + 1 };
  const letter = body[at + 1] ?? "\\";
  const set = ESCAPED_SETS[letter];
  if (set) return { set, end: at + 2 };
  if (letter === "b") return { code: 8, end: at + 2 };
  if (/[1-7]/.test(letter)) {
    const octal = /^[0-7]{1,3}/.exec(body.slice(at + 1))![0];
    return { code: Number.parseInt(octal, 8), end: at + 1 + octal.length };
  }
  return escapedCharacter(body, at + 1);
}

/**
 * The atom a pattern starts with, as written, when the pattern is that one character's unbounded
 * repetition (`\d+`, `[\w.+-]+`, `.*`, `\S{2,}`, lazy or not), maybe alone in a group
 * (`([\w.+-]+)`, `(?:\d+)`, `(?<user>\w+)`; a capture only when nothing refers back to it), and
 * then the rest, with no alternative beside it: a search for it costs the square of a run of that
 * character the rest does not follow, tried from every place in the run (process/replace-within.ts
 * finds it from the run's start alone). Undefined for any other pattern, and for an atom that is
 * not plainly one character (a back reference, an assertion, an escape whose reading could differ
 * standing alone).
 */
export function leadingRunAtom(source: string): string | undefined {
  if (hasTopLevelAlternative(source)) return undefined;
  const run = runAt(source, 0);
  if (run) return run.atom;
  if (source[0] !== "(" || lookaroundAt(source, 1).lookaround) return undefined;
  // A group holding the run alone, itself not repeated; a capture referred back to (`(\d+)-\1`)
  // matches further into a run what it cannot match from its start.
  const opened = afterGroupOpening(source, 1);
  if (source.slice(1, opened) !== "?:" && BACK_REFERENCE.test(source)) return undefined;
  const grouped = runAt(source, opened);
  if (!grouped || source[grouped.end] !== ")" || quantifierAt(source, grouped.end + 1)) return undefined;
  return grouped.atom;
}

/** A back reference, or an escaped backslash before a digit or `k`, which only costs the faster search. */
const BACK_REFERENCE = /\\[1-9]|\\k</;

/** The one-character atom at `at` and its unbounded repetition, and where that ends. */
function runAt(source: string, at: number): { atom: string; end: number } | undefined {
  if (at >= source.length || "()|".includes(source[at]!)) return undefined;
  const atom = atomAt(source, at);
  if (atom.zeroWidth || atom.anyLength) return undefined;
  const written = source.slice(at, atom.end);
  if (!ONE_CHARACTER_ATOM.test(written)) return undefined;
  const repeated = quantifierAt(source, atom.end);
  return repeated?.max === Number.POSITIVE_INFINITY ? { atom: written, end: repeated.end } : undefined;
}

/** A class, `.`, a class escape, an escaped sign, or a character that is no syntax. */
const ONE_CHARACTER_ATOM = /^(?:\[[\s\S]*\]|\.|\\[dDwWsS]|\\[^A-Za-z0-9]|[^\\^$.|?*+()[\]{}])$/;

function hasTopLevelAlternative(source: string): boolean {
  let depth = 0;
  for (const i of syntaxPlaces(source)) {
    const c = source[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) return true;
  }
  return false;
}
