/**
 * An HMAC-SHA-256 key derived from a secret (HKDF-SHA-256) for one purpose, named in `purpose`, and
 * used for nothing else: what signs console sessions cannot sign list cursors, nor the reverse.
 */
export async function hmacKeyFor(secret: string, purpose: string, usages: Array<"sign" | "verify">): Promise<CryptoKey> {
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
