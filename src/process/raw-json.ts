import { utf8Of } from "../encoding/bytes.js";

/**
 * JSON passed on as it is. A payload's messages or choices are most of its bytes, and translation
 * only moves them from one attribute to another: checking their UTF-8 is valid JSON and copying it
 * costs a fraction of decoding it to text, parsing it into objects and writing it out again.
 */
export class RawJson {
  constructor(readonly utf8: Uint8Array) {}
}

/** A value's JSON as UTF-8: raw JSON as it is, anything else written by JSON.stringify. */
export function jsonUtf8(value: unknown): Uint8Array {
  return value instanceof RawJson ? value.utf8 : utf8Of(JSON.stringify(value));
}
