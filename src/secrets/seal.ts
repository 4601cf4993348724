import { base64UrlDecode, base64UrlEncode } from "../encoding/bytes.js";
import { RelayError } from "../http/errors.js";

/**
 * Secrets at rest (API keys in KV, passthrough keys in queue messages) are sealed with AES-256-GCM
 * under the Worker secret ENCRYPTION_KEY. The `context` is bound as additional data, so a sealed
 * value copied to another tenant's record or another purpose does not open.
 * Envelope: `v1.<iv>.<ciphertext>`, both base64url.
 */
const VERSION = "v1";
const keys = new Map<string, Promise<CryptoKey>>();

function importKey(encryptionKey: string | undefined): Promise<CryptoKey> {
  if (!encryptionKey) throw new RelayError("misconfigured", "ENCRYPTION_KEY is not set: the relay cannot store or read API keys");
  let key = keys.get(encryptionKey);
  if (!key) {
    let raw: Uint8Array;
    try {
      raw = Uint8Array.from(atob(encryptionKey.trim()), (c) => c.charCodeAt(0));
    } catch {
      raw = new Uint8Array();
    }
    if (raw.byteLength !== 32) throw new RelayError("misconfigured", "ENCRYPTION_KEY must be 32 random bytes, base64-encoded");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(encryptionKey, key);
  }
  return key;
}

export async function sealSecret(plaintext: string, encryptionKey: string | undefined, context: string): Promise<string> {
  const key = await importKey(encryptionKey);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
    key,
    new TextEncoder().encode(plaintext),
  );
  return `${VERSION}.${base64UrlEncode(iv)}.${base64UrlEncode(new Uint8Array(ciphertext))}`;
}

export async function openSecret(sealed: string, encryptionKey: string | undefined, context: string): Promise<string> {
  const key = await importKey(encryptionKey);
  const [version, iv, ciphertext] = sealed.split(".");
  if (version !== VERSION || !iv || !ciphertext) throw new RelayError("misconfigured", "a stored secret has an unknown format");
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: base64UrlDecode(iv), additionalData: new TextEncoder().encode(context) },
      key,
      base64UrlDecode(ciphertext),
    );
    return new TextDecoder().decode(plaintext);
  } catch {
    throw new RelayError("misconfigured", "a stored secret does not open with the current ENCRYPTION_KEY");
  }
}
