import { type Atom, atomAt, type Characters, covers, NONE, overlap, union } from "./pattern-atoms.js";
import { afterGroupOpening, lookaroundAt, quantifierAt } from "./pattern-syntax.js";

/**
 * Whether a regular expression (JavaScript's syntax, without the `u` flag) lets repetitions of
 * characters they share split one run among them in many ways, with something after them that
 * must still hold: `\d+\d+x`, `\w+\s*\w+x`, `\S+@\S+\.`, `.*:.*=`, `\w{1,64}\w{1,64}\w{1,64}x`. On a
 * long run without that something, the pattern tries every split from every start: time a power
 * of the run's length (its cube for two unbounded repetitions, seconds for 2,000 characters), in an
 * isolate other tenants' requests share. Repetitions kept apart by a character one of them cannot
 * take (`\d+\.\d+`, `[\w.]+@[\w-]+`), of characters the other cannot take (`\s+\w+`), or a split run
 * that ends the pattern (which takes the first split that comes) pass. A group is read in its place,
 * each alternative going on from what came before it, a lookaround too; a repeated group is a
 * repetition of the characters in it, starting with those it may start with. Like
 * slowRepetitionIn, a check for the common mistake, not a proof of speed either way.
 */
export function splitsRunsAmongRepetitions(source: string): boolean {
  const levels: Level[] = [levelAfter([])];
  for (let i = 0; i < source.length; ) {
    const level = levels[levels.length - 1]!;
    const c = source[i]!;
    if (c === "|") {
      // Each alternative goes on from what came before its group, and the group may end where any ends.
      level.ends.push(...level.runs);
      level.runs = [...level.before];
      level.mayBeEmpty ||= level.startsOpen;
      level.startsOpen = true;
      i++;
    } else if (c === "(") {
      levels.push(levelAfter(level.runs, lookaroundAt(source, i + 1)));
      i = afterGroupOpening(source, i + 1);
    } else if (c === ")" && levels.length > 1) {
      levels.pop();
      const quantifier = quantifierAt(source, i + 1);
      i = quantifier?.end ?? i + 1;
      const min = quantifier?.min ?? 1;
      const max = quantifier?.max ?? 1;
      const parent = levels[levels.length - 1]!;
      // A group that may match nothing starts, for what follows, with anything in it.
      const starts = level.startsOpen || level.mayBeEmpty ? level.within : level.starts;
      // The runs each of its alternatives ended with.
      const inside = [...level.ends, ...level.runs];
      // V8 matches a lookbehind from its end: a split that ends it, read forwards, is tried first and
      // again for all that is written before it, which must still hold.
      if (level.lookbehind && inside.some(splitsMany)) return true;
      if (level.lookaround) {
        if (takes(parent, { characters: NONE, zeroWidth: true }, NONE, 1, 1)) return true;
      } else if (max > 1) {
        // Each repetition may take as many lengths as the runs in it: `(?:\w{1,20}){1,3}` 20^3 ways, not 3.
        const lengths = Math.min(inside.reduce((most, run) => Math.max(most, run.spans), 1) ** max, MANY_SPLITS + 1);
        if (takes(parent, { characters: level.within }, starts, min, max, lengths)) return true;
        // A split inside it still stands before what must follow it: the next repetition, or the rest.
        const splitting = inside.filter(splitsMany);
        if (splitting.length > 0) parent.runs = merged([...parent.runs, ...splitting]);
      } else {
        // Read in its place: what follows goes on from where it ended, or, optional, from before it too.
        noteStart(parent, starts, min);
        parent.within = union(parent.within, level.within);
        parent.runs = merged(min === 0 ? [...parent.runs, ...inside] : inside);
      }
    } else {
      const atom = atomAt(source, i);
      const quantifier = quantifierAt(source, atom.end);
      i = quantifier?.end ?? atom.end;
      const max = atom.anyLength ? Number.POSITIVE_INFINITY : (quantifier?.max ?? 1);
      if (takes(level, atom, atom.characters, quantifier?.min ?? 1, max)) return true;
    }
  }
  return false;
}

/** A repetition, and the split its run may take: of the overlapping repetitions it ends, how many, unbounded how many, and the product of the others' spans. */
interface Run {
  characters: Characters;
  members: number;
  unbounded: number;
  spans: number;
  /**
   * The characters that had to come since it, each one it may take: a repetition after them splits
   * the run with it only if it may take each too, else they mark where it may start (a domain's
   * `.` before `[a-z]{2,}`), a few places, not every one.
   */
  crossed: Characters[];
}

/** The pattern, or a group in it, read so far. */
interface Level {
  /** The repetitions the text at this point may still be a run of. */
  runs: Run[];
  /** The runs before the group, which each of its alternatives goes on from. */
  before: Run[];
  /** The runs its alternatives before this one ended with. */
  ends: Run[];
  /** Every character its atoms may match, for the group repeated. */
  within: Characters;
  /** The characters it may start with; `startsOpen` while nothing it must match has come. */
  starts: Characters;
  startsOpen: boolean;
  /** Whether an alternative before this one may match nothing. */
  mayBeEmpty: boolean;
  /** A lookahead or lookbehind, which matches no characters. */
  lookaround: boolean;
  lookbehind: boolean;
}

