/**
 * How the caller's text is shown in a message: quoted so that blanks and control characters show,
 * cut when long, and named by its length alone where it may be a secret pasted in the wrong place.
 */

/** Room for every id the relay gives out, whole: a dead letter's, the longest, is at most 232 characters. */
const MAX_QUOTED_CHARS = 256;

/**
 * The caller's text as an error message quotes it: JSON-quoted, so blanks and control characters
 * show, and cut to its first characters with its full length noted, so that a megabyte sent is not
 * a megabyte answered (and logged). Every message that quotes what the caller sent goes through this.
 */
export function quoted(text: string): string {
  if (text.length <= MAX_QUOTED_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, MAX_QUOTED_CHARS))}… (${text.length} characters)`;
}

/**
 * A place in the caller's JSON (`routes.0.match.field`), named by its keys and list places: a key
 * shaped as a field's name as it is, any other quoted (an empty one, one with dots), one longer
 * than any secret is short by its length alone (a key or token pasted as a key's name); past
 * MAX_PLACE_STEPS, its first and last steps around how many were left out.
 */
export function placeShown(steps: readonly string[]): string {
  const named = (step: string) => (FIELD_NAME.test(step) && repeatable(step, false) ? step : keyShown(step));
  if (steps.length <= MAX_PLACE_STEPS) return steps.map(named).join(".");
  const half = MAX_PLACE_STEPS / 2;
  return [...steps.slice(0, half).map(named), `…(${steps.length - MAX_PLACE_STEPS} more)`, ...steps.slice(-half).map(named)].join(".");
}

/** A key of the caller's JSON, quoted, or, longer than any secret is short, named by its length alone (a key or token pasted as a key's name). */
export function keyShown(key: string): string {
  return quotedUnlessSecret(key, false) ?? `(a key of ${key.length} characters)`;
}

/** The characters of a field's name; one is shown bare only as short as caller text is repeated whatever it holds. */
const FIELD_NAME = /^[A-Za-z0-9_$-]+$/;
const MAX_PLACE_STEPS = 16;

/**
 * Caller text this short is quoted back whatever it holds: every secret the relay handles is longer
 * (an admin token is 32 characters at least, an ingest token 64, API keys dozens),
 * and a typo's few characters are what its sender needs to see.
 */
const MAX_UNSHAPED_QUOTED_CHARS = 24;

/**
 * Caller text meant as an id or a name, quoted as `quoted` does when it has the shape of one
 * (`shaped`) or is too short to be a secret; undefined otherwise, for the message to give its length
 * instead: a token or key pasted in the wrong place would come back in the answer, and in whatever logs it.
 */
export function quotedUnlessSecret(text: string, shaped: boolean): string | undefined {
  return repeatable(text, shaped) ? quoted(text) : undefined;
}

/**
 * A header's value the caller sent (a Content-Type, a Content-Encoding), as a refusal names it after
 * the header's name: quoted when short, `of N characters` otherwise. No shape tells a media type
 * from a key: base64 has `/` and `=`, and a pasted key or token would come back.
 */
export function headerValueShown(value: string): string {
  return quotedUnlessSecret(value, false) ?? `of ${value.length} characters`;
}

/** Whether caller text may be repeated in an answer, as quotedUnlessSecret has it. */
export function repeatable(text: string, shaped: boolean): boolean {
  return shaped || text.length <= MAX_UNSHAPED_QUOTED_CHARS;
}
