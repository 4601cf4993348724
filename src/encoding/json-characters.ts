/**
 * The characters of JSON's structure, as the readers of JSON bytes (json.ts) and of JSON text
 * (json-text.ts) test for them: each is one byte in UTF-8 and one code unit in a string, of the
 * same value.
 */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COLON = 0x3a;
export const COMMA = 0x2c;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const OPEN_LIST = 0x5b;
export const CLOSE_LIST = 0x5d;
/** The first character of `null`, which starts no other JSON value. */
export const NULL_START = 0x6e;
/** JSON's white space (RFC 8259, section 2). */
export const SPACE = 0x20;
export const TAB = 0x09;
export const LINE_FEED = 0x0a;
export const CARRIAGE_RETURN = 0x0d;

/** Whether a character is JSON's white space: those four, and no other of Unicode's spaces. */
export function isJsonSpace(c: number): boolean {
  return c === SPACE || c === LINE_FEED || c === CARRIAGE_RETURN || c === TAB;
}
