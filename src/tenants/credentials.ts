import { base64Encode, base64UrlEncode } from "../encoding/bytes.js";
import { bearerToken } from "../http/bearer.js";
import { repeatable } from "../http/caller-text.js";
import { RelayError } from "../http/errors.js";
import { adminTokenInForce } from "../secrets/admin-token.js";
import { containsSecret } from "../secrets/compare.js";
import { encryptionKeyBytes, openSecret, type SealingKeys } from "../secrets/seal.js";
import { isAcceptedKey } from "./accepted-keys.js";
import type { Match, Redact } from "./processing-schema.js";
import { ApiKeySchema, authModeOf, type StoredTenant, type Tenant } from "./schema.js";
import { holdsRelayToken, isRelayToken, tokenIsValid } from "./tokens.js";
import { percentDecoded } from "./upstream-url.js";

/** The Braintrust API key that a request's spans are delivered with, and where it came from. */
export interface BraintrustCredential {
  mode: "stored_key" | "passthrough";
  apiKey: string;
  /**
   * Whether the request gets the tenant's budget, full limits and durable delivery: a stored key
   * always (the relay checked its own token); a passthrough key once Braintrust has accepted it.
   */
  trusted: boolean;
}

/**
 * Opened stored keys, per isolate, by tenant and sealed form: a rotated key is a new sealed value,
 * so nothing stale is ever used, and each request skips an AES-GCM decryption. The tenant is part
 * of the cache key because the seal is bound to it: a sealed key copied into another tenant's
 * record must fail to open there, cache or not. Plaintext stays in this isolate's memory only, as
 * it would for the duration of every request anyway.
 */
const openedKeys = new Map<string, Promise<string>>();
const MAX_OPENED_KEYS = 1_000;

/** The tenant's Braintrust key, opened; undefined for a passthrough tenant. */
export function openStoredKey(tenant: Tenant, sealing: SealingKeys): Promise<string> | undefined {
  const sealed = tenant.api_key_sealed;
  if (!sealed) return undefined;
  const cacheKey = `${tenant.id}\n${sealed}`;
  let opened = openedKeys.get(cacheKey);
  if (!opened) {
    if (openedKeys.size >= MAX_OPENED_KEYS) openedKeys.clear();
    opened = openSecret(sealed, sealing, storedKeyContext(tenant.id));
    opened.catch(() => openedKeys.delete(cacheKey));
    openedKeys.set(cacheKey, opened);
  }
  return opened;
}

/** The Worker's secrets that are the relay's own, as its env has them: none may leave it. */
export interface RelaySecrets {
  ADMIN_TOKEN?: string;
  ENCRYPTION_KEY?: string;
  ENCRYPTION_KEY_PREVIOUS?: string;
}

/**
 * Which of the relay's own secrets `text` holds, if any: an ingest token (`tbr_…`), the admin token
 * or the key that seals stored secrets. None may leave the relay as a Braintrust key, whoever runs
 * the tenant's api_url, whole or wrapped: in quotes, after `token=`, before a comma, as a value
 * copied out of JSON or a .env file would be. `text` is a bearer, an API key or a setting kept and
 * shown (textsShown): each secret is looked for in time linear in it (containsSecret). Read as a
 * server may read it (secretForms): percent-decoded (`%2B` for a base64 key's `+`, as
 * OTEL_EXPORTER_OTLP_HEADERS writes it) and in either case (a URL's host is lower-cased).
 */
export function relaySecretIn(text: string, env: RelaySecrets): RelaySecret | undefined {
  const forms = secretForms(text);
  if (forms.some((form) => isRelayToken(form) || holdsRelayToken(form))) return "ingest token";
  const adminToken = adminTokenInForce(env)?.toLowerCase();
  if (adminToken && forms.some((form) => containsSecret(form, adminToken))) return "admin token";
  for (const key of [env.ENCRYPTION_KEY, env.ENCRYPTION_KEY_PREVIOUS]) {
    const keyForms = key ? encryptionKeyForms(key).map((form) => form.toLowerCase()) : [];
    if (keyForms.some((keyForm) => forms.some((form) => containsSecret(form, keyForm)))) return "encryption key";
  }
  return undefined;
}

/**
 * Text as the secret checks read it: as it is and percent-decoded, each lower-cased, as secrets are
 * compared with it. A secret with its case folded is still one: its case is a bit a character to guess.
 */
