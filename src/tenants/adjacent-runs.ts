import { afterGroupOpening, endOfClass, quantifierAt } from "./nested-repetition.js";

/**
 * Whether a regular expression (JavaScript's syntax, without the `u` flag) lets two or more long
 * repetitions of characters they share split one run between them, with something after that must
 * still match: `\d+\d+x`, `\w+\s*\w+x`, `\d+-?\d+-?\d+ ?x`. On a long run without that something,
 * the pattern tries every split from every start: time a power of the run's length (its cube for
 * two, a few seconds for 600 digits with three), in an isolate other tenants' requests share.
 * Repetitions apart from each other (`\d+\.\d+`, `[\w.]+@[\w-]+`) or of characters the other cannot
 * take (`\s+\w+`) have one split; a split run that ends the pattern takes the first that comes. A
 * repetition counts as long past {@link LONG} times. Like repeatsNestedRepetition, a check for the
 * common mistake, reading a group as any of the characters in it.
 */
export function splitsRunsAmongRepetitions(source: string): boolean {
  const levels: Level[] = [{ runs: [], within: NONE }];
  for (let i = 0; i < source.length; ) {
    const level = levels[levels.length - 1]!;
    const c = source[i]!;
    if (c === "|") {
      if (levels.length > 1 && splitRun(level)) return true;
      level.runs = [];
      i++;
      continue;
    }
    if (c === "(") {
      const opened = afterGroupOpening(source, i + 1);
      levels.push({ runs: [], within: NONE, lookaround: /^\?<?[=!]/.test(source.slice(i + 1, opened)) });
      i = opened;
      continue;
    }
    let atom: { characters: Characters; end: number };
    if (c === ")" && levels.length > 1) {
      levels.pop();
      if (splitRun(level)) return true;
      atom = { characters: level.lookaround ? NONE : level.within, end: i + 1 };
    } else atom = atomAt(source, i);
    const quantifier = quantifierAt(source, atom.end);
    const min = quantifier?.min ?? 1;
    const max = quantifier?.max ?? 1;
    i = quantifier?.end ?? atom.end;
    const current = levels[levels.length - 1]!;
    current.within = union(current.within, atom.characters);
    if (max > LONG) {
      const run = { characters: atom.characters, count: 1 };
      for (const before of current.runs) if (overlap(before.characters, run.characters)) run.count = Math.max(run.count, before.count + 1);
      if (min > 0) {
        // It must match after a split run it does not go on: more of the pattern, as a `x` would be.
        if (current.runs.some((before) => before.count >= 2 && !overlap(before.characters, run.characters))) return true;
        // And stands between those before it and what comes after.
        current.runs = [run];
      } else current.runs.push(run);
    } else if (min > 0) {
      if (splitRun(current)) return true;
      current.runs = [];
    }
  }
  return false;
}

/** A run past this many characters is long: `{1,64}` tried against `{1,64}` is 4,096 splits, not a power of the text. */
const LONG = 64;

interface Level {
  /** The long repetitions since the last character that must match, each with how many overlapping ones end with it. */
  runs: Array<{ characters: Characters; count: number }>;
  /** Every character the level's atoms may match, for the group as its parent sees it. */
  within: Characters;
  /** A lookahead or lookbehind, which matches no characters. */
  lookaround?: boolean;
}

function splitRun(level: Level): boolean {
  return level.runs.some((run) => run.count >= 2);
}

/** Characters an atom may match: ASCII ones by bit, the rest as one. */
interface Characters {
  ascii: bigint;
  other: boolean;
}

const NONE: Characters = { ascii: 0n, other: false };
const ANY: Characters = { ascii: (1n << 128n) - 1n, other: true };

function overlap(a: Characters, b: Characters): boolean {
  return (a.ascii & b.ascii) !== 0n || (a.other && b.other);
}

function union(a: Characters, b: Characters): Characters {
  return { ascii: a.ascii | b.ascii, other: a.other || b.other };
}

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
const CONTROL_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12, "0": 0 };
const LINE_ENDS = union(character(10), character(13));

/** The atom at `at` (not a group's `(` or `|`): the characters it may match, and where it ends. */
function atomAt(source: string, at: number): { characters: Characters; end: number } {
  const c = source[at]!;
  if (c === "\\") return escapeAt(source, at + 1);
  if (c === "[") {
    const end = endOfClass(source, at + 1);
    return { characters: classOf(source.slice(at + 1, end - 1)), end };
  }
  if (c === ".") return { characters: not(LINE_ENDS), end: at + 1 };
  // Assertions match no characters.
  if (c === "^" || c === "$") return { characters: NONE, end: at + 1 };
  return { characters: character(c.charCodeAt(0)), end: at + 1 };
}

/** The escape whose letter is at `at`: a class, an assertion, a back reference (any characters) or one character. */
function escapeAt(source: string, at: number): { characters: Characters; end: number } {
  const letter = source[at] ?? "\\";
  const set = ESCAPED_SETS[letter];
  if (set) return { characters: set, end: at + 1 };
  if (letter === "b" || letter === "B") return { characters: NONE, end: at + 1 };
  if (/[1-9]/.test(letter) || (letter === "k" && source[at + 1] === "<")) return { characters: ANY, end: at + 1 };
  const { code, end } = escapedCharacter(source, at);
  return { characters: character(code), end };
}

/** The one character an escape whose letter is at `at` writes: `\n`, `\x41`, `\u00e9`, or the letter itself (`\.`). */
function escapedCharacter(source: string, at: number): { code: number; end: number } {
  const letter = source[at] ?? "\\";
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

/** One member of a class at `at`: a class escape's set, or one character (`\b` there is a backspace). */
function classMemberAt(body: string, at: number): { set: Characters; end: number } | { code: number; end: number } {
  if (body[at] !== "\\") return { code: body.charCodeAt(at), end: at + 1 };
  const letter = body[at + 1] ?? "\\";
  const set = ESCAPED_SETS[letter];
  if (set) return { set, end: at + 2 };
  if (letter === "b") return { code: 8, end: at + 2 };
  return escapedCharacter(body, at + 1);
}
