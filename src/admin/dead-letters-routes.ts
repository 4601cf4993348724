import { Hono } from "hono";
import { z } from "zod";
import { DeadLetterStore } from "../deliver/dead-letters.js";
import type { DeliveryMessage } from "../deliver/message.js";
import { enqueue } from "../deliver/queue.js";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { parseOrReject, TENANT_ID } from "../tenants/schema.js";
import { jsonBody } from "./json-body.js";

/** `/admin/dead-letters`: see, replay and delete deliveries no retry could complete. */
export const deadLettersRoutes = new Hono<AppEnv>();

const tenantFilter = z.string().regex(TENANT_ID, "must be a tenant id").optional();

const ListQuerySchema = z.object({
  tenant: tenantFilter,
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).optional(),
});

/** Replay one dead letter by id, a tenant's, or all (`{}`), a page of up to `limit` per call. */
const ReplaySchema = z.strictObject({
  id: z.string().min(1).optional(),
  tenant: tenantFilter,
  limit: z.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).optional(),
});

deadLettersRoutes.get("/", async (c) => {
  const query = parseOrReject(ListQuerySchema, c.req.query());
  return c.json(await new DeadLetterStore(c.env.PAYLOADS).list(query));
});

deadLettersRoutes.post("/replay", async (c) => {
  const input = parseOrReject(ReplaySchema, await jsonBody(c));
  const store = new DeadLetterStore(c.env.PAYLOADS);
  let ids: string[];
  let cursor: string | null = null;
  if (input.id) {
    ids = [input.id];
  } else {
    const page = await store.list({
      ...(input.tenant ? { tenant: input.tenant } : {}),
      ...(input.cursor ? { cursor: input.cursor } : {}),
      limit: input.limit,
    });
    ids = page.dead_letters.map((d) => d.id);
    cursor = page.cursor;
  }
  const messages = (await Promise.all(ids.map((id) => store.replayMessage(id)))).filter((m): m is DeliveryMessage => m !== undefined);
  if (input.id && messages.length === 0) throw new RelayError("not_found", `no such dead letter: ${input.id}`);
  await enqueue(c.env.DELIVERY_QUEUE, messages);
  return c.json({ replayed: messages.map((m) => `${m.tenant}:${m.id}`), cursor });
});

deadLettersRoutes.delete("/:id", async (c) => {
  const id = c.req.param("id");
  if (!(await new DeadLetterStore(c.env.PAYLOADS).delete(id))) throw new RelayError("not_found", `no such dead letter: ${id}`);
  return c.body(null, 204);
});