function secretForms(text: string): string[] {
  const decoded = percentDecoded(text);
  return decoded === text ? [text.toLowerCase()] : [text.toLowerCase(), decoded.toLowerCase()];
}

/**
 * The ways of writing the key's bytes, base64 and base64url, without padding (which a padded one
 * holds); none for a key that is not 32 bytes, which seals nothing (requests answer 503 until it is
 * fixed) and, short, would be found in keys that have nothing to do with it.
 */
function encryptionKeyForms(key: string): string[] {
  const bytes = encryptionKeyBytes(key);
  if (!bytes) return [];
  return [base64Encode(bytes).replace(/=+$/, ""), base64UrlEncode(bytes)];
}

type RelaySecret = "ingest token" | "admin token" | "encryption key";

/** A relay secret as an answer names it: never by its value. */
export const RELAY_SECRET_SHOWN: Record<RelaySecret, string> = {
  "ingest token": "a relay ingest token (tbr_…)",
  "admin token": "the relay's admin token",
  "encryption key": "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)",
};

/** The Braintrust key a refusal names as held: the one the same PUT gives, or the one the tenant keeps from before. */
export const BRAINTRUST_KEY_SHOWN = {
  given: "the Braintrust key braintrust.api_key gives",
  stored: "the tenant's stored Braintrust key",
} as const;

/**
 * Which secret a tenant's setting kept and shown in plaintext (a parent, the api_url, a console field
 * shown again) holds, as a refusal names it: one of the relay's own, or `apiKey`, the Braintrust key
 * given beside it. Read as relaySecretIn reads text: percent-decoded, as a server reads a URL, and in
 * either case, as a URL parser writes a host.
 */
export function secretHeld(text: string, apiKey: string | undefined, env: RelaySecrets): string | undefined {
  const secret = relaySecretIn(text, env);
  if (secret !== undefined) return RELAY_SECRET_SHOWN[secret];
  return apiKey !== undefined && keyHeld(text, apiKey) ? BRAINTRUST_KEY_SHOWN.given : undefined;
}

/**
 * Whether `text` holds `apiKey`, read as secretForms reads it. A key as short as caller text is
 * repeated whatever it holds is no secret, and would be found in any text.
 */
function keyHeld(text: string, apiKey: string): boolean {
  const key = apiKey.toLowerCase();
  return !repeatable(apiKey, false) && secretForms(text).some((form) => form.includes(key));
}

/**
 * The settings a tenant keeps and every read shows in plaintext, by the admin API's name for each:
 * its parents and its api_url, then the text of its routes' matches and of its redaction rules.
 */
export function textsShown(
  tenant: Pick<StoredTenant, "parent" | "routes" | "api_url"> & { redact: Pick<Redact, "keys" | "values"> },
): Array<[string, string]> {
  const { keys, values } = tenant.redact;
  return [
    ["parent", tenant.parent],
    ...tenant.routes.map((r, i): [string, string] => [`routes.${i}.parent`, r.parent]),
    ["braintrust.api_url", tenant.api_url],
    ...tenant.routes.flatMap((r, i) => matchTexts(r.match, `routes.${i}.match`)),
    ...keys.flatMap(
      (rule, i): Array<[string, string]> => [
        [`redact.keys.${i}.pattern`, rule.pattern],
        [`redact.keys.${i}.replacement`, rule.replacement],
      ],
    ),
    ...values.flatMap(
      (rule, i): Array<[string, string]> =>
        typeof rule === "string"
          ? []
          : [
              [`redact.values.${i}.pattern`, rule.pattern],
              [`redact.values.${i}.replacement`, rule.replacement],
            ],
    ),
  ];
}

/** The text a route's match holds, by its place under `at`; its nesting is bounded by the schema (MAX_MATCH_NESTING). */
function matchTexts(match: Match, at: string): Array<[string, string]> {
  if ("all" in match) return match.all.flatMap((inner, i) => matchTexts(inner, `${at}.all.${i}`));
  if ("any" in match) return match.any.flatMap((inner, i) => matchTexts(inner, `${at}.any.${i}`));
  const texts: Array<[string, string]> = [[`${at}.field`, match.field]];
  if (typeof match.equals === "string") texts.push([`${at}.equals`, match.equals]);
  if (match.prefix !== undefined) texts.push([`${at}.prefix`, match.prefix]);
  for (const [i, value] of (match.one_of ?? []).entries()) if (typeof value === "string") texts.push([`${at}.one_of.${i}`, value]);
  return texts;
}

