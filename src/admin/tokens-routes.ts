import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env.js";
import { quotedUnlessSecret } from "../http/caller-text.js";
import { RelayError } from "../http/errors.js";
import { tenantObject } from "../tenants/authoritative.js";
import type { TokenRefusal } from "../tenants/changes.js";
import { isRelayToken, isTokenId, MAX_TOKENS_PER_TENANT } from "../tenants/tokens.js";
import { optionalJsonBody } from "./json-body.js";
import { otherMethods } from "./other-methods.js";
import { parseOrReject } from "./parse.js";
import { entityTag, preconditionFailed, preconditionOf } from "./preconditions.js";
import { NO_QUERY, parseQuery } from "./query.js";
import { forgetCachedTenant, noSuchTenant, tenantIdParam } from "./tenant-path.js";

/** `/admin/tenants/:tenant/tokens`: issue and revoke ingest tokens. */
export const tokensRoutes = new Hono<AppEnv>();

function refusal(tenantId: string, reason: TokenRefusal): RelayError {
  switch (reason) {
    case "no_tenant":
      return noSuchTenant(tenantId);
    case "passthrough":
      return new RelayError(
        "conflict",
        "this tenant has no stored API key: its clients send their own Braintrust key, so it takes no ingest tokens; store a key (braintrust.api_key) to issue them",
      );
    case "full":
      return new RelayError("conflict", `this tenant already has ${MAX_TOKENS_PER_TENANT} tokens: revoke one first`);
  }
}

/** Names the id it was given, unless that may be a secret pasted in its place (a token, a key): that is not sent back. */
function noSuchToken(tenantId: string, tokenId: string): RelayError {
  const given = isRelayToken(tokenId)
    ? "with that id: it is a token itself; a token's id is the 16 hex digits after tbr_"
    : (quotedUnlessSecret(tokenId, isTokenId(tokenId)) ?? `with an id of ${tokenId.length} characters: a token's id is 16 hex digits`);
  return new RelayError("not_found", `tenant ${tenantId} has no token ${given}`);
}

/**
 * An issue's body, which may be left out. `issue_key`: a key the caller makes up for this issue;
 * issuing again under it replaces the token it issued, so an issue sent twice (a form pressed twice,
 * a call retried after its answer was lost) leaves one token, the one in the last answer.
 */
const IssueSchema = z.strictObject({
  issue_key: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,64}$/, "must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -")
    .optional(),
});

/** `POST /admin/tenants/:tenant/tokens`: the token itself, shown this once. */
export interface IssuedToken {
  id: string;
  token: string;
  created_at: string;
  /** The id of the token issued earlier under the same issue key, which this one replaced. */
  replaced?: string;
}

tokensRoutes.post("/:tenant/tokens", async (c) => {
  parseQuery(c, NO_QUERY);
  const id = tenantIdParam(c);
  const precondition = preconditionOf(c);
  const { issue_key: issueKey } = parseOrReject(IssueSchema, await optionalJsonBody(c));
  const issued = await tenantObject(c.env, id).addToken(id, issueKey, precondition);
  if ("refused" in issued) throw issued.refused === "precondition_failed" ? preconditionFailed(id, issued) : refusal(id, issued.refused);
  const replaced = issued.replaced === undefined ? {} : { replaced: issued.replaced };
  // Its id, never the token: the id is what a later revoke names.
  c.set("adminChange", {
    tenant: id,
    token_id: issued.id,
    ...(issued.replaced === undefined ? {} : { replaced_token_id: issued.replaced }),
  });
  forgetCachedTenant(c, id);
  c.header("etag", entityTag(issued.revision));
  // The only time the token is shown.
  return c.json({ id: issued.id, token: issued.token, created_at: issued.created_at, ...replaced } satisfies IssuedToken, 201);
});

tokensRoutes.delete("/:tenant/tokens/:id", async (c) => {
  parseQuery(c, NO_QUERY);
  const id = tenantIdParam(c);
  const tokenId = c.req.param("id");
  const revoked = await tenantObject(c.env, id).revokeToken(id, tokenId, preconditionOf(c));
  if ("refused" in revoked) throw preconditionFailed(id, revoked);
  if (!revoked.tenant) throw noSuchTenant(id);
  if (!revoked.found) throw noSuchToken(id, tokenId);
  c.set("adminChange", { tenant: id, token_id: tokenId });
  forgetCachedTenant(c, id);
  c.header("etag", entityTag(revoked.revision));
  return c.body(null, 204);
});

tokensRoutes.all("/:tenant/tokens", otherMethods("POST"));
tokensRoutes.all("/:tenant/tokens/:id", otherMethods("DELETE"));
