import { Hono } from "hono";
import { z } from "zod";
import { DeadLetterStore, isDeadLetterId } from "../deliver/dead-letters.js";
import type { DeliveryMessage } from "../deliver/message.js";
import { enqueue } from "../deliver/queue.js";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { quoted, quotedUnlessSecret, RelayError } from "../http/errors.js";
import { flushStatsLater } from "../stats/flush.js";
import { countSpans } from "../stats/recorder.js";
import { authoritativeTenant } from "../tenants/authoritative.js";
import { isIncarnationOf, parseOrReject, TENANT_ID, type Tenant } from "../tenants/schema.js";
import { type CursorList, givenCursor, storeCursor } from "./cursors.js";
import { jsonBody } from "./json-body.js";
import { otherMethods } from "./other-methods.js";
import { NO_QUERY, parseQuery, queryInteger } from "./query.js";

/** `/admin/dead-letters`: see, replay and delete deliveries no retry could complete. */
export const deadLettersRoutes = new Hono<AppEnv>();

const tenantFilter = z.string().regex(TENANT_ID, "must be a tenant id").optional();

const ListQuerySchema = z.object({
  tenant: tenantFilter,
  limit: queryInteger(1, 1000).default(100),
  cursor: z.string().min(1).optional(),
});

/**
 * Dead letters replayed a call at most: one R2 list, a call to each one's tenant object and one
 * `sendBatch` make 42 subrequests at most, inside the Workers Free plan's 50 (docs/cloudflare-limits.md).
 * A backlog after an outage is thousands: the caller goes on with the cursor, a call each page.
 */
export const MAX_REPLAY_PAGE = 40;

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

/** Everyone's dead letters, or a tenant's: the list a cursor goes on with. */
function listOf(tenant: string | undefined): CursorList {
  return `dead-letters/${tenant ?? ""}`;
}

deadLettersRoutes.get("/", async (c) => {
  const query = parseQuery(c, ListQuerySchema);
  const list = listOf(query.tenant);
  const page = await new DeadLetterStore(c.env.PAYLOADS).list({ ...query, cursor: await storeCursor(c, list, query.cursor) });
  return c.json({ ...page, cursor: await givenCursor(c, list, page.cursor) });
});

deadLettersRoutes.post("/replay", async (c) => {
  parseQuery(c, NO_QUERY);
  const input = parseOrReject(ReplaySchema, await jsonBody(c));
  const store = new DeadLetterStore(c.env.PAYLOADS);
  let messages: DeliveryMessage[];
  let cursor: string | null = null;
  if (input.id) {
    const message = await store.replayMessage(input.id);
    if (!message) throw noSuchDeadLetter(input.id);
    messages = [message];
  } else {
    const list = listOf(input.tenant);
    const page = await store.replayPage({
      ...(input.tenant ? { tenant: input.tenant } : {}),
      cursor: await storeCursor(c, list, input.cursor),
      limit: input.limit ?? MAX_REPLAY_PAGE,
    });
    messages = page.messages;
    cursor = await givenCursor(c, list, page.cursor);
  }
  const owners = await ownersOf(c.env, messages);
  const replayable = messages.filter((m) => isIncarnationOf(owners.get(m.tenant), m.incarnation));
  const orphaned = messages.filter((m) => !replayable.includes(m));
  const [orphan] = orphaned;
  if (input.id && orphan) {
    const fate = owners.get(orphan.tenant) ? "was deleted and created again since" : "was deleted";
    throw new RelayError(
      "conflict",
      `dead letter ${quoted(input.id)} was kept for tenant ${orphan.tenant}, which ${fate}: it is not replayed, so that its spans never go out with another tenant's key or URL; delete it`,
    );
  }
  await enqueue(c.env.DELIVERY_QUEUE, replayable);
  for (const message of replayable) countSpans(message, "queued", message.spans);
  flushStatsLater(c.env, c.executionCtx, relayConfig(c.env).statsFlushSeconds);
  return c.json({ replayed: replayable.map(deadLetterId), orphaned: orphaned.map(deadLetterId), cursor });
});

deadLettersRoutes.delete("/:id", async (c) => {
  parseQuery(c, NO_QUERY);
  const id = c.req.param("id");
  if (!(await new DeadLetterStore(c.env.PAYLOADS).delete(id))) throw noSuchDeadLetter(id);
  return c.body(null, 204);
});

// `/replay` before `/:id`, which would take it for an id.
deadLettersRoutes.all("/", otherMethods("GET, HEAD"));
deadLettersRoutes.all("/replay", otherMethods("POST"));
deadLettersRoutes.all("/:id", otherMethods("DELETE"));

/** Each tenant the messages were kept for, as its Durable Object holds it now (undefined once deleted), read once. */
async function ownersOf(env: Env, messages: DeliveryMessage[]): Promise<Map<string, Tenant | undefined>> {
  const ids = [...new Set(messages.map((m) => m.tenant))];
  return new Map(await Promise.all(ids.map(async (id) => [id, await authoritativeTenant(env, id)] as const)));
}

function noSuchDeadLetter(id: string): RelayError {
  const given =
    quotedUnlessSecret(id, isDeadLetterId(id)) ?? `an id of ${id.length} characters, none a dead letter can have (<tenant>:<delivery id>)`;
  return new RelayError("not_found", `no such dead letter: ${given}`);
}

function deadLetterId(message: DeliveryMessage): string {
  return `${message.tenant}:${message.id}`;
}
