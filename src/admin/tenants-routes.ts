import { Hono } from "hono";
import { z } from "zod";
import { DeadLetterStore } from "../deliver/dead-letters.js";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { sealSecret } from "../secrets/seal.js";
import { tenantObject } from "../tenants/authoritative.js";
import { storedKeyContext } from "../tenants/credentials.js";
import { parseOrReject, tenantInputSchema } from "../tenants/schema.js";
import { jsonBody } from "./json-body.js";
import { existingTenant, forgetCachedTenant, noSuchTenant, tenantIdParam, tenantStore } from "./tenant-path.js";
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
  const { braintrust, ...config } = parseOrReject(tenantInputSchema(relayConfig(c.env).allowInsecureUpstream), await jsonBody(c));
  const apiKey = braintrust.api_key;
  // Sealed here, so the key never travels in plaintext to the tenant's Durable Object, which
  // applies the change to the record as it is when the change's turn comes.
  const sealedKey = typeof apiKey === "string" ? await sealSecret(apiKey, c.env.ENCRYPTION_KEY, storedKeyContext(id)) : apiKey;
  const { tenant, created } = await tenantObject(c.env, id).replace(id, { config, apiUrl: braintrust.api_url, sealedKey });
  forgetCachedTenant(c, id);
  return c.json(tenantView({ ...tenant, id }), created ? 201 : 200);
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
  if (!(await tenantObject(c.env, tenant.id).remove(tenant.id))) throw noSuchTenant(tenant.id);
  forgetCachedTenant(c, tenant.id);
  return c.body(null, 204);
});
