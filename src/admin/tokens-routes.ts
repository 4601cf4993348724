import { Hono } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { authModeOf } from "../tenants/schema.js";
import { issueToken, MAX_TOKENS_PER_TENANT } from "../tenants/tokens.js";
import { existingTenant, tenantStore } from "./tenant-path.js";

/** `/admin/tenants/:tenant/tokens`: issue and revoke ingest tokens. */
export const tokensRoutes = new Hono<AppEnv>();

tokensRoutes.post("/:tenant/tokens", async (c) => {
  const tenant = await existingTenant(c);
  if (authModeOf(tenant) !== "stored_key") {
    throw new RelayError(
      "conflict",
      "this tenant has no stored API key: its clients send their own Braintrust key, so it takes no ingest tokens",
    );
  }
  if (tenant.tokens.length >= MAX_TOKENS_PER_TENANT) {
    throw new RelayError("conflict", `this tenant already has ${MAX_TOKENS_PER_TENANT} tokens: revoke one first`);
  }
  const now = new Date();
  const { token, record } = await issueToken(now);
  const { id, ...stored } = tenant;
  await tenantStore(c).put(id, { ...stored, tokens: [...tenant.tokens, record], updated_at: now.toISOString() });
  // The only time the token is shown.
  return c.json({ id: record.id, token, created_at: record.created_at }, 201);
});

tokensRoutes.delete("/:tenant/tokens/:id", async (c) => {
  const tenant = await existingTenant(c);
  const tokenId = c.req.param("id");
  if (!tenant.tokens.some((t) => t.id === tokenId)) throw new RelayError("not_found", `tenant ${tenant.id} has no token ${tokenId}`);
  const { id, ...stored } = tenant;
  await tenantStore(c).put(id, { ...stored, tokens: tenant.tokens.filter((t) => t.id !== tokenId), updated_at: new Date().toISOString() });
  return c.body(null, 204);
});
