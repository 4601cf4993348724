import { base64UrlEncode, hex } from "../encoding/bytes.js";
import { matchesDigest, sha256Hex } from "../secrets/compare.js";
import type { StoredTenant, TokenRecord } from "./schema.js";

/**
 * Ingest tokens: `tbr_<id>_<secret>`. The id is public (the admin API lists it, and revokes by it)
 * and lets a request find its record without trying every hash; the 256-bit secret is never
 * stored, only the SHA-256 of the whole token. A fast hash suffices for random secrets this long.
 */
const TOKEN = /^tbr_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
const TOKEN_ID = /^[0-9a-f]{16}$/;
const TOKEN_WITHIN = /tbr_[0-9a-f]{16}_/;
const PREFIX = "tbr_";

/** At most this many live tokens per tenant, so a tenant record stays small. */
export const MAX_TOKENS_PER_TENANT = 20;

/** A new token and its record; `issueKey`: the key it is issued under, if any (see withToken). */
export async function issueToken(now: Date, issueKey?: string): Promise<{ token: string; record: TokenRecord }> {
  const id = hex(crypto.getRandomValues(new Uint8Array(8)));
  const token = `${PREFIX}${id}_${base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)))}`;
  const record: TokenRecord = { id, sha256: await sha256Hex(token), created_at: now.toISOString() };
  return { token, record: issueKey === undefined ? record : { ...record, issue_key_sha256: await sha256Hex(issueKey) } };
}

/** True for anything shaped like a relay token, so it is never mistaken for a Braintrust key and sent on. */
export function isRelayToken(bearer: string): boolean {
  return bearer.startsWith(PREFIX);
}

/**
 * True for text holding a relay token anywhere: in quotes, after `token=`, before a comma, as a
 * value copied out of JSON or a .env file would be.
 */
export function holdsRelayToken(text: string): boolean {
  return TOKEN_WITHIN.test(text);
}

/** Whether `id` has the shape of a token's id, whether or not a token has it. */
export function isTokenId(id: string): boolean {
  return TOKEN_ID.test(id);
}

export async function tokenIsValid(tenant: StoredTenant, token: string): Promise<boolean> {
  const id = TOKEN.exec(token)?.[1];
  const record = id === undefined ? undefined : tenant.tokens.find((t) => t.id === id);
  if (!record) return false;
  return matchesDigest(token, record.sha256);
}
