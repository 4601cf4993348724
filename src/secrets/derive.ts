import { base64UrlEncode } from "../encoding/bytes.js";

/**
 * An HMAC-SHA-256 key derived from a secret (HKDF-SHA-256) for one purpose, named in `purpose`, and
 * used for nothing else: what signs console sessions cannot sign list cursors, nor the reverse.
 * Derived once per secret and purpose in an isolate, as seal.ts imports its keys once: a console
 * page and an admin list each need one or two, on every request.
 */
export function hmacKeyFor(secret: string, purpose: string, usages: Array<"sign" | "verify">): Promise<CryptoKey> {
  const cacheKey = JSON.stringify([secret, purpose, usages]);
  let key = derived.get(cacheKey);
  if (!key) {
    key = derive(secret, purpose, usages);
    // A secret rotated often would otherwise leave every key it had behind.
    if (derived.size >= MAX_DERIVED) derived.clear();
    derived.set(cacheKey, key);
  }
  return key;
}

/**
 * The HMAC of `message` under the key derived from `secret` for `purpose`, in base64url: a tag a
 * cursor or a link carries, checked by making it again and comparing with secretsEqual.
 */
export async function hmacTag(secret: string, purpose: string, message: string): Promise<string> {
  return hmacSign(await hmacKeyFor(secret, purpose, ["sign"]), message);
}

/** The HMAC of `message`'s UTF-8 under `key`, in base64url. */
export async function hmacSign(key: CryptoKey, message: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message))));
}

const derived = new Map<string, Promise<CryptoKey>>();
const MAX_DERIVED = 16;

async function derive(secret: string, purpose: string, usages: Array<"sign" | "verify">): Promise<CryptoKey> {
  const encoder = new TextEncoder();
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(purpose) },
    material,
    { name: "HMAC", hash: "SHA-256" },
    false,
    usages,
  );
}
