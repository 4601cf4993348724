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

/**
 * The Worker's keys, as its env has them: new secrets are sealed under ENCRYPTION_KEY; during a
 * rotation, ENCRYPTION_KEY_PREVIOUS still opens what it sealed (empty or absent: no rotation).
 */
export interface SealingKeys {
  ENCRYPTION_KEY: string | undefined;
  ENCRYPTION_KEY_PREVIOUS?: string | undefined;
}

/** Which of the keys opened a secret: one the previous key opened is to be sealed again. */
export type SealedUnder = "current" | "previous";

/** A sealed value that neither key opens, or that is no envelope: the relay's configuration, or the value, is wrong. */
export class UnreadableSecret extends RelayError {
  constructor(message: string) {
    super("misconfigured", message);
  }
}

function importKey(encryptionKey: string | undefined, name: string): Promise<CryptoKey> {
  if (!encryptionKey) throw new RelayError("misconfigured", `${name} is not set: the relay cannot store or read API keys`);
  let key = keys.get(encryptionKey);
  if (!key) {
    const raw = encryptionKeyBytes(encryptionKey);
    if (!raw) throw new RelayError("misconfigured", `${name} must be 32 random bytes, base64-encoded`);
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(encryptionKey, key);
  }
  return key;
}

/**
 * The 32 bytes a key's text encodes, however it was written: base64 with or without its padding, with
 * spaces or line breaks, or base64url; undefined for any other text.
 */
export function encryptionKeyBytes(text: string): Uint8Array | undefined {
  let raw: Uint8Array;
  try {
    raw = base64UrlDecode(text.replace(/\s/g, ""));
  } catch {
    return undefined;
  }
  return raw.byteLength === 32 ? raw : undefined;
}

export async function sealSecret(plaintext: string, sealing: SealingKeys, context: string): Promise<string> {
  const key = await importKey(sealing.ENCRYPTION_KEY, "ENCRYPTION_KEY");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
    key,
    new TextEncoder().encode(plaintext),
  );
  return `${VERSION}.${base64UrlEncode(iv)}.${base64UrlEncode(new Uint8Array(ciphertext))}`;
}

export async function openSecret(sealed: string, sealing: SealingKeys, context: string): Promise<string> {
  return (await openSecretUnder(sealed, sealing, context)).plaintext;
}

/** The secret, and which key opened it: the current one is tried first, then the previous one, if any. */
export async function openSecretUnder(
  sealed: string,
  sealing: SealingKeys,
  context: string,
): Promise<{ plaintext: string; under: SealedUnder }> {
  const current = await importKey(sealing.ENCRYPTION_KEY, "ENCRYPTION_KEY");
  const [version, iv, ciphertext] = sealed.split(".");
  if (version !== VERSION || !iv || !ciphertext) throw new UnreadableSecret("a stored secret has an unknown format");
  const underCurrent = await decrypted(current, iv, ciphertext, context);
  if (underCurrent !== undefined) return { plaintext: underCurrent, under: "current" };
  // Read only when the current key fails: a malformed previous key shows where it is needed, not in every request.
  const previousKey = sealing.ENCRYPTION_KEY_PREVIOUS;
  const underPrevious = previousKey
    ? await decrypted(await importKey(previousKey, "ENCRYPTION_KEY_PREVIOUS"), iv, ciphertext, context)
    : undefined;
  if (underPrevious !== undefined) return { plaintext: underPrevious, under: "previous" };
  const tried = previousKey ? "ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS" : "the current ENCRYPTION_KEY";
  throw new UnreadableSecret(`a stored secret does not open with ${tried}`);
}

/** The plaintext, or undefined when the key does not open the secret (another key, context or forgery). */
async function decrypted(key: CryptoKey, iv: string, ciphertext: string, context: string): Promise<string | undefined> {
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: base64UrlDecode(iv), additionalData: new TextEncoder().encode(context) },
      key,
      base64UrlDecode(ciphertext),
    );
    return new TextDecoder().decode(plaintext);
  } catch {
    return undefined;
  }
}
