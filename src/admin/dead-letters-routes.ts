import { type Context, Hono } from "hono";
import { z } from "zod";
import { type DeadLetter, DeadLetterStore, isDeadLetterId, type Replay } from "../deliver/dead-letters.js";
import type { DeliveryMessage } from "../deliver/message.js";
import { EnqueueFailed, enqueue } from "../deliver/queue.js";
import { claimedMessages, claimTenantReplays, releaseReplays } from "../deliver/replay-claims.js";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { quoted, quotedUnlessSecret } from "../http/caller-text.js";
import { RelayError } from "../http/errors.js";
import { flushStatsLater } from "../stats/flush.js";
import { countSpans } from "../stats/recorder.js";
import { authoritativeTenant } from "../tenants/authoritative.js";
import type { DeadLetterClaim } from "../tenants/dead-letter-claims.js";
import { TENANT_ID } from "../tenants/schema.js";
import { type CursorList, givenCursor, storeCursor } from "./cursors.js";
import { eachTenantOnItsOwn } from "./each-tenant.js";
import { jsonBody } from "./json-body.js";
import { MAX_REPLAY_PAGE } from "./limits.js";
import { otherMethods } from "./other-methods.js";
import { parseOrReject } from "./parse.js";
import { refuseConditions } from "./preconditions.js";
import { NO_QUERY, pageQuery, parseQuery } from "./query.js";
import { noSuchTenant } from "./tenant-path.js";

/** `/admin/dead-letters`: see, replay and delete deliveries no retry could complete. */
export const deadLettersRoutes = new Hono<AppEnv>();

const tenantFilter = z.string().regex(TENANT_ID, "must be a tenant id").optional();

// tenant first: a 400 for a parameter the call does not take lists them in this order.
const ListQuerySchema = z.object({ tenant: tenantFilter, ...pageQuery(1000, 100).shape });

/**
 * Replay one dead letter by id, a tenant's, or all (`{}`), a page of up to `limit` per call. An id
 * with any of the others is two requests in one, which the relay does not guess between.
 */
const ReplaySchema = z
  .strictObject({
    id: z.string().min(1).optional(),
    tenant: tenantFilter,
    limit: z.number().int().min(1).max(MAX_REPLAY_PAGE).optional(),
    cursor: z.string().min(1).optional(),
  })
  .refine(({ id, tenant, limit, cursor }) => id === undefined || [tenant, limit, cursor].every((field) => field === undefined), {
    path: ["id"],
    message: "names the one dead letter to replay: tenant, limit and cursor go without it",
  });

/** `GET /admin/dead-letters`. */
export interface DeadLetterList {
  dead_letters: DeadLetter[];
  cursor: string | null;
}

/** `POST /admin/dead-letters/replay`: the ids of the dead letters, by what became of each. */
export interface ReplayAnswer {
  replayed: string[];
  orphaned: string[];
  replaying: string[];
  /** Of tenants whose Durable Object did not answer, left as they were. */
  unavailable: string[];
  cursor: string | null;
}

/** Everyone's dead letters, or a tenant's: the list a cursor goes on with. */
function listOf(tenant: string | undefined): CursorList {
  return `dead-letters/${tenant ?? ""}`;
}

/**
 * For a tenant's page with nothing on it: a tenant that does not exist is a mistyped id, not "nothing
 * there", so 404. One deleted since that kept dead letters has them on its page (a replay names them
 * orphaned, to delete), so it never comes here.
 */
async function refuseUnknownTenant(env: Env, tenant: string): Promise<void> {
  if (!(await authoritativeTenant(env, tenant))) throw noSuchTenant(tenant);
}

deadLettersRoutes.get("/", async (c) => {
  const query = parseQuery(c, ListQuerySchema);
  const list = listOf(query.tenant);
  const page = await new DeadLetterStore(c.env.PAYLOADS).list({ ...query, cursor: await storeCursor(c, list, query.cursor) });
  if (query.tenant && !query.cursor && page.dead_letters.length === 0) await refuseUnknownTenant(c.env, query.tenant);
  return c.json({ ...page, cursor: await givenCursor(c, list, page.cursor) } satisfies DeadLetterList);
});

deadLettersRoutes.post("/replay", async (c) => {
  parseQuery(c, NO_QUERY);
  refuseConditions(c);
  const input = parseOrReject(ReplaySchema, await jsonBody(c));
  const store = new DeadLetterStore(c.env.PAYLOADS);
  let replays: Replay[];
  let cursor: string | null = null;
  if (input.id) {
    const replay = await store.replay(input.id);
    if (!replay) throw noSuchDeadLetter(input.id);
    replays = [replay];
  } else {
    const list = listOf(input.tenant);
    const page = await store.replayPage({
      ...(input.tenant ? { tenant: input.tenant } : {}),
      cursor: await storeCursor(c, list, input.cursor),
      limit: input.limit ?? MAX_REPLAY_PAGE,
    });
    if (input.tenant && page.replays.length === 0) await refuseUnknownTenant(c.env, input.tenant);
    replays = page.replays;
    cursor = await givenCursor(c, list, page.cursor);
  }
  const { claims, unavailable } = await claimReplays(c.env, replays, input.id === undefined && input.tenant === undefined);
  const withOutcome = (outcome: DeadLetterClaim["outcome"]) =>
    replays.filter((replay) => claims.get(replay)?.outcome === outcome).map(({ message }) => message);
  if (input.id) refuseUnclaimed(input.id, replays[0]!, claims.get(replays[0]!));
  const claimed = claimedMessages(replays, claims);
  await enqueueClaimed(c, claimed, input.tenant ?? (input.id ? replays[0]!.message.tenant : undefined));
  return c.json({
    replayed: claimed.map(deadLetterId),
    orphaned: withOutcome("orphaned").map(deadLetterId),
    replaying: withOutcome("replaying").map(deadLetterId),
    unavailable: unavailable.map(deadLetterId),
    cursor,
  } satisfies ReplayAnswer);
});

