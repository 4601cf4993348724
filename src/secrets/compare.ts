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
 * Whether `text` holds `secret` anywhere, in time that depends on their lengths alone: every window
 * of the text is compared whole, without an early exit, so how much of the secret a text matched
 * cannot be timed. Quadratic: for short texts (a bearer, an API key) only.
 */
export function containsSecret(text: string, secret: string): boolean {
  let found = 0;
  for (let start = 0; secret.length > 0 && start + secret.length <= text.length; start++) {
    let difference = 0;
    for (let i = 0; i < secret.length; i++) difference |= text.charCodeAt(start + i) ^ secret.charCodeAt(i);
    found |= Number(difference === 0);
  }
  return found === 1;
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** Same, where one side is already a stored SHA-256 hex digest. */
export async function matchesDigest(secret: string, digestHex: string): Promise<boolean> {
  const candidate = await sha256(secret);
  // A digest not of the shape sha256Hex writes matches nothing (timingSafeEqual throws on lengths that differ).
  return SHA256_HEX.test(digestHex) && crypto.subtle.timingSafeEqual(candidate, fromHex(digestHex));
}