/**
 * The setting of the tenant (textsShown) holding its own stored key, opened; undefined when none
 * does, or when it has no key. Rejects as openStoredKey does.
 */
export async function storedKeyShownBy(tenant: Tenant, sealing: SealingKeys): Promise<string | undefined> {
  const key = await openStoredKey(tenant, sealing);
  if (key === undefined) return undefined;
  return textsShown(tenant).find(([, text]) => keyHeld(text, key))?.[0];
}

/** Additional data a tenant's sealed API key is bound to (see secrets/seal.ts). */
export function storedKeyContext(tenantId: string): string {
  return `tenant-api-key:${tenantId}`;
}

function bearerOf(authorization: string | undefined): string {
  const token = bearerToken(authorization);
  if (!token) {
    // The README's OTEL_EXPORTER_OTLP_TRACES_HEADERS example, copied into the gateway's header field as it stands.
    if (/^Bearer%20/i.test(authorization ?? "")) {
      throw new RelayError(
        "unauthenticated",
        "an Authorization header with %20 after Bearer, the space URL-encoded as OTEL_EXPORTER_OTLP_HEADERS writes it: a header's own value is Bearer, a space, then the token",
      );
    }
    const what = authorization?.trim() ? "an Authorization header that is not one bearer token" : "missing credentials";
    throw new RelayError("unauthenticated", `${what}: send Authorization: Bearer <token>`);
  }
  return token;
}

/**
 * Stored-key tenants authenticate with an ingest token and deliver with the stored key.
 * Passthrough tenants send their own Braintrust key, which goes upstream as is and is checked by
 * Braintrust; a relay token, the admin token or an ENCRYPTION_KEY sent to a passthrough tenant is
 * refused here rather than leaked upstream.
 * Any key-shaped bearer passes here, so a passthrough key is trusted only once Braintrust accepted it.
 */
export async function authenticateIngest(
  tenant: Tenant,
  authorization: string | undefined,
  env: SealingKeys & { ADMIN_TOKEN?: string },
): Promise<BraintrustCredential> {
  const bearer = bearerOf(authorization);
  if (authModeOf(tenant) === "stored_key") {
    if (!(await tokenIsValid(tenant, bearer))) {
      // A Braintrust key (sk-…) comes from a gateway set up as for Braintrust itself. Anything else may be
      // anything (the admin token), so the answer says what the tenant takes, not what was sent.
      const message = isRelayToken(bearer)
        ? "invalid ingest token for this tenant"
        : bearer.startsWith("sk-")
          ? "this tenant takes an ingest token the relay issued (tbr_…), not a Braintrust API key: the relay keeps the tenant's key, and clients send the token"
          : "this tenant takes an ingest token the relay issued (tbr_…), and what was sent is not one: send that token";
      throw new RelayError("unauthenticated", message);
    }
    return { mode: "stored_key", apiKey: (await openStoredKey(tenant, env))!, trusted: true };
  }
  // A gateway set up with the wrong variable, or an operator trying the endpoint: the relay's master
  // credential would land in the logs of the tenant's api_url, which may be anyone's.
  // First: the check for relay secrets reads every window of the bearer, so it takes one of a key's length alone.
  if (!ApiKeySchema.safeParse(bearer).success) throw new RelayError("unauthenticated", "the bearer credential is not a valid API key");
  const secret = relaySecretIn(bearer, env);
  if (secret === "ingest token") {
    throw new RelayError("unauthenticated", "this tenant forwards the client's own Braintrust API key: send that key, not a relay token");
  }
  if (secret !== undefined) {
    throw new RelayError(
      "unauthenticated",
      `${RELAY_SECRET_SHOWN[secret]} is not a Braintrust API key, and never leaves the relay: send the client's own Braintrust key`,
    );
  }
  return {
    mode: "passthrough",
    apiKey: bearer,
    trusted: await isAcceptedKey({ tenantId: tenant.id, incarnation: tenant.incarnation, apiUrl: tenant.api_url, apiKey: bearer }),
  };
}
