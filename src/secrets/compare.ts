import { fromHex, hex } from "../encoding/bytes.js";

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(await sha256(text));
}

/**
 * Compares two secrets in time that depends on neither: both are hashed to 32 bytes first,
 * because timingSafeEqual needs equal lengths and a length check would leak the secret's length.
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256(a), sha256(b)]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/**
 * Whether `text` holds `secret` anywhere, without telling by its time how much of the secret a text
 * matched: `includes` stops at the first character that differs, so a text of one character repeated
 * takes it many times longer when the secret starts with that character, and so on a character at a
 * time. Linear, for texts of any length (a path, a refusal's message): each window's rolling hash
 * (Rabin-Karp, modulo 2^32 under an odd base drawn at random in each isolate, which a caller does not
 * know) is compared with the secret's, and only a window whose hash is the secret's is compared whole,
 * every character of it; so the time depends on the lengths and on how many windows share the
 * secret's hash, which a caller who does not know the base cannot aim at.
 */
export function containsSecret(text: string, secret: string): boolean {
  const length = secret.length;
  if (length === 0 || length > text.length) return false;
  const base = hashBase();
  const target = hashOf(secret, length, base);
  // What the window's first character weighs in its hash, to take it out as the window moves on.
  let first = 1;
  for (let i = 1; i < length; i++) first = Math.imul(first, base);
  let hash = hashOf(text, length, base);
  let found = 0;
  for (let start = 0; ; start++) {
    if (hash === target) found |= Number(windowIs(text, start, secret));
    if (start + length === text.length) break;
    hash = (Math.imul((hash - Math.imul(text.charCodeAt(start), first)) | 0, base) + text.charCodeAt(start + length)) | 0;
  }
  return found === 1;
}

let randomBase: number | undefined;

/** The isolate's hash base, drawn on first use (a Worker may not draw random values at its start). */
function hashBase(): number {
  randomBase ??= crypto.getRandomValues(new Uint32Array(1))[0]! | 1;
  return randomBase;
}

/** The hash of the text's first `length` code units. */
function hashOf(text: string, length: number, base: number): number {
  let hash = 0;
  for (let i = 0; i < length; i++) hash = (Math.imul(hash, base) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Whether the text from `start` reads `secret`, every character compared. */
function windowIs(text: string, start: number, secret: string): boolean {
  let difference = 0;
  for (let i = 0; i < secret.length; i++) difference |= text.charCodeAt(start + i) ^ secret.charCodeAt(i);
  return difference === 0;
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** Same, where one side is already a stored SHA-256 hex digest. */
export async function matchesDigest(secret: string, digestHex: string): Promise<boolean> {
  const candidate = await sha256(secret);
  // A digest not of the shape sha256Hex writes matches nothing (timingSafeEqual throws on lengths that differ).
  return SHA256_HEX.test(digestHex) && crypto.subtle.timingSafeEqual(candidate, fromHex(digestHex));
}
