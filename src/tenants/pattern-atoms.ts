import { afterGroupOpening, endOfClass, lookaroundAt, quantifierAt, syntaxPlaces } from "./pattern-syntax.js";

/**
 * The characters a regular expression's atoms may match (JavaScript's syntax, without the `u` or
 * `i` flags, as redaction patterns are compiled), for adjacent-runs.ts to tell which repetitions may
 * take the same characters.
 */

/** Characters an atom may match: ASCII ones by bit, all others as one. */
export interface Characters {
  ascii: bigint;
  other: boolean;
}

/** An atom: the characters it may match, and where it ends in the pattern. */
export interface Atom {
  characters: Characters;
  end: number;
  /** An assertion (`^`, `$`, `\b`): it matches no characters, and may fail where it stands. */
  zeroWidth?: boolean;
  /** A back reference: it matches what its group matched, of any length. */
  anyLength?: boolean;
}

export const NONE: Characters = { ascii: 0n, other: false };
const ANY: Characters = { ascii: (1n << 128n) - 1n, other: true };

export function overlap(a: Characters, b: Characters): boolean {
  return (a.ascii & b.ascii) !== 0n || (a.other && b.other);
}

/** Whether two share an ASCII character, which tells them apart from one another where `other` cannot. */
export function overlapInAscii(a: Characters, b: Characters): boolean {
  return (a.ascii & b.ascii) !== 0n;
}

/** Whether `a` takes every character `b` takes. */
export function covers(a: Characters, b: Characters): boolean {
  return (b.ascii & ~a.ascii) === 0n && (a.other || !b.other);
}

export function isEmpty(a: Characters): boolean {
  return a.ascii === 0n && !a.other;
}

export function union(a: Characters, b: Characters): Characters {
  return { ascii: a.ascii | b.ascii, other: a.other || b.other };
}

/**
 * `other` stands for every character past ASCII as one: `\S`, the rest of `\s`, is read as taking
 * none of them, though it takes `é` (so `(?:\S|[^\x00-\x7f])+` is not seen to overlap), where the
 * other reading would see `\s` and `\S` overlap.
 */
function not(a: Characters): Characters {
  return { ascii: ANY.ascii & ~a.ascii, other: !a.other };
}

function range(from: number, to: number): Characters {
  if (from > 127) return { ascii: 0n, other: true };
  const top = Math.min(to, 127);
  return { ascii: ((1n << BigInt(top - from + 1)) - 1n) << BigInt(from), other: to > 127 };
}

function character(code: number): Characters {
  return range(code, code);
}

const DIGITS = range(48, 57);
const WORD = [DIGITS, range(65, 90), range(97, 122), character(95)].reduce(union);
const SPACE = { ...[9, 10, 11, 12, 13, 32].map(character).reduce(union), other: true };
const ESCAPED_SETS: Record<string, Characters> = { d: DIGITS, D: not(DIGITS), w: WORD, W: not(WORD), s: SPACE, S: not(SPACE) };
const CONTROL_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12 };
const LINE_ENDS = union(character(10), character(13));

/** The atom at `at`, which is not a group's `(` or `)` nor a `|`. */
export function atomAt(source: string, at: number): Atom {
  const c = source[at]!;
  if (c === "\\") return escapeAt(source, at + 1);
  if (c === "[") {
    const end = endOfClass(source, at + 1);
    return { characters: classOf(source.slice(at + 1, end - 1)), end };
  }
  if (c === ".") return { characters: not(LINE_ENDS), end: at + 1 };
  if (c === "^" || c === "$") return { characters: NONE, end: at + 1, zeroWidth: true };
  return { characters: character(c.charCodeAt(0)), end: at + 1 };
}

/** The escape whose letter is at `at`: a class, an assertion, a back reference or one character. */
function escapeAt(source: string, at: number): Atom {
  const letter = source[at] ?? "\\";
  const set = ESCAPED_SETS[letter];
  if (set) return { characters: set, end: at + 1 };
  if (letter === "b" || letter === "B") return { characters: NONE, end: at + 1, zeroWidth: true };
  // `\1` or `\12` is a back reference, of any length; past the pattern's groups, as V8 reads it without
  // the `u` flag, an octal escape (`\1` is U+0001) or, `\8` and `\9`, the digit itself: one character.
  if (/[1-9]/.test(letter)) {
    const digits = /^\d+/.exec(source.slice(at))![0];
    if (Number(digits) <= captureGroups(source)) return { characters: ANY, end: at + digits.length, anyLength: true };
    const octal = /^[0-7]{1,3}/.exec(digits)?.[0];
    return octal
      ? { characters: character(Number.parseInt(octal, 8)), end: at + octal.length }
      : { characters: character(letter.charCodeAt(0)), end: at + 1 };
  }
  if (letter === "k" && source[at + 1] === "<")
    return { characters: ANY, end: source.indexOf(">", at) + 1 || source.length, anyLength: true };
  const { code, end } = escapedCharacter(source, at);
  return { characters: character(code), end };
}

/** How many capture groups the pattern has: each `(` that no `?` follows, or `(?<name>`. */
function captureGroups(source: string): number {
  let groups = 0;
  for (const i of syntaxPlaces(source))
    if (source[i] === "(" && (source[i + 1] !== "?" || /^<[^=!]/.test(source.slice(i + 2, i + 4)))) groups++;
  return groups;
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
