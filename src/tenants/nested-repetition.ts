import { atomAt, type Characters, NONE, overlap, union } from "./pattern-atoms.js";
import { afterGroupOpening, quantifierAt } from "./pattern-syntax.js";

/**
 * Whether a regular expression (JavaScript's syntax, without the `u` flag) repeats a group in more
 * than {@link MANY_WAYS} ways of sharing a run among its repetitions, as `(a+)+`, `(\w+\s?)*`,
 * `(a+){3}`, `(\w\w?)+` or `(\w{1,64}\s?){10}` do. A group's ways are the product of what each
 * repetition inside it may vary by (`?` 2, `{1,64}` 64, `+` without bound), raised to the most times
 * the group repeats. Such a pattern tries every way before it gives up on text that almost matches:
 * time exponential in the run's length, or a polynomial of the repetitions' degree, on text a client
 * chooses, in an isolate other tenants' requests share. An IPv4 address's `(\d{1,3}\.){3}` (3^3
 * ways) and an IPv6 address's `([0-9a-f]{1,4}:){7}` (4^7) are within it, as is a group of fixed
 * length (`(\d{4}){3}`). A group whose every repetition must match, before or after all its parts
 * of varying length, a character none of them may take (`([a-z]{1,63}\.)+`, `(?: [A-Z][a-z]+)+`)
 * ends each repetition where that character is: its ways do not multiply. An alternative that may
 * match nothing counts as a `?`, and so do alternatives that may start with the same character
 * (`(.|\s)*`, `(a|aa)+`): a run of such characters splits between them in two ways a character. This
 * is a check for the common mistakes, not a proof of speed either way. Says which mistake it found:
 * `nested` when the ways would multiply past the budget without the overlap, else `overlapping`.
 */
export function slowRepetitionIn(source: string): "nested" | "overlapping" | undefined {
  const groups: Group[] = [newGroup()];
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    const group = groups[groups.length - 1]!;
    if (c === "(") {
      groups.push({ ...newGroup(), lookaround: LOOKAROUND.test(source.slice(i + 1, i + 4)) });
      i = afterGroupOpening(source, i + 1);
    } else if (c === "|") {
      group.alternated = true;
      group.emptyAlternative ||= !group.requiredInAlternative;
      group.requiredInAlternative = false;
      group.starts.push(group.start);
      group.start = NONE;
      group.startOpen = true;
      i++;
    } else if (c === ")" && groups.length > 1) {
      groups.pop();
      const parent = groups[groups.length - 1]!;
      const quantifier = quantifierAt(source, i + 1);
      i = quantifier?.end ?? i + 1;
      const { min, max } = quantifier ?? ONCE;
      const optional = group.alternated && (group.emptyAlternative || !group.requiredInAlternative);
      const starts = [...group.starts, group.start];
      const overlapping = group.alternated && starts.some((a, k) => starts.slice(k + 1).some((b) => overlap(a, b)));
      // An alternative that may match nothing makes the group optional, as `?` would: twice the ways.
      // So do alternatives a character may start either of: it goes to one or the other.
      if (optional || overlapping) group.ways *= 2;
      parent.within = union(parent.within, group.within);
      const required = min > 0 && group.requiredInAlternative && !group.emptyAlternative;
      // A lookaround matches no characters: what follows it is where its alternative starts.
      if (!group.lookaround) startWith(parent, starts.reduce(union), required);
      if (required) parent.requiredInAlternative = true;
      // Alternatives may be of different lengths, as a repetition's count may be.
      if (group.alternated || max > min) varies(parent, group.within);
      else if (group.ways > 1 || group.varyingAtoms > 0) varies(parent, group.varying);
      // The group's ways count once for its first repetition: each further one multiplies them again,
      // unless a delimiter fixes where each ends. (Not `1 ** Infinity`, which is NaN.)
      const further = group.ways === 1 || max <= 1 || delimitsRepetitions(group) ? 1 : group.ways ** (max - 1);
      if (further > 1 && group.ways * further > MANY_WAYS) {
        const withoutOverlap = overlapping && !optional ? group.ways / 2 : group.ways;
        return withoutOverlap > 1 && withoutOverlap ** max > MANY_WAYS ? "nested" : "overlapping";
      }
      parent.ways *= group.ways * Math.max(1, max - min + 1) * further;
    } else {
      const atom = atomAt(source, i);
      const quantifier = quantifierAt(source, atom.end);
      i = quantifier?.end ?? atom.end;
      const { min, max } = quantifier ?? ONCE;
      group.within = union(group.within, atom.characters);
      if (!atom.zeroWidth) startWith(group, atom.characters, min > 0 && !atom.anyLength);
      if (!atom.zeroWidth && min > 0) group.requiredInAlternative = true;
      if (atom.anyLength || max > min) varies(group, atom.characters);
      else if (!atom.zeroWidth && min > 0) group.delimiters.push({ characters: atom.characters, varyingBefore: group.varyingAtoms });
      group.ways *= Math.max(1, max - min + 1);
    }
  }
  return undefined;
}

/** A group read so far: in how many ways what it holds may match a run (Infinity: without bound), and what tells its repetitions apart. */
interface Group {
  ways: number;
  /** Every character its atoms may match. */
  within: Characters;
  /** The characters its atoms of varying length or count may take, and how many such atoms it has at its own level. */
  varying: Characters;
  varyingAtoms: number;
  /** The atoms it must match once each, at its own level, with how many varying atoms came before each. */
  delimiters: Array<{ characters: Characters; varyingBefore: number }>;
  alternated: boolean;
  /** The characters each alternative before this one may start with, this one's so far, and whether it may still start later. */
  starts: Characters[];
  start: Characters;
  startOpen: boolean;
  lookaround: boolean;
  /** Whether the alternative read so far must match a character, and whether one before it need not. */
  requiredInAlternative: boolean;
  emptyAlternative: boolean;
}

function newGroup(): Group {
  return {
    ways: 1,
    within: NONE,
    varying: NONE,
    varyingAtoms: 0,
    delimiters: [],
    alternated: false,
    starts: [],
    start: NONE,
    startOpen: true,
    lookaround: false,
    requiredInAlternative: false,
    emptyAlternative: false,
  };
}

/** Adds what a part may start with to its alternative's start while nothing before it must match; `required`: the part must match a character. */
function startWith(group: Group, characters: Characters, required: boolean): void {
  if (!group.startOpen) return;
  group.start = union(group.start, characters);
  if (required) group.startOpen = false;
}

function varies(group: Group, characters: Characters): void {
  group.varying = union(group.varying, characters);
  group.varyingAtoms++;
}

/**
 * Whether each repetition of the group ends at one place: it must match a character nothing in it
 * of varying length may take, before all of those or after all of them. One between two
 * (`(\w+\.\w+)+`) leaves the run from one repetition's `.` to the next's to split between them.
 */
function delimitsRepetitions(group: Group): boolean {
  if (group.alternated) return false;
  return group.delimiters.some(
    ({ characters, varyingBefore }) => !overlap(characters, group.varying) && (varyingBefore === 0 || varyingBefore === group.varyingAtoms),
  );
}

/** What follows a group's `(` when it is a lookahead or lookbehind. */
const LOOKAROUND = /^\?(?:=|!|<=|<!)/;

/** An atom without a quantifier: matched once. */
const ONCE = { min: 1, max: 1 };

/** The most ways a repeated group may match a run: an IPv6 address's `([0-9a-f]{1,4}:){7}` has 4^7. */
const MANY_WAYS = 100_000;
