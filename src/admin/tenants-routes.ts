import { Hono } from "hono";
import { DeadLetterStore } from "../deliver/dead-letters.js";
import { isJsonObject } from "../encoding/json.js";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { sealSecret } from "../secrets/seal.js";
import { tenantObject } from "../tenants/authoritative.js";
import {
  BRAINTRUST_KEY_SHOWN,
  RELAY_SECRET_SHOWN,
  relaySecretIn,
  secretHeld,
  storedKeyContext,
  textsShown,
} from "../tenants/credentials.js";
import { preconditionHolds } from "../tenants/revision.js";
import { tenantInputSchema } from "../tenants/schema.js";
import type { ReplaceRefusal } from "../tenants/tenant-object.js";
import { jsonBody } from "./json-body.js";
import { otherMethods } from "./other-methods.js";
import { parseOrReject } from "./parse.js";
import { entityTag, preconditionFailed, preconditionOf } from "./preconditions.js";
import { NO_QUERY, pageQuery, parseQuery } from "./query.js";
import { adminTokenMasked } from "./require-admin.js";
import { tenantPage } from "./tenant-list.js";
import { forgetCachedTenant, noSuchTenant, tenantIdParam } from "./tenant-path.js";
import { tenantView } from "./views.js";

/** `/admin/tenants`: create or replace, read, list and delete tenants. */
export const tenantsRoutes = new Hono<AppEnv>();

/** Two R2 calls per 1000, so a call stays well inside a Worker's subrequest and time limits. */
const MAX_DEAD_LETTERS_DELETED_PER_CALL = 20_000;

const ListQuerySchema = pageQuery(1000, 100);

tenantsRoutes.get("/", async (c) => {
  const query = parseQuery(c, ListQuerySchema);
  return c.json(await tenantPage(c, query.cursor, query.limit));
});

// Each write may be made conditional on what the writer last read, with If-Match (or, to create
// only, If-None-Match: *) and the ETag of a GET or PUT: a read-modify-write then never overwrites
// a change made in between, which it would not have seen.
tenantsRoutes.put("/:tenant", async (c) => {
  parseQuery(c, NO_QUERY);
  const id = tenantIdParam(c);
  // A hex admin token has a tenant id's shape; as one, or as a part of one, it would sit in KV keys, ingest URLs and logs.
  if (adminTokenMasked(id, c.env) !== id)
    throw new RelayError("invalid_field", "tenant: the admin token cannot be a tenant id, nor part of one", { field: "tenant" });
  const precondition = preconditionOf(c);
  const body = await jsonBody(c);
  const { braintrust, ...config } = parseOrReject(tenantInputSchema(relayConfig(c.env).allowInsecureUpstream), body);
  // Left out, the URL stays the tenant's, as the key does: the schema's default is a new tenant's.
  const urlGiven = isJsonObject(body) && isJsonObject(body.braintrust) && Object.hasOwn(body.braintrust, "api_url");
  const apiKey = braintrust.api_key;
  if (typeof apiKey === "string") refuseRelaySecretAsKey(apiKey, c.env);
  refuseSecretsShown(config, braintrust.api_url, apiKey ?? undefined, c.env);
  // Sealed here, so the key never travels in plaintext to the tenant's Durable Object, which
  // applies the change to the record as it is when the change's turn comes.
  const sealedKey = typeof apiKey === "string" ? await sealSecret(apiKey, c.env, storedKeyContext(id)) : apiKey;
  const replaced = await tenantObject(c.env, id).replace(
    id,
    { config, apiUrl: urlGiven ? braintrust.api_url : undefined, sealedKey },
    precondition,
  );
  if ("refused" in replaced) throw replaceRefused(id, replaced);
  // Whether the call put a stored key or removed it: the key itself, sealed or not, never.
  c.set("adminChange", { tenant: id, ...(apiKey === undefined ? {} : { stored_key: apiKey === null ? "removed" : "set" }) });
  forgetCachedTenant(c, id);
  c.header("etag", entityTag(replaced.revision));
  return c.json(tenantView({ ...replaced.tenant, id }), replaced.created ? 201 : 200);
});

/**
 * A key to store is sent with every delivery, to Braintrust or whoever runs the tenant's api_url:
 * the relay's own secrets, pasted there by mistake (the admin token is what the console's login just
 * took; ENCRYPTION_KEY sits beside it among the Worker's secrets), would leave it. Ingest refuses
 * them as a passthrough tenant's key for the same reason.
 */
function refuseRelaySecretAsKey(apiKey: string, env: Env): void {
  const secret = relaySecretIn(apiKey, env);
  if (secret === undefined) return;
  throw new RelayError(
    "invalid_field",
    `braintrust.api_key: ${RELAY_SECRET_SHOWN[secret]} is not a Braintrust API key, and never leaves the relay: give the tenant's Braintrust key`,
    {
      field: "braintrust.api_key",
    },
  );
}

/**
 * A tenant's parents and api_url are kept in KV and shown by every read as they are, and go with
 * every delivery: a parent as `x-bt-parent`, written in each attempt's log line, the api_url as its
 * address. The relay's own secrets, or the key the PUT stores, pasted after a `project_name:` or into
 * the URL's path (`…/sk-…`, or percent-encoded) would go everywhere a key never does, and be returned
 * by the API that never returns the key. So would one written into a route's match or a redaction
 * rule (a pattern to mask the key by, a replacement), kept and shown as they are too. A key kept
 * from before is the tenant's object's to check.
 */