function levelAfter(runs: Run[], { lookaround, lookbehind } = { lookaround: false, lookbehind: false }): Level {
  return {
    runs: [...runs],
    before: [...runs],
    ends: [],
    within: NONE,
    starts: NONE,
    startsOpen: true,
    mayBeEmpty: false,
    lookaround,
    lookbehind,
  };
}

/**
 * A split past which the pattern is slow: two unbounded repetitions, one beside spans of more than
 * {@link MANY_SPANS} lengths in all, or bounded ones of more than {@link MANY_SPLITS}. One
 * unbounded repetition alone before what must follow is the quadratic case the README accepts.
 */
function splitsMany(run: Run): boolean {
  if (run.members < 2) return false;
  return run.unbounded >= 2 || (run.unbounded === 1 && run.spans > MANY_SPANS) || run.spans > MANY_SPLITS;
}

const MANY_SPANS = 16;
const MANY_SPLITS = 100_000;

/**
 * An atom matched `min` to `max` times, `starts` the characters it may start with, read at the
 * level; true when it must hold after a run split many ways, as more of the pattern. `lengths`: the
 * ways each repetition of it may match, for a group of runs.
 */
function takes(
  level: Level,
  atom: Pick<Atom, "characters" | "zeroWidth">,
  starts: Characters,
  min: number,
  max: number,
  lengths = 1,
): boolean {
  noteStart(level, starts, atom.zeroWidth ? 0 : min);
  level.within = union(level.within, atom.characters);
  // An optional character varies as a repetition does: 17 of `.?` in a row split a run in 2^17 ways.
  if (max > 1 || (min < max && !atom.zeroWidth)) {
    const unbounded = max > LONG_REPETITION ? 1 : 0;
    const spans = unbounded ? 1 : Math.min((max - min + 1) * lengths, MANY_SPLITS + 1);
    // The split it may end: the costliest of a run before it that it may go on.
    let run: Run = { characters: atom.characters, members: 1, unbounded, spans, crossed: [] };
    for (const before of level.runs) {
      if (!overlap(before.characters, starts) || !before.crossed.every((crossed) => overlap(atom.characters, crossed))) continue;
      const joined: Run = {
        characters: atom.characters,
        members: before.members + 1,
        unbounded: before.unbounded + unbounded,
        spans: before.spans * spans,
        crossed: [],
      };
      if (costlier(joined, run)) run = joined;
    }
    if (min === 0) {
      level.runs = merged([...level.runs, run]);
      return false;
    }
    // One that must match stands between what comes after and the runs it cannot go on, or cannot take
    // whole: on a run of characters it does not take, every split is tried before it fails (`\w+\w+\d+`
    // on letters).
    const stands = (before: Run) => !overlap(before.characters, starts) || !covers(atom.characters, before.characters);
    if (level.runs.some((before) => splitsMany(before) && stands(before))) return true;
    level.runs = [run];
    return false;
  }
  if (min === 0) return false;
  if (level.runs.some(splitsMany)) return true;
  // An assertion matches no characters; a character the runs may take leaves them going on.
  if (!atom.zeroWidth) {
    level.runs = level.runs
      .filter((run) => overlap(run.characters, atom.characters))
      .map((run) => ({ ...run, crossed: [...run.crossed, atom.characters] }));
  }
  return false;
}

/**
 * The runs, each once: of those of the same characters after the same ones that had to come, the
 * costliest. Alternatives and optional groups would otherwise double them at each level of nesting,
 * `(?:\d*|\d*)` twenty times over a million.
 */
function merged(runs: Run[]): Run[] {
  const kept = new Map<string, Run>();
  for (const run of runs) {
    const key = [run.characters, ...run.crossed].map(({ ascii, pastAscii }) => `${ascii}+${pastAscii.join()}`).join("/");
    const known = kept.get(key);
    if (
      !known ||
      run.unbounded > known.unbounded ||
      (run.unbounded === known.unbounded && run.spans * run.members > known.spans * known.members)
    )
      kept.set(key, run);
  }
  return [...kept.values()];
}

/** Whether a run splits in more ways than another: more unbounded repetitions, then more lengths, then more repetitions. */
function costlier(a: Run, b: Run): boolean {
  if (a.unbounded !== b.unbounded) return a.unbounded > b.unbounded;
  return a.spans !== b.spans ? a.spans > b.spans : a.members > b.members;
}

/** Repetitions past this are unbounded: `{1,99999}` tries as many lengths as the text has. */
const LONG_REPETITION = 64;

/** Adds the characters an atom may start with to those the level may start with, until an atom it must match. */
function noteStart(level: Level, starts: Characters, min: number): void {
  if (!level.startsOpen) return;
  level.starts = union(level.starts, starts);
  if (min > 0) level.startsOpen = false;
}
