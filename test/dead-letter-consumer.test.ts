import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { sealClientKey } from "../src/deliver/client-key.js";
import { DeadLetterStore } from "../src/deliver/dead-letters.js";
import { wasDelivered } from "../src/deliver/delivered-markers.js";
import { messagesFor } from "../src/deliver/queue.js";
import { failingBinding } from "./support/bindings.js";
import { deadLettersOf, storedDeadLetterKeys, waitForDeadLetters } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import {
  CONSUMER_RETRY,
  consume,
  consumeBodies,
  DEAD_LETTERS,
  DELIVERIES,
  deleteTenant,
  discardedLine,
  inR2,
  LONG_AGO,
  queuedMessage,
  spilled,
  spilledDelivery,
} from "./support/queue.js";
import { admin, createTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { requestOf, spanIdsOf, spanWith } from "./support/traces.js";

describe.concurrent("the dead-letter queue's consumer", () => {
  it("keeps a message the delivery consumer kept failing on as an R2 dead letter under dead-letters/<tenant>/<id>, and acks it", async () => {
    const tenant = await createTenant();
    const protobuf = toProtobuf(trueFoundryTrace());
    const message = queuedMessage(tenant, protobuf, { attempts: 4, lastError: "Braintrust answered 503: busy" });
    const reason = "the delivery consumer failed on this message repeatedly; last Braintrust error: Braintrust answered 503: busy";

    const { result, lines, events } = await loggedWhile(() => consume(DEAD_LETTERS, [message]));

    expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
    expect(events.filter((e) => e.delivery_id === message.id)).toEqual([
      {
        event: "dead_letter",
        tenant: tenant.id,
        parent: tenant.parent,
        delivery_id: message.id,
        spans: 3,
        attempts: 4,
        reason,
        request_id: expect.stringMatching(/^queue-/),
      },
    ]);
    expect(lines.join("\n")).not.toContain(tenant.apiKey);

    const object = await env.PAYLOADS.get(`dead-letters/${tenant.id}/${message.id}`);
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(protobuf);
    expect(await deadLettersOf(tenant.id)).toEqual([
      expect.objectContaining({
        id: `${tenant.id}:${message.id}`,
        parent: tenant.parent,
        attempts: 4,
        spans: 3,
        reason,
      }),
    ]);
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it("is the default queue's while DEAD_LETTER_QUEUE is left empty, as a var left empty takes its default: its batches are kept as dead letters, not delivered", async () => {
    const tenant = await createTenant();
    const protobuf = toProtobuf(trueFoundryTrace());
    const message = queuedMessage(tenant, protobuf, { attempts: 6 });

    expect(await consume(DEAD_LETTERS, [message], { DEAD_LETTER_QUEUE: "" } as Partial<typeof env>)).toEqual({
      acked: [message.id],
      retried: [],
      threw: undefined,
    });

    expect(await deadLettersOf(tenant.id)).toEqual([expect.objectContaining({ id: `${tenant.id}:${message.id}`, attempts: 6 })]);
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it.each([
    {
      vars: "another var",
      invalid: { MAX_RETRIES: "0" },
      refusal: "invalid Worker var MAX_RETRIES: must be a whole number from 1 to 1000",
    },
    {
      vars: "its tenant cache's TTL",
      invalid: { MAX_RETRIES: "0", TENANT_CACHE_TTL_SECONDS: "5" },
      refusal:
        "invalid Worker vars MAX_RETRIES: must be a whole number from 1 to 1000; TENANT_CACHE_TTL_SECONDS: must be a whole number from 60 to 3600",
    },
  ])(
    "keeps the dead letter while $vars is invalid, which fails the delivery consumer: the spans wait for the var's fix",
    async ({ invalid, refusal }) => {
      const tenant = await createTenant();
      const protobuf = toProtobuf(trueFoundryTrace());
      const message = queuedMessage(tenant, protobuf);
      const vars = invalid as Partial<typeof env>;

      const { result: consumed, errors } = await loggedWhile(() => consume(DELIVERIES, [message], vars));
      expect(consumed).toEqual({
        acked: [],
        retried: [],
        threw: expect.objectContaining({ message: refusal }),
      });
      // No client hears of the invalid var: the line for each message of the batch is where it shows.
      expect(errors.filter((e) => e.delivery_id === message.id)).toEqual([
        {
          event: "delivery_consumer_error",
          tenant: tenant.id,
          delivery_id: message.id,
          error: `RelayError: ${refusal}`,
          request_id: expect.stringMatching(/^queue-/),
        },
      ]);
      expect(await consume(DEAD_LETTERS, [message], vars)).toEqual({ acked: [message.id], retried: [], threw: undefined });

      const object = await env.PAYLOADS.get(`dead-letters/${tenant.id}/${message.id}`);
      expect(new Uint8Array(await object!.arrayBuffer())).toEqual(protobuf);
    },
  );

  it("moves a spilled message's spans into its dead letter and removes the spill object", async () => {
    const { tenant, protobuf, message, key } = await spilledDelivery();

    expect(await consume(DEAD_LETTERS, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    const object = await env.PAYLOADS.get(`dead-letters/${tenant.id}/${message.id}`);
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(protobuf);
    expect(object!.customMetadata?.reason).toBe("the delivery consumer failed on this message repeatedly");
    expect(await inR2(key)).toBe(false);
  });

  it("drops, released, a message whose spans Braintrust took before R2 refused to let go of them: no dead letter to send them again", async () => {
    const { tenant, trace, message, key } = await spilledDelivery();
    const noDeletes = { PAYLOADS: failingBinding(env.PAYLOADS, "delete", "R2 delete unavailable") };
    // Delivered and marked, then Cloudflare's redeliveries each fail the same delete, and the message moves on.
    expect((await consume(DELIVERIES, [message], noDeletes)).retried).toEqual([{ id: message.id, delaySeconds: CONSUMER_RETRY }]);
    expect(await wasDelivered(env.TENANTS, message)).toBe(true);

    expect(await consume(DEAD_LETTERS, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect(await deadLettersOf(tenant.id)).toEqual([]);
    expect(await inR2(key)).toBe(false);
    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
  });

  it("keeps a passthrough client's queued key, sealed, in the dead letter it makes: a replay delivers with it, to the URL it was sent for", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const trace = trueFoundryTrace();
    const protobuf = toProtobuf(trace);
    const message = queuedMessage(tenant, protobuf, await sealClientKey(tenant.apiKey, env, tenant.id, standin.url));

    expect(await consume(DEAD_LETTERS, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    const object = await env.PAYLOADS.head(`dead-letters/${tenant.id}/${message.id}`);
    expect(object!.customMetadata).toMatchObject({ sealed_client_key: message.sealedClientKey, client_key_api_url: standin.url });
    expect(JSON.stringify(object!.customMetadata)).not.toContain(tenant.apiKey);
    expect((await admin("POST", "/dead-letters/replay", { id: `${tenant.id}:${message.id}` })).status).toBe(200);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("keeps a replayed dead letter that failed again where it is, with the new reason", async () => {
    const tenant = await createTenant();
    const protobuf = toProtobuf(trueFoundryTrace());
    const original = queuedMessage(tenant, protobuf);
    const store = new DeadLetterStore(env.PAYLOADS);
    const deadLetter = await store.put(original, protobuf, "Braintrust answered 400: archived");
    const replay = (await store.replay(deadLetter.id))!.message;

    expect(await consume(DEAD_LETTERS, [{ ...replay, lastError: "Braintrust answered 503: busy" }])).toEqual({
      acked: [replay.id],
      retried: [],
      threw: undefined,
    });

    const object = await env.PAYLOADS.get(`dead-letters/${tenant.id}/${original.id}`);
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(protobuf);
    expect(object!.customMetadata?.reason).toBe(
      "the delivery consumer failed on this message repeatedly; last Braintrust error: Braintrust answered 503: busy",
    );
  });

  it("retries a message alone when R2 cannot write its dead letter, and keeps the batch's others: one failing every time takes no other's spans with it", async () => {
    const before = await spilledDelivery();
    const failing = await spilledDelivery();
    const after = await spilledDelivery();
    const payloads = failingBinding(env.PAYLOADS, "put", "R2 PUT failed: 503 Service Unavailable", (key) =>
      String(key).startsWith(`dead-letters/${failing.tenant.id}/`),
    );

    const {
      result: consumed,
      events,
      errors,
    } = await loggedWhile(() => consume(DEAD_LETTERS, [before.message, failing.message, after.message], { PAYLOADS: payloads }));

    // No delay asked: the consumer's retry_delay (wrangler.toml) spaces the tries.
    expect(consumed).toEqual({
      acked: [before.message.id, after.message.id],
      retried: [{ id: failing.message.id, delaySeconds: undefined }],
      threw: undefined,
    });
    expect(errors.filter((e) => e.delivery_id === failing.message.id)).toEqual([
      {
        event: "delivery_consumer_error",
        tenant: failing.tenant.id,
        delivery_id: failing.message.id,
        error: "R2 PUT failed: 503 Service Unavailable",
        request_id: expect.stringMatching(/^queue-/),
      },
    ]);
    expect(events.filter((e) => e.delivery_id === after.message.id && e.event === "delivery_consumer_error")).toEqual([]);
    expect(await deadLettersOf(before.tenant.id)).toHaveLength(1);
    expect(await deadLettersOf(after.tenant.id)).toHaveLength(1);
    expect(await deadLettersOf(failing.tenant.id)).toEqual([]);
    expect(await inR2(failing.key)).toBe(true);
  });

  it("acks a body on the queue that is no delivery message, logging it, and keeps the batch's others", async () => {
    const { tenant, message } = await spilledDelivery();
    // An id of this test's own: the file's tests run at once, and watch the same log.
    const malformed = crypto.randomUUID();

    const { result: consumed, errors } = await loggedWhile(() =>
      consumeBodies(DEAD_LETTERS, [
        { id: malformed, timestamp: Date.now(), body: "not a delivery" },
        { id: message.id, timestamp: Date.now(), body: message },
      ]),
    );

    expect(consumed).toEqual({ acked: [malformed, message.id], retried: [], threw: undefined });
    expect(errors.filter((e) => e.message_id === malformed)).toEqual([
      { event: "malformed_queue_message", queue: DEAD_LETTERS, message_id: malformed, request_id: expect.stringMatching(/^queue-/) },
    ]);
    expect(await deadLettersOf(tenant.id)).toHaveLength(1);
  });

  it.each([
    { fate: "was deleted", recreate: false },
    { fate: "was deleted and created again since", recreate: true },
  ])("drops a message of a tenant that $fate, as the delivery consumer does: no dead letter, the drop logged", async ({ recreate }) => {
    const tenant = await createTenant();
    const protobuf = toProtobuf(trueFoundryTrace());
    const message = await spilled(queuedMessage(tenant, protobuf, { receivedAt: LONG_AGO }), protobuf);
    const nextOwnersKey = await deleteTenant(tenant.id, { recreate });

    const { result: consumed, events } = await loggedWhile(() => consume(DEAD_LETTERS, [message]));

    expect(consumed).toEqual({ acked: [message.id], retried: [], threw: undefined });
    expect(await storedDeadLetterKeys(tenant.id)).toEqual([]);
    expect(await inR2(message.payload.r2Key)).toBe(false);
    expect(events.filter((e) => e.delivery_id === message.id)).toEqual([discardedLine(message)]);
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
    if (nextOwnersKey) expect(await standin.attempts(nextOwnersKey)).toEqual([]);
  });

  it.each([
    { fate: "was deleted", recreate: false },
    { fate: "was deleted and created again since", recreate: true },
  ])(
    "leaves a dead letter kept for a tenant that $fate (the consumer racing the delete) for an operator to delete: replay refuses it (409)",
    async ({ fate, recreate }) => {
      const tenant = await createTenant();
      const protobuf = toProtobuf(trueFoundryTrace());
      const message = queuedMessage(tenant, protobuf);
      const nextOwnersKey = await deleteTenant(tenant.id, { recreate });
      await new DeadLetterStore(env.PAYLOADS).put(message, protobuf, "Braintrust answered 400: archived");

      const id = `${tenant.id}:${message.id}`;
      const replayOne = await admin("POST", "/dead-letters/replay", { id });
      const replayTenants = await admin("POST", "/dead-letters/replay", { tenant: tenant.id });

      expect(replayOne.status).toBe(409);
      expect(await replayOne.json()).toEqual({
        error: {
          code: "conflict",
          message: `dead letter ${JSON.stringify(id)} was kept for tenant ${tenant.id}, which ${fate}: it is not replayed, so that its spans never go out with another tenant's key or URL; delete it`,
          request_id: expect.any(String),
        },
      });
      expect(replayTenants.status).toBe(200);
      expect(await replayTenants.json()).toEqual({ replayed: [], orphaned: [id], replaying: [], unavailable: [], cursor: null });
      expect((await admin("DELETE", `/dead-letters/${id}`)).status).toBe(204);
      expect(await standin.attempts(tenant.apiKey)).toEqual([]);
      if (nextOwnersKey) expect(await standin.attempts(nextOwnersKey)).toEqual([]);
    },
  );

  it("keeps a message as a dead letter when its tenant cannot be read: storage failing is what brings messages here", async () => {
    const tenant = await createTenant();
    const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()));
    const tenants = failingBinding(env.TENANTS, "get", "KV GET failed: 503 Service Unavailable");

    expect(await consume(DEAD_LETTERS, [message], { TENANTS: tenants })).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect(await deadLettersOf(tenant.id)).toEqual([expect.objectContaining({ id: `${tenant.id}:${message.id}` })]);
  });

  it("retries a message when R2 cannot read its spilled spans, rather than treat it as delivered", async () => {
    const { tenant, message, key } = await spilledDelivery();
    const payloads = failingBinding(env.PAYLOADS, "get", "R2 GET failed: 503 Service Unavailable");

    expect(await consume(DEAD_LETTERS, [message], { PAYLOADS: payloads })).toEqual({
      acked: [],
      retried: [{ id: message.id, delaySeconds: undefined }],
      threw: undefined,
    });

    expect(await deadLettersOf(tenant.id)).toEqual([]);
    expect(await inR2(key)).toBe(true);
  });

  it("acks a spilled message whose R2 object is gone without making an empty dead letter", async () => {
    const { tenant, message, key } = await spilledDelivery();
    await env.PAYLOADS.delete(key);

    const { result: consumed, events } = await loggedWhile(() => consume(DEAD_LETTERS, [message]));

    expect(consumed).toEqual({ acked: [message.id], retried: [], threw: undefined });
    expect(await deadLettersOf(tenant.id)).toEqual([]);
    expect(events.filter((e) => e.delivery_id === message.id)).toEqual([
      {
        event: "duplicate_delivery_skipped",
        tenant: tenant.id,
        delivery_id: message.id,
        spans: message.spans,
        why: "its spans were released: delivered, or given back to the client that sent them",
        request_id: expect.stringMatching(/^queue-/),
      },
    ]);
  });
});

describe.concurrent("a dead letter of spans spilled together under a large resource", () => {
  it("has an id the admin API takes, `<id>.s<n>`, so that it can be replayed by it", async () => {
    const tenant = await createTenant();
    const request = requestOf(Array.from({ length: 20 }, (_, i) => spanWith(`step ${i}`, [])));
    request.resourceSpans[0]!.resource!.attributes.push(attr("process.command_line", "x".repeat(150_000)));
    const { payload: _payload, spans: _spans, bytes: _bytes, ...template } = queuedMessage(tenant, new Uint8Array());
    const [together] = await messagesFor(template, toProtobuf(request), 20, env.PAYLOADS, "fresh");
    expect(together!.id).toBe(`${template.id}.s0`);

    expect(await consume(DEAD_LETTERS, [together!])).toEqual({ acked: [together!.id], retried: [], threw: undefined });
    const replayed = await admin("POST", "/dead-letters/replay", { id: `${tenant.id}:${together!.id}` });

    expect(replayed.status).toBe(200);
    expect(await replayed.json()).toMatchObject({ replayed: [`${tenant.id}:${together!.id}`] });
  });
});
