/**
 * Whether a regular expression (JavaScript's syntax, without the `u` flag) repeats without bound a
 * group that itself holds a repetition without bound, as `(a+)+`, `(\w+\s?)*` or `((ab)*c)+` do.
 * Such a pattern tries every way of sharing a run between the inner and the outer repetition before
 * it gives up on text that almost matches: time exponential in the run's length, on text a client
 * chooses, in an isolate other tenants' requests share. Bounded repetitions (`(\d{4}-?){3}`) are
 * not counted, nor is the other classic shape, alternatives that overlap under a repetition
 * (`(a|aa)+`): this is a check for the common mistake, not a proof of speed.
 */
export function repeatsNestedRepetition(source: string): boolean {
  /** For each open group: whether what it holds so far repeats without bound. */
  const groups: boolean[] = [false];
  /** The atom a quantifier would apply to: a group that holds an unbounded repetition, or anything else. */
  let lastAtomRepeats = false;
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    if (c === "\\") {
      i += 2;
      lastAtomRepeats = false;
    } else if (c === "[") {
      i = endOfClass(source, i + 1);
      lastAtomRepeats = false;
    } else if (c === "(") {
      groups.push(false);
      i = afterGroupOpening(source, i + 1);
      lastAtomRepeats = false;
    } else if (c === ")" && groups.length > 1) {
      lastAtomRepeats = groups.pop()!;
      if (lastAtomRepeats) groups[groups.length - 1] = true;
      i++;
    } else {
      const quantifier = quantifierAt(source, i);
      if (!quantifier) {
        i++;
        lastAtomRepeats = false;
        continue;
      }
      if (quantifier.unbounded && lastAtomRepeats) return true;
      if (quantifier.unbounded) groups[groups.length - 1] = true;
      i = quantifier.end;
      lastAtomRepeats = false;
    }
  }
  return false;
}

/** Past a character class opened before `at`: its `]`, escapes skipped (`[]` is an empty class in JavaScript). */
function endOfClass(source: string, at: number): number {
  for (let i = at; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === "]") return i + 1;
  }
  return source.length;
}

/** Past what opens a group after its `(`: `?:`, `?=`, `?!`, `?<=`, `?<!` or `?<name>`, whose `?` is no quantifier. */
function afterGroupOpening(source: string, at: number): number {
  if (source[at] !== "?") return at;
  GROUP_OPENING.lastIndex = at;
  return at + (GROUP_OPENING.exec(source)?.[0].length ?? 1);
}

const GROUP_OPENING = /\?(?::|=|!|<=|<!|<[^>]*>)/y;
const BRACES = /\{\d+(,\d*)?\}/y;

/** The quantifier at `at` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each maybe lazy), and whether it repeats without bound. */
function quantifierAt(source: string, at: number): { unbounded: boolean; end: number } | undefined {
  BRACES.lastIndex = at;
  const braces = BRACES.exec(source);
  const written = "*+?".includes(source[at]!) ? source[at]! : braces?.[0];
  if (written === undefined) return undefined;
  const end = at + written.length + (source[at + written.length] === "?" ? 1 : 0);
  return { unbounded: written === "*" || written === "+" || written.endsWith(",}"), end };
}
