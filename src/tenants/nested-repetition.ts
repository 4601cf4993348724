import { atomAt, type Characters, isEmpty, NONE, overlap, union } from "./pattern-atoms.js";
import { afterGroupOpening, lookaroundAt, quantifierAt } from "./pattern-syntax.js";

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
 * match nothing counts as a `?`.
 *
 * `overlapping`: alternatives that may match the same text, repeated, which parse one text in
 * exponentially many ways whatever ends each repetition: two of one character each that share
 * characters (`(.|\s)*`, a space either; `(?:-(?:\w|\d))+!`), or one each of whose parts may take a
 * character the one-character alternatives take (`(a|aa)+`, `(?:[^&]|%26)+$`, `"(?:\\.|[^"])*"`).
 * Alternatives that merely start alike (`\\u…` and `\\n` in a JSON string's grammar, `(?:ab|ac)+`) go
 * one way each, and a group that ends the pattern is never backtracked into. Checks for the common
 * mistakes, not a proof of speed either way.
 */
export function slowRepetitionIn(source: string): "nested" | "overlapping" | undefined {
  const groups: Group[] = [newGroup()];
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    const group = groups[groups.length - 1]!;
    if (c === "(") {
      groups.push({ ...newGroup(), ...lookaroundAt(source, i + 1) });
      i = afterGroupOpening(source, i + 1);
    } else if (c === "|") {
      group.alternated = true;
      group.emptyAlternative ||= !group.requiredInAlternative;
      group.requiredInAlternative = false;
      endAlternative(group);
      i++;
    } else if (c === ")" && groups.length > 1) {
      groups.pop();
      const parent = groups[groups.length - 1]!;
      const quantifier = quantifierAt(source, i + 1);
      i = quantifier?.end ?? i + 1;
      const { min, max } = quantifier ?? ONCE;
      const optional = group.alternated && (group.emptyAlternative || !group.requiredInAlternative);
      endAlternative(group);
      // Alternatives that may match the same text parse it two ways, wherever each repetition ends.
      const ambiguity = group.ambiguity * (group.alternated && sameTextTwice(group.alternatives) ? 2 : 1);
      // Never backtracked into, a group that ends the pattern is matched one way; not one that ends a
      // lookbehind, which V8 matches from its end, so that its last group is matched first and tried
      // again for what is written before it. (Not `1 ** Infinity`, which is NaN.)
      const endsPattern = ENDS_PATTERN.test(source.slice(i)) && !groups.some((around) => around.lookbehind);
      const parses = ambiguity === 1 || endsPattern ? 1 : ambiguity ** max;
      if (parses > MANY_WAYS && max > 1) return "overlapping";
      parent.ambiguity = Math.min(parent.ambiguity * parses, MANY_WAYS + 1);
      // An alternative that may match nothing makes the group optional, as `?` would: twice the ways.
      if (optional) group.ways *= 2;
      parent.within = union(parent.within, group.within);
      // A lookaround matches no characters: it is no part of its alternative's text.
      if (!group.lookaround) parent.alternativeParts.push(group.within, NONE);
      if (min > 0 && group.requiredInAlternative && !group.emptyAlternative && !group.lookaround) parent.requiredInAlternative = true;
      // Alternatives may be of different lengths, as a repetition's count may be.
      if (group.alternated || max > min) varies(parent, group.within);
      else if (group.ways > 1 || group.varyingAtoms > 0) varies(parent, group.varying);
      // The group's ways count once for its first repetition: each further one multiplies them again,
      // unless a delimiter fixes where each ends. (Not `1 ** Infinity`, which is NaN.)
      const further = group.ways === 1 || max <= 1 || delimitsRepetitions(group) ? 1 : group.ways ** (max - 1);
      if (further > 1 && group.ways * further > MANY_WAYS) return "nested";
      parent.ways *= group.ways * Math.max(1, max - min + 1) * further;
    } else {
      const atom = atomAt(source, i);
      const quantifier = quantifierAt(source, atom.end);
      i = quantifier?.end ?? atom.end;
      const { min, max } = quantifier ?? ONCE;
      group.within = union(group.within, atom.characters);
      if (!atom.zeroWidth) {
        // A fixed count is its characters spelled out (`\d{3}` as `\d\d\d`), for `sameTextTwice` to compare place by place.
        const spelled = !atom.anyLength && min === max && max <= MAX_SPELLED ? max : 1;
        for (let n = 0; n < spelled; n++) group.alternativeParts.push(atom.characters);
        // One character, once: what `sameTextTwice` calls a one-character alternative.
        if ((quantifier && spelled !== max) || atom.anyLength) group.alternativeParts.push(NONE);
      }
      if (!atom.zeroWidth && min > 0) group.requiredInAlternative = true;
      if (atom.anyLength || max > min) varies(group, atom.characters);
      else if (!atom.zeroWidth && min > 0) group.delimiters.push({ characters: atom.characters, varyingBefore: group.varyingAtoms });
      group.ways *= Math.max(1, max - min + 1);
    }
  }
  // Ambiguous groups one after another parse a text in as many ways as their product.
  return groups[0]!.ambiguity > MANY_WAYS ? "overlapping" : undefined;
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
  /** In how many ways the groups inside it, read so far, may parse one text (alternatives that may match the same text: 2 each). */
  ambiguity: number;
  /** Its alternatives read: what each of their parts may match, as `alternativeParts` holds them. */
  alternatives: Characters[][];
  /**
   * What each part of the alternative being read may match; a part that is more than one character
   * once is followed by NONE, so that an alternative of one character once alone has one entry.
   */
  alternativeParts: Characters[];
  lookaround: boolean;
  lookbehind: boolean;
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
    ambiguity: 1,
    alternatives: [],
    alternativeParts: [],
    lookaround: false,
    lookbehind: false,
    requiredInAlternative: false,
    emptyAlternative: false,
  };
}

function endAlternative(group: Group): void {
  group.alternatives.push(group.alternativeParts);
  group.alternativeParts = [];
}

/**
 * Whether two alternatives may match the same text: two of one character each that share one, two
 * of as many single characters that share one at each place (`ab|ab`, `\w\d|\d\w`), or another each
 * of whose parts may take a character the one-character ones take, so that some text it matches a
 * run of those matches too (`\\.` and `[^"]` both take `\\\\`).
 */
function sameTextTwice(alternatives: Characters[][]): boolean {
  // A part of more than one character is followed by NONE, which shares nothing: only single characters
  // compare alike.
  const alike = (a: Characters[], b: Characters[]) => a.length > 0 && a.length === b.length && a.every((part, j) => overlap(part, b[j]!));
  if (alternatives.some((a, k) => alternatives.slice(k + 1).some((b) => alike(a, b)))) return true;
  const taken = alternatives.flatMap((parts) => (parts.length === 1 ? parts : [])).reduce(union, NONE);
  return alternatives.some((parts) => {
    const consuming = parts.filter((part) => !isEmpty(part));
    return parts.length > 1 && consuming.length > 0 && consuming.every((part) => overlap(part, taken));
  });
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

/** What follows a group that ends the pattern: the groups around it closing, none repeated. */
const ENDS_PATTERN = /^\)*$/;

/** The longest fixed count spelled out as its characters; past it a repetition is compared as a whole. */
const MAX_SPELLED = 16;

/** An atom without a quantifier: matched once. */
const ONCE = { min: 1, max: 1 };

/** The most ways a repeated group may match a run: an IPv6 address's `([0-9a-f]{1,4}:){7}` has 4^7. */
const MANY_WAYS = 100_000;
