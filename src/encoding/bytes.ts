/** Standard base64, padded, as OTLP/JSON writes bytes. */
export function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function base64UrlEncode(bytes: Uint8Array): string {
  return base64Encode(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function base64UrlDecode(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Lowercase hex; routing keys every span's trace id with it. */
export function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += HEX_DIGITS[byte];
  return text;
}

/** Hex digits as bytes; the caller has checked they are pairs of hex digits. */
export function fromHex(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** The parts one after another, in one new buffer. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * A new zeroed buffer of `size` bytes, a view of a slab shared with other small buffers: V8 keeps
 * a typed array of more than 64 bytes off its heap, and a buffer of its own costs more than
 * filling a few hundred bytes. No part of a slab is handed out twice; a slab is freed once no view
 * of it is left, so a view kept long keeps the whole slab. Such views stay inside one request's
 * processing: what leaves it goes through `ownedBytes` or a fresh `assemble`.
 */
export function slabBytes(size: number): Uint8Array {
  if (size > MAX_SLAB_PIECE) return new Uint8Array(size);
  if (slabUsed + size > slab.byteLength) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const bytes = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += size;
  return bytes;
}

const SLAB_BYTES = 64 * 1024;
const MAX_SLAB_PIECE = 4 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

const encoder = new TextEncoder();

/**
 * Text as UTF-8. Short ASCII text (keys, tags, the JSON translation writes) is copied by hand, into
 * a slab: a call to encode, or a buffer of its own, costs about as much as copying a few hundred
 * characters.
 */
export function utf8Of(text: string): Uint8Array {
  if (text.length > COPIED_BY_HAND) return encoder.encode(text);
  const out = slabBytes(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      // The slab's bytes back: nothing else took any since.
      slabUsed -= text.length;
      return encoder.encode(text);
    }
    out[i] = c;
  }
  return out;
}

const COPIED_BY_HAND = 256;

// A leading U+FEFF is text like any other, as protobuf-es and JSON.parse have it, not a mark to drop.
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * At most `length` UTF-16 units of the text's start, one fewer rather than half a surrogate pair:
 * half of one is no character, encoded as U+FFFD and written by JSON as an escape of its own.
 */
export function textStart(text: string, length: number): string {
  const cut = text.slice(0, length);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** UTF-8 as text, as protobuf-es decodes a string. */
export function textOf(utf8: Uint8Array): string {
  return decoder.decode(utf8);
}

/**
 * Bytes meant as UTF-8 that are not, made UTF-8. A half of a surrogate pair written as three bytes,
 * as an encoder writing UTF-16 units one by one writes it (`ED A0 BD`), is read as that unit: two
 * halves so written make their character again, and a half alone (an emoji a string was cut
 * inside) makes one U+FFFD, as the same half escaped in JSON (`"\ud83d"`) reads. Any other fault
 * is replaced as textOf replaces it.
 */
export function repairedUtf8(bytes: Uint8Array): Uint8Array {
  let text = "";
  let from = 0;
  for (let at = bytes.indexOf(0xed); at >= 0; at = bytes.indexOf(0xed, at + 1)) {
    const second = bytes[at + 1];
    const third = bytes[at + 2];
    // ED and two continuation bytes: U+D000 to U+DFFF, its upper half the surrogates UTF-8 never holds.
    if (!isContinuation(second) || !isContinuation(third)) continue;
    text += textOf(bytes.subarray(from, at)) + String.fromCharCode(0xd000 | ((second & 0x3f) << 6) | (third & 0x3f));
    from = at + 3;
  }
  // The encoder writes a surrogate left without its other half as U+FFFD.
  return utf8Of(text + textOf(bytes.subarray(from)));
}

function isContinuation(byte: number | undefined): byte is number {
  return byte !== undefined && (byte & 0xc0) === 0x80;
}

/**
 * The UTF-8 in [start, end) as text, as textOf decodes it, for short text that recurs from span to
 * span (attribute keys, span types, model names, a payload's member names): a call to the decoder
 * costs more than hashing and comparing a few dozen bytes, so each is decoded once and kept by its
 * bytes. A table of RECURRING_SLOTS slots, each holding the last text whose hash falls in it, bounds
 * what is kept.
 */
export function recurringTextOf(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length > RECURRING_MAX_BYTES) return textOf(bytes.subarray(start, end));
  // FNV-1a of the length and the last bytes, where recurring keys differ (`….input_tokens`, `….output_tokens`).
  let hash = Math.imul(0x811c9dc5 ^ length, 0x01000193);
  for (let i = Math.max(start, end - HASHED_BYTES); i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  const slot = (hash >>> 0) & (RECURRING_SLOTS - 1);
  const at = slot * RECURRING_MAX_BYTES;
  let same = recurringLengths[slot] === length;
  for (let i = 0; same && i < length; i++) same = recurringBytes[at + i] === bytes[start + i];
  if (same) return recurringTexts[slot]!;
  const utf8 = bytes.subarray(start, end);
  const text = textOf(utf8);
  recurringBytes.set(utf8, at);
  recurringLengths[slot] = length;
  recurringTexts[slot] = text;
  return text;
}

const RECURRING_SLOTS = 1024;
const RECURRING_MAX_BYTES = 64;
const HASHED_BYTES = 12;
const recurringBytes = new Uint8Array(RECURRING_SLOTS * RECURRING_MAX_BYTES);
// -1: no slot holds text yet, not even the empty one.
const recurringLengths = new Int32Array(RECURRING_SLOTS).fill(-1);
const recurringTexts: string[] = new Array(RECURRING_SLOTS).fill("");

// Bytes that are not UTF-8 throw rather than being replaced; a leading byte order mark is dropped, as RFC 8259 lets a JSON reader do.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** UTF-8 as text, without a leading byte order mark; throws a TypeError on bytes that are not UTF-8. */
export function strictTextOf(utf8: Uint8Array): string {
  return strictDecoder.decode(utf8);
}

/** How many bytes a leading UTF-8 byte order mark takes: 3, or 0 when there is none. */
export function bomLength(bytes: Uint8Array): number {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/**
 * The bytes in a buffer of their own, copied only when they are a view of a larger one. A queue
 * message or an RPC argument carries a typed array's whole buffer, so a view of a slab or of the
 * request would carry other spans' bytes (another tenant's, for a slab) and count them against the
 * message's size.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  // new Uint8Array, not slice(): a Buffer's slice is a view of the same memory.
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}