deadLettersRoutes.delete("/:id", async (c) => {
  parseQuery(c, NO_QUERY);
  refuseConditions(c);
  const id = c.req.param("id");
  const deleted = await new DeadLetterStore(c.env.PAYLOADS).delete(id);
  if (!deleted) throw noSuchDeadLetter(id);
  // Its spans are gone for good: the line says how many.
  c.set("adminChange", { tenant: deleted.tenant, dead_letters: 1, spans: deleted.spans });
  return c.body(null, 204);
});

// `/replay` before `/:id`, which would take it for an id.
deadLettersRoutes.all("/", otherMethods("GET, HEAD"));
deadLettersRoutes.all("/replay", otherMethods("POST"));
deadLettersRoutes.all("/:id", otherMethods("DELETE"));

/**
 * Claims the replays at their tenants' objects, each tenant on its own: on a page of everyone's dead
 * letters, a tenant whose object does not answer (overloaded, reset by a deploy) has its dead letters
 * named `unavailable`, left as they were for a later replay, and the others' go on, with the cursor,
 * even when the page held that tenant's alone (R2 lists by tenant, so a backlog fills pages with one
 * tenant's): a 503 would give no cursor, and every page after it would wait for that object. A replay
 * of one tenant's (by id or tenant) in which its object did not answer replays nothing: a 503, to try again.
 */
async function claimReplays(
  env: Env,
  replays: Replay[],
  everyones: boolean,
): Promise<{ claims: Map<Replay, DeadLetterClaim>; unavailable: DeliveryMessage[] }> {
  const byTenant = Map.groupBy(replays, (replay) => replay.message.tenant);
  const { answered, failed } = await eachTenantOnItsOwn(
    [...byTenant.keys()],
    (tenant) => claimTenantReplays(env, tenant, byTenant.get(tenant)!),
    "replay_claim_failed",
  );
  if (!everyones && failed.length > 0) {
    throw new RelayError(
      "unavailable",
      `tenant ${failed[0]}'s Durable Object did not answer to claim its dead letters: nothing was replayed, to replay again`,
    );
  }
  return {
    claims: new Map(answered.flatMap(({ answer }) => answer)),
    unavailable: failed.flatMap((tenant) => byTenant.get(tenant)!.map(({ message }) => message)),
  };
}

/** A replay by id of a dead letter it did not claim: 409, saying why. */
function refuseUnclaimed(id: string, { message }: Replay, claim: DeadLetterClaim | undefined): void {
  if (claim?.outcome === "orphaned") {
    const fate = claim.tenant === "created_again" ? "was deleted and created again since" : "was deleted";
    throw new RelayError(
      "conflict",
      `dead letter ${quoted(id)} was kept for tenant ${message.tenant}, which ${fate}: it is not replayed, so that its spans never go out with another tenant's key or URL; delete it`,
    );
  }
  if (claim?.outcome === "replaying") {
    throw new RelayError(
      "conflict",
      `dead letter ${quoted(id)} is being replayed already, since ${claim.since}: its spans are on the delivery queue, and it goes once they are delivered, or stays with the new reason should they fail again`,
    );
  }
}

/**
 * Queues the replays this call claimed, and counts them there, and in the call's admin_change line
 * with the tenant they were asked for (none for everyone's). Those of a batch the queue refused
 * let go of their claims, their dead letters left as they were, so that the next replay sends them;
 * those it took keep theirs, so that they do not go twice.
 */
async function enqueueClaimed(c: Context<AppEnv>, messages: DeliveryMessage[], tenant: string | undefined): Promise<void> {
  let unsent: DeliveryMessage[] = [];
  try {
    await enqueue(c.env.DELIVERY_QUEUE, messages);
  } catch (err) {
    if (!(err instanceof EnqueueFailed)) throw err;
    unsent = err.unsent;
    await releaseReplays(c.env, unsent);
  }
  const sent = messages.filter((message) => !unsent.includes(message));
  for (const message of sent) countSpans(message, "queued", message.spans);
  // What went back on the queue, for the admin_change line, even when the queue refused some of them (a 503).
  if (sent.length > 0 || unsent.length === 0) {
    c.set("adminChange", {
      ...(tenant ? { tenant } : {}),
      dead_letters: sent.length,
      spans: sent.reduce((sum, message) => sum + message.spans, 0),
    });
  }
  flushStatsLater(c.env, c.executionCtx, relayConfig(c.env).statsFlushSeconds);
  const refused = unsent.length;
  if (refused > 0) {
    const of = refused < messages.length ? ` of ${messages.length} (the others are replayed)` : "";
    const stay = refused === 1 ? "it stays as it was" : "they stay as they were";
    throw new RelayError(
      "unavailable",
      `the delivery queue refused ${refused} dead letter${refused === 1 ? "" : "s"}${of}: ${stay}, to replay again`,
    );
  }
}

function noSuchDeadLetter(id: string): RelayError {
  const given =
    quotedUnlessSecret(id, isDeadLetterId(id)) ?? `an id of ${id.length} characters, none a dead letter can have (<tenant>:<delivery id>)`;
  return new RelayError("not_found", `no such dead letter: ${given}`);
}

function deadLetterId(message: DeliveryMessage): string {
  return `${message.tenant}:${message.id}`;
}
