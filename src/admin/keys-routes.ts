import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { errorText, logEvent } from "../log/events.js";
import { type ResealOutcome, resealStoredKey } from "../tenants/reseal.js";
import { parseOrReject } from "../tenants/schema.js";
import { jsonBody } from "./json-body.js";
import { otherMethods } from "./other-methods.js";
import { NO_QUERY, parseQuery } from "./query.js";
import { tenantPage } from "./tenant-path.js";

/** `/admin/keys`: what rotating ENCRYPTION_KEY needs (README, "Rotating ENCRYPTION_KEY"). */
export const keysRoutes = new Hono<AppEnv>();

/**
 * Tenants a call seals again at most: one KV list, then two calls to each one's Durable Object (a
 * read, then a write, or a check of KV's copy, which the object makes) make 41 subrequests, inside
 * the Workers Free plan's 50. The caller goes on with the cursor.
 */
export const MAX_RESEAL_PAGE = 20;

const ResealSchema = z.strictObject({
  limit: z.number().int().min(1).max(MAX_RESEAL_PAGE).default(MAX_RESEAL_PAGE),
  cursor: z.string().min(1).optional(),
});

/** Seals a page of tenants' stored keys again under ENCRYPTION_KEY: ids by outcome, and where to go on. */
keysRoutes.post("/reseal", async (c) => {
  parseQuery(c, NO_QUERY);
  const input = parseOrReject(ResealSchema, await jsonBody(c));
  const page = await tenantPage(c, input.cursor, input.limit);
  // Each tenant on its own: one whose object does not answer (overloaded, reset by a deploy) is named
  // under `failed`, to run again, and the page still answers with its cursor, so a rotation gets past it.
  const settled = await Promise.allSettled(page.tenants.map(({ id }) => resealStoredKey(c.env, id)));
  // The relay's own refusal (ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS malformed) is the operator's to
  // fix, for every tenant alike: answered as before, never as tenants whose object did not answer.
  const misconfigured = settled.find((result) => result.status === "rejected" && result.reason instanceof RelayError);
  if (misconfigured?.status === "rejected") throw misconfigured.reason;
  const outcomes = settled.map((result, i) => {
    const id = page.tenants[i]!.id;
    if (result.status === "fulfilled") return { id, outcome: result.value };
    logEvent({ event: "key_reseal_failed", tenant: id, error: errorText(result.reason) });
    return { id, outcome: "failed" as const };
  });
  const idsWith = (outcome: ResealOutcome | "failed") => outcomes.filter((o) => o.outcome === outcome).map((o) => o.id);
  return c.json({
    resealed: idsWith("resealed"),
    current: idsWith("current"),
    unreadable: idsWith("unreadable"),
    changed: idsWith("changed"),
    replica_behind: idsWith("replica_behind"),
    failed: idsWith("failed"),
    cursor: page.cursor,
  });
});

keysRoutes.all("/reseal", otherMethods("POST"));