function refuseSecretsShown(
  config: Omit<Parameters<typeof textsShown>[0], "api_url">,
  apiUrl: string,
  apiKey: string | undefined,
  env: Env,
): void {
  for (const [field, text] of textsShown({ ...config, api_url: apiUrl })) {
    const held = secretHeld(text, apiKey, env);
    if (held !== undefined) throw secretShown(field, held);
  }
}

/** A setting refused for the secret it holds, said without the setting; `reason` when that is the tenant's stored key. */
function secretShown(field: string, held: string, reason?: "key_shown"): RelayError {
  const message =
    field === "braintrust.api_url"
      ? `${field}: holds ${held}, which would go with every delivery and be kept and shown as it is: give Braintrust's base URL, and the key in braintrust.api_key`
      : field === "parent" || /^routes\.\d+\.parent$/.test(field)
        ? `${field}: holds ${held}, which would go with every delivery, in its log line and in storage as it is: give the Braintrust project or experiment`
        : `${field}: holds ${held}, which would be kept in storage and shown by every read as it is: match or mask keys by their shape (the built-in "api_keys" masks Braintrust's), never by the key itself`;
  return new RelayError("invalid_field", message, { field, ...(reason ? { reason } : {}) });
}

// A read is conditional too (RFC 9110, 13.2.1): If-Match that fails is a 412, If-None-Match that
// matches a 304, and a header that is neither is the 400 a write gets, not a condition left unread.
tenantsRoutes.get("/:tenant", async (c) => {
  parseQuery(c, NO_QUERY);
  const id = tenantIdParam(c);
  const { ifMatch, ifNoneMatch } = preconditionOf(c);
  const read = await tenantObject(c.env, id).readRevision(id);
  if (!read) throw noSuchTenant(id);
  c.header("etag", entityTag(read.revision));
  if (!preconditionHolds(ifMatch === undefined ? {} : { ifMatch }, read.revision)) {
    throw new RelayError(
      "precondition_failed",
      `tenant ${id} is at ${entityTag(read.revision)}, which the request's If-Match refuses: read it without If-Match to see it as it is now`,
    );
  }
  if (!preconditionHolds(ifNoneMatch === undefined ? {} : { ifNoneMatch }, read.revision)) return c.body(null, 304);
  return c.json(tenantView({ ...read.tenant, id }));
});

tenantsRoutes.delete("/:tenant", async (c) => {
  parseQuery(c, NO_QUERY);
  const id = tenantIdParam(c);
  const precondition = preconditionOf(c);
  const object = tenantObject(c.env, id);
  const read = await object.readRevision(id);
  if (!read) throw noSuchTenant(id);
  // Checked before the dead letters go too, and again, atomically, when the record does.
  if (!preconditionHolds(precondition, read.revision))
    throw preconditionFailed(id, { refused: "precondition_failed", revision: read.revision });
  // Its dead letters first, so a failure leaves the tenant there to delete again.
  const deleted = await new DeadLetterStore(c.env.PAYLOADS).deleteOfTenant(id, MAX_DEAD_LETTERS_DELETED_PER_CALL);
  // Their spans are gone for good, whatever the call answers next: the admin_change line counts them.
  const change = { tenant: id, dead_letters: deleted.deadLetters, spans: deleted.spans };
  if (deleted.deadLetters > 0) c.set("adminChange", change);
  if (!deleted.done) {
    throw new RelayError(
      "conflict",
      `tenant ${id} has more dead letters than one call deletes: ${MAX_DEAD_LETTERS_DELETED_PER_CALL} were deleted, delete the tenant again for the rest`,
    );
  }
  const removed = await object.remove(id, precondition);
  // Changed while its dead letters were being deleted: those are gone, the tenant is not.
  if (typeof removed === "object") throw preconditionFailed(id, removed, "its dead letters were deleted, the tenant was not");
  if (!removed) throw noSuchTenant(id);
  c.set("adminChange", change);
  forgetCachedTenant(c, id);
  return c.body(null, 204);
});

tenantsRoutes.all("/", otherMethods("GET, HEAD"));
tenantsRoutes.all("/:tenant", otherMethods("GET, HEAD, PUT, DELETE"));

/**
 * Why the tenant's object did not apply the PUT, as the API says it: a refusal over the stored key
 * with its `reason`, which a client acts on, as the CLI and the console do, whatever the words say.
 */
function replaceRefused(id: string, replaced: ReplaceRefusal): RelayError {
  switch (replaced.refused) {
    case "precondition_failed":
      return preconditionFailed(id, replaced);
    case "key_shown":
      // The key the same PUT gives is the client's to find, as refuseSecretsShown finds it: no reason, as there.
      return secretShown(replaced.field, BRAINTRUST_KEY_SHOWN[replaced.key], replaced.key === "stored" ? "key_shown" : undefined);
    case "key_for_another_url":
      return new RelayError(
        "invalid_field",
        `braintrust.api_key: tenant ${id}'s stored key was given for its api_url, not the one this PUT gives: give the key again to send it there, or make the tenant passthrough`,
        { field: "braintrust.api_key", reason: replaced.refused },
      );
    case "key_unreadable":
      return new RelayError(
        "invalid_field",
        `braintrust.api_key: tenant ${id}'s stored key opens with neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS, so whether this PUT's api_url and parents hold it cannot be told: give the key again, or make the tenant passthrough`,
        { field: "braintrust.api_key", reason: replaced.refused },
      );
  }
}
