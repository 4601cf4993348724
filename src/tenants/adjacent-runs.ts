import { afterGroupOpening, endOfClass, quantifierAt } from "./nested-repetition.js";

/**
 * Whether a regular expression (JavaScript's syntax, without the `u` flag) lets two or more long
 * repetitions of characters they share split one run between them, with something after that must
 * still match: `\d+\d+x`, `\w+\s*\w+x`, `\d+-?\d+-?\d+ ?x`. On a long run without that something,
 * the pattern tries every split from every start: time a power of the run's length (its cube for
 * two, a few seconds for 600 digits with three), in an isolate other tenants' requests share.
 * Repetitions apart from each other (`\d+\.\d+`, `[\w.]+@[\w-]+`) or of characters the other cannot
 * take (`\s+\w+`) have one split; a split run that ends the pattern takes the first that comes. A
 * repetition counts as long past {@link LONG} times. A group is read in its place, each alternative
 * going on from what came before it; one repeated long is a run of any of the characters in it.
 * Like repeatsNestedRepetition, a check for the common mistake.
 */
export function splitsRunsAmongRepetitions(source: string): boolean {
  const levels: Level[] = [levelAfter([], false)];
  for (let i = 0; i < source.length; ) {
    const level = levels[levels.length - 1]!;
    const c = source[i]!;
    if (c === "|") {
      // Each alternative goes on from what came before its group, and the group may end where any ends.
      level.ends.push(...level.runs);
      level.runs = [...level.before];
      i++;
    } else if (c === "(") {
      const opened = afterGroupOpening(source, i + 1);
      const lookaround = /^\?<?[=!]/.test(source.slice(i + 1, opened));
      // A group goes on from the runs before it; a lookaround, which matches no characters, starts afresh.
      levels.push(levelAfter(lookaround ? [] : level.runs, lookaround));
      i = opened;
    } else if (c === ")" && levels.length > 1) {
      levels.pop();
      const parent = levels[levels.length - 1]!;
      const quantifier = quantifierAt(source, i + 1);
      i = quantifier?.end ?? i + 1;
      parent.within = union(parent.within, level.within);
      if (level.lookaround) {
        // It must hold where it stands, and may not.
        if (splitRun(parent)) return true;
      } else if ((quantifier?.max ?? 1) > LONG) {
        if (takesAtom(parent, level.within, quantifier?.min ?? 1, Number.POSITIVE_INFINITY)) return true;
      } else {
        const ends = [...level.ends, ...level.runs];
        parent.runs = quantifier?.min === 0 ? [...parent.runs, ...ends] : ends;
      }
    } else {
      const atom = atomAt(source, i);
      const quantifier = quantifierAt(source, atom.end);
      i = quantifier?.end ?? atom.end;
      level.within = union(level.within, atom.characters);
      if (takesAtom(level, atom.characters, quantifier?.min ?? 1, quantifier?.max ?? 1)) return true;
    }
  }
  return false;
}

/**
 * An atom of these characters, matched `min` to `max` times, added to the level's runs; true when it
 * must match after a split run it does not go on, as more of the pattern.
 */
function takesAtom(level: Level, characters: Characters, min: number, max: number): boolean {
  if (max > LONG) {
    const run = { characters, count: 1 };
    for (const before of level.runs) if (overlap(before.characters, characters)) run.count = Math.max(run.count, before.count + 1);
    if (min === 0) {
      level.runs.push(run);
      return false;
    }
    if (level.runs.some((before) => before.count >= 2 && !overlap(before.characters, characters))) return true;
    // One that must match stands between the runs before it and what comes after.
    level.runs = [run];
    return false;
  }
  if (min === 0) return false;
  if (splitRun(level)) return true;
  level.runs = [];
  return false;
}

function levelAfter(runs: Run[], lookaround: boolean): Level {
  return { runs: [...runs], before: [...runs], ends: [], within: NONE, lookaround };
}

/** A run past this many characters is long: `{1,64}` tried against `{1,64}` is 4,096 splits, not a power of the text. */
const LONG = 64;

/** A long repetition, and how many overlapping ones, it among them, may split a run up to it. */
interface Run {
  characters: Characters;
  count: number;
}

/** The pattern, or a group in it, read so far. */
interface Level {
  /** The long repetitions since the last atom that must match. */
  runs: Run[];
  /** The runs before the group, which each of its alternatives goes on from. */
  before: Run[];
  /** The runs its alternatives before this one ended with. */
  ends: Run[];
  /** Every character the level's atoms may match, for the group as its parent sees it repeated. */
  within: Characters;
  /** A lookahead or lookbehind, which matches no characters. */
  lookaround: boolean;
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
