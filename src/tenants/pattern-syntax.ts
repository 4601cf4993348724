/** Reading a regular expression's syntax (JavaScript's, without the `u` flag), for the checks on redaction patterns. */

/** Past a character class opened before `at`: its `]`, escapes skipped (`[]` is an empty class in JavaScript). */
export function endOfClass(source: string, at: number): number {
  for (let i = at; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === "]") return i + 1;
  }
  return source.length;
}

/** Where the characters that may be syntax stand: each one neither escaped nor in a character class. */
export function* syntaxPlaces(source: string): Generator<number> {
  for (let i = 0; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === "[") i = endOfClass(source, i + 1) - 1;
    else yield i;
  }
}

/** Past what opens a group after its `(`: `?:`, `?=`, `?!`, `?<=`, `?<!` or `?<name>`, whose `?` is no quantifier. */
export function afterGroupOpening(source: string, at: number): number {
  if (source[at] !== "?") return at;
  GROUP_OPENING.lastIndex = at;
  return at + (GROUP_OPENING.exec(source)?.[0].length ?? 1);
}

const GROUP_OPENING = /\?(?::|=|!|<=|<!|<[^>]*>)/y;

/** Whether the group whose `(` stands before `at` is a lookahead or lookbehind, which matches no characters, and which of them. */
export function lookaroundAt(source: string, at: number): { lookaround: boolean; lookbehind: boolean } {
  LOOKAROUND.lastIndex = at;
  const opening = LOOKAROUND.exec(source);
  return { lookaround: opening !== null, lookbehind: opening?.[1] !== undefined };
}

const LOOKAROUND = /\?(<)?[=!]/y;
const BRACES = /\{(\d+)(,(\d*))?\}/y;

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
