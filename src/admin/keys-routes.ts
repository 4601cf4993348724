import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env.js";
import { type ResealOutcome, resealStoredKey } from "../tenants/reseal.js";
import { eachTenantOnItsOwn } from "./each-tenant.js";
import { jsonBody } from "./json-body.js";
import { otherMethods } from "./other-methods.js";
import { parseOrReject } from "./parse.js";
import { refuseConditions } from "./preconditions.js";
import { NO_QUERY, parseQuery } from "./query.js";
import { tenantPage } from "./tenant-list.js";

/** `/admin/keys`: what rotating ENCRYPTION_KEY needs (README, "Rotating ENCRYPTION_KEY"). */
export const keysRoutes = new Hono<AppEnv>();

/**
 * Tenants a call seals again at most: one KV list, then two calls to each one's Durable Object (a
 * read, then a write, or a check of KV's copy, which the object makes) make 41 subrequests, inside
 * the Workers Free plan's 50. The caller goes on with the cursor.
 */
const MAX_RESEAL_PAGE = 20;

const ResealSchema = z.strictObject({
  limit: z.number().int().min(1).max(MAX_RESEAL_PAGE).default(MAX_RESEAL_PAGE),
  cursor: z.string().min(1).optional(),
});

/** `POST /admin/keys/reseal`: a page of tenants by what sealing their key again came to. */
export interface ResealAnswer {
  resealed: string[];
  current: string[];
  unreadable: string[];
  changed: string[];
  replica_behind: string[];
  /** Tenants whose Durable Object did not answer, to run again. */
  failed: string[];
  cursor: string | null;
}

/** Seals a page of tenants' stored keys again under ENCRYPTION_KEY: ids by outcome, and where to go on. */
keysRoutes.post("/reseal", async (c) => {
  parseQuery(c, NO_QUERY);
  refuseConditions(c);
  const input = parseOrReject(ResealSchema, await jsonBody(c));
  const page = await tenantPage(c, input.cursor, input.limit);
  // A tenant whose object does not answer is named under `failed`, to run again, and the page still
  // answers with its cursor, so a rotation gets past it.
  const { answered, failed } = await eachTenantOnItsOwn(
    page.tenants.map(({ id }) => id),
    (id) => resealStoredKey(c.env, id),
    "key_reseal_failed",
  );
  const idsWith = (outcome: ResealOutcome) => answered.filter((o) => o.answer === outcome).map((o) => o.tenant);
  return c.json({
    resealed: idsWith("resealed"),
    current: idsWith("current"),
    unreadable: idsWith("unreadable"),
    changed: idsWith("changed"),
    replica_behind: idsWith("replica_behind"),
    failed,
    cursor: page.cursor,
  } satisfies ResealAnswer);
});

keysRoutes.all("/reseal", otherMethods("POST"));
