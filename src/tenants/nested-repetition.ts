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
 * match nothing counts as a `?`. Not counted: alternatives that overlap under a repetition
 * (`(a|aa)+`): this is a check for the common mistake, not a proof of speed either way.
 */
export function repeatsNestedRepetition(source: string): boolean {
  const groups: Group[] = [newGroup()];
  /** The atom a quantifier would apply to: a group's ways and whether its repetitions are delimited, or 1 for anything else. */
  let last = { ways: 1, delimited: false };
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    const group = groups[groups.length - 1]!;
    if (c === "(") {
      groups.push(newGroup());
      i = afterGroupOpening(source, i + 1);
      last = { ways: 1, delimited: false };
    } else if (c === ")" && groups.length > 1) {
      groups.pop();
      const parent = groups[groups.length - 1]!;
      // An alternative that may match nothing makes the group optional, as `?` would: twice the ways.
      if (group.alternated && (group.emptyAlternative || !group.requiredInAlternative)) group.ways *= 2;
      parent.ways *= group.ways;
      parent.within = union(parent.within, group.within);
      last = { ways: group.ways, delimited: delimitsRepetitions(group) };
      i++;
      const repeated = quantifierAt(source, i);
      if ((repeated?.min ?? 1) > 0 && group.requiredInAlternative && !group.emptyAlternative) parent.requiredInAlternative = true;
      // Alternatives may be of different lengths, as a repetition's count may be.
      if (group.alternated || (repeated && repeated.max > repeated.min)) varies(parent, group.within);
      else if (group.ways > 1 || group.varyingAtoms > 0) varies(parent, group.varying);
    } else if (c === "|") {
      group.alternated = true;
      group.emptyAlternative ||= !group.requiredInAlternative;
      group.requiredInAlternative = false;
      last = { ways: 1, delimited: false };
      i++;
    } else {
      const quantifier = quantifierAt(source, i);
      if (!quantifier) {
        const atom = atomAt(source, i);
        const repeated = quantifierAt(source, atom.end);
        group.within = union(group.within, atom.characters);
        if (!atom.zeroWidth && (repeated?.min ?? 1) > 0) group.requiredInAlternative = true;
        if (atom.anyLength || (repeated && repeated.max > repeated.min)) varies(group, atom.characters);
        else if (!atom.zeroWidth && (repeated?.min ?? 1) > 0)
          group.delimiters.push({ characters: atom.characters, varyingBefore: group.varyingAtoms });
        i = atom.end;
        last = { ways: 1, delimited: false };
        continue;
      }
      const { min, max } = quantifier;
      // The group's ways were counted once at its `)`: each further repetition multiplies them again,
      // unless a delimiter fixes where each ends. (Not `1 ** Infinity`, which is NaN.)
      const further = last.ways === 1 || max <= 1 || last.delimited ? 1 : last.ways ** (max - 1);
      if (further > 1 && last.ways * further > MANY_WAYS) return true;
      group.ways *= Math.max(1, max - min + 1) * further;
      i = quantifier.end;
      last = { ways: 1, delimited: false };
    }
  }
  return false;
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
    requiredInAlternative: false,
    emptyAlternative: false,
  };
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

/** The most ways a repeated group may match a run: an IPv6 address's `([0-9a-f]{1,4}:){7}` has 4^7. */
const MANY_WAYS = 100_000;
