import { Hono } from "hono";
import { z } from "zod";
import { DeadLetterStore } from "../deliver/dead-letters.js";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { sealSecret } from "../secrets/seal.js";
import { storedKeyContext } from "../tenants/credentials.js";
import { parseOrReject, type StoredTenant, tenantInputSchema } from "../tenants/schema.js";
import { jsonBody } from "./json-body.js";
import { existingTenant, tenantIdParam, tenantStore } from "./tenant-path.js";
import { tenantView } from "./views.js";

/** `/admin/tenants`: create or replace, read, list and delete tenants. */
export const tenantsRoutes = new Hono<AppEnv>();

/** Two R2 calls per 1000, so a call stays well inside a Worker's subrequest and time limits. */
const MAX_DEAD_LETTERS_DELETED_PER_CALL = 20_000;

const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).optional(),
});

tenantsRoutes.get("/", async (c) => {
  const query = parseOrReject(ListQuerySchema, c.req.query());
  return c.json(await tenantStore(c).list(query.cursor, query.limit));
});

tenantsRoutes.put("/:tenant", async (c) => {
  const id = tenantIdParam(c);
  const input = parseOrReject(tenantInputSchema(relayConfig(c.env).allowInsecureUpstream), await jsonBody(c));
  const store = tenantStore(c);
  const existing = await store.getFresh(id);
  const apiKey = input.braintrust.api_key;
  // Write-only key: a string replaces it, null removes it (passthrough), absent keeps it.
  const sealed =
    apiKey === null
      ? undefined
      : apiKey === undefined
        ? existing?.api_key_sealed
        : await sealSecret(apiKey, c.env.ENCRYPTION_KEY, storedKeyContext(id));
  const now = new Date().toISOString();
  const { braintrust, ...config } = input;
  const record: StoredTenant = {
    ...config,
    api_url: braintrust.api_url,
    ...(sealed ? { api_key_sealed: sealed } : {}),
    // Ingest tokens only mean something with a stored key to deliver with.
    tokens: sealed ? (existing?.tokens ?? []) : [],
    // Replacing keeps the incarnation, a missing one included: queued and dead-lettered spans stay deliverable.
    incarnation: existing ? existing.incarnation : crypto.randomUUID(),
    created_at: existing?.created_at ?? now,
    updated_at: now,
  };
  await store.put(id, record);
  return c.json(tenantView({ ...record, id }), existing ? 200 : 201);
});

tenantsRoutes.get("/:tenant", async (c) => c.json(tenantView(await existingTenant(c))));

tenantsRoutes.delete("/:tenant", async (c) => {
  const tenant = await existingTenant(c);
  // Its dead letters first, so a failure leaves the tenant there to delete again.
  if (!(await new DeadLetterStore(c.env.PAYLOADS).deleteOfTenant(tenant.id, MAX_DEAD_LETTERS_DELETED_PER_CALL))) {
    throw new RelayError(
      "conflict",
      `tenant ${tenant.id} has more dead letters than one call deletes: ${MAX_DEAD_LETTERS_DELETED_PER_CALL} were deleted, delete the tenant again for the rest`,
    );
  }
  await tenantStore(c).delete(tenant.id);
  return c.body(null, 204);
});
