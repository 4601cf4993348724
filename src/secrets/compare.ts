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

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** Same, where one side is already a stored SHA-256 hex digest. */
export async function matchesDigest(secret: string, digestHex: string): Promise<boolean> {
  const candidate = await sha256(secret);
  // A digest not of the shape sha256Hex writes matches nothing (timingSafeEqual throws on lengths that differ).
  return SHA256_HEX.test(digestHex) && crypto.subtle.timingSafeEqual(candidate, fromHex(digestHex));
}
