import { routedUntil } from "./routing.js";
import { DEFAULT_API_URL, type StoredTenant, type TokenRecord } from "./schema.js";
import { MAX_TOKENS_PER_TENANT } from "./tokens.js";

/** What a `PUT` asks for, with the key already sealed: applied to whatever record is current when its turn comes. */
export interface TenantReplacement {
  config: Omit<StoredTenant, "api_url" | "api_key_sealed" | "tokens" | "incarnation" | "routed_until" | "created_at" | "updated_at">;
  /** The Braintrust base URL; undefined keeps the tenant's, as a stored key is kept, the default for a new tenant. */
  apiUrl: string | undefined;
  /** A sealed key stores it, null removes it (passthrough), undefined keeps what is stored. */
  sealedKey: string | null | undefined;
}

export function replaceTenant(existing: StoredTenant | undefined, change: TenantReplacement, now: string): StoredTenant {
  const sealed = change.sealedKey === undefined ? existing?.api_key_sealed : (change.sealedKey ?? undefined);
  const routed = routedUntil(existing, change.config, Date.parse(now));
  return {
    ...change.config,
    api_url: change.apiUrl ?? existing?.api_url ?? DEFAULT_API_URL,
    ...(sealed ? { api_key_sealed: sealed } : {}),
    ...(routed ? { routed_until: routed } : {}),
    // Ingest tokens only mean something with a stored key to deliver with.
    tokens: sealed ? (existing?.tokens ?? []) : [],
    // Replacing keeps the incarnation, a missing one included: queued and dead-lettered spans stay deliverable.
    incarnation: existing ? existing.incarnation : crypto.randomUUID(),
    created_at: existing?.created_at ?? now,
    updated_at: now,
  };
}

/** Why a token cannot be added; the admin API turns each into its error. */
export type TokenRefusal = "no_tenant" | "passthrough" | "full";

export function withToken(
  tenant: StoredTenant | undefined,
  token: TokenRecord,
): { tenant: StoredTenant; replaced: string | undefined } | TokenRefusal {
  if (!tenant) return "no_tenant";
  if (!tenant.api_key_sealed) return "passthrough";
  // A token issued under the same key is replaced: its issue was sent twice (a form pressed twice, a
  // call retried after its answer was lost), and only the last answer reaches the one who asked.
  const key = token.issue_key_sha256;
  const replaced = key === undefined ? undefined : tenant.tokens.find((t) => t.issue_key_sha256 === key);
  const kept = replaced ? tenant.tokens.filter((t) => t !== replaced) : tenant.tokens;
  if (kept.length >= MAX_TOKENS_PER_TENANT) return "full";
  return { tenant: { ...tenant, tokens: [...kept, token], updated_at: token.created_at }, replaced: replaced?.id };
}

/** The tenant without the token, or undefined when it has no such token. */
export function withoutToken(tenant: StoredTenant, tokenId: string, now: string): StoredTenant | undefined {
  if (!tenant.tokens.some((t) => t.id === tokenId)) return undefined;
  return { ...tenant, tokens: tenant.tokens.filter((t) => t.id !== tokenId), updated_at: now };
}
