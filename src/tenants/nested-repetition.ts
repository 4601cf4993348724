/**
 * Whether a regular expression (JavaScript's syntax, without the `u` flag) repeats a group in more
 * than {@link MANY_WAYS} ways of sharing a run among its repetitions, as `(a+)+`, `(\w+\s?)*`,
 * `(a+){3}`, `(\w\w?)+` or `(\w{1,64}\s?){10}` do. A group's ways are the product of what each
 * repetition inside it may vary by (`?` 2, `{1,64}` 64, `+` without bound), raised to the most times
 * the group repeats. Such a pattern tries every way before it gives up on text that almost matches:
 * time exponential in the run's length, or a polynomial of the repetitions' degree, on text a client
 * chooses, in an isolate other tenants' requests share. An IPv4 address's `(\d{1,3}\.){3}` (3^3
 * ways) and an IPv6 address's `([0-9a-f]{1,4}:){7}` (4^7) are within it, as is a group of fixed
 * length (`(\d{4}){3}`). Not counted: alternatives that overlap under a repetition (`(a|aa)+`); and
 * a run a required character ends (`([a-z]{1,63}\.)+`, which is quick) is refused all the same:
 * this is a check for the common mistake, not a proof of speed either way.
 */
export function repeatsNestedRepetition(source: string): boolean {
  /** For each open group: in how many ways what it holds so far may match a run (Infinity: without bound). */
  const groups: number[] = [1];
  /** The ways of the atom a quantifier would apply to: a group's, or 1 for anything else. */
  let lastAtomWays = 1;
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    if (c === "\\") {
      i += 2;
      lastAtomWays = 1;
    } else if (c === "[") {
      i = endOfClass(source, i + 1);
      lastAtomWays = 1;
    } else if (c === "(") {
      groups.push(1);
      i = afterGroupOpening(source, i + 1);
      lastAtomWays = 1;
    } else if (c === ")" && groups.length > 1) {
      lastAtomWays = groups.pop()!;
      groups[groups.length - 1]! *= lastAtomWays;
      i++;
    } else {
      const quantifier = quantifierAt(source, i);
      if (!quantifier) {
        i++;
        lastAtomWays = 1;
        continue;
      }
      const { min, max } = quantifier;
      // The group's ways were counted once at its `)`: each further repetition multiplies them again.
      // (Not `1 ** Infinity`, which is NaN.)
      const further = lastAtomWays === 1 || max <= 1 ? 1 : lastAtomWays ** (max - 1);
      if (further > 1 && lastAtomWays * further > MANY_WAYS) return true;
      groups[groups.length - 1]! *= Math.max(1, max - min + 1) * further;
      i = quantifier.end;
      lastAtomWays = 1;
    }
  }
  return false;
}

/** Past a character class opened before `at`: its `]`, escapes skipped (`[]` is an empty class in JavaScript). */
export function endOfClass(source: string, at: number): number {
  for (let i = at; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === "]") return i + 1;
  }
  return source.length;
}

/** Past what opens a group after its `(`: `?:`, `?=`, `?!`, `?<=`, `?<!` or `?<name>`, whose `?` is no quantifier. */
export function afterGroupOpening(source: string, at: number): number {
  if (source[at] !== "?") return at;
  GROUP_OPENING.lastIndex = at;
  return at + (GROUP_OPENING.exec(source)?.[0].length ?? 1);
}

const GROUP_OPENING = /\?(?::|=|!|<=|<!|<[^>]*>)/y;
const BRACES = /\{(\d+)(,(\d*))?\}/y;

/** The most ways a repeated group may match a run: an IPv6 address's `([0-9a-f]{1,4}:){7}` has 4^7. */
const MANY_WAYS = 100_000;

/** The quantifier at `at` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each maybe lazy): the least and most times it repeats. */
export function quantifierAt(source: string, at: number): { min: number; max: number; end: number } | undefined {
  const lazy = (after: number) => after + (source[after] === "?" ? 1 : 0);
  const counts = QUANTIFIERS[source[at]!];
  if (counts) return { ...counts, end: lazy(at + 1) };
  BRACES.lastIndex = at;
  const braces = BRACES.exec(source);
  if (!braces) return undefined;
  const [written, least, comma, most] = braces;
  // Counts past 2^31 are as many as JavaScript repeats anything; a count of 309 digits, read as
  // Infinity, would make the ways NaN, which no comparison refuses.
  const min = Math.min(Number(least), MAX_COUNT);
  const max = comma === undefined ? min : most === "" ? Number.POSITIVE_INFINITY : Math.min(Number(most), MAX_COUNT);
  return { min, max, end: lazy(at + written.length) };
}

const MAX_COUNT = 2 ** 31 - 1;

const QUANTIFIERS: Record<string, { min: number; max: number }> = {
  "*": { min: 0, max: Number.POSITIVE_INFINITY },
  "+": { min: 1, max: Number.POSITIVE_INFINITY },
  "?": { min: 0, max: 1 },
};
