import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { sealClientKey } from "../src/deliver/client-key.js";
import { type DeadLetter, DeadLetterStore } from "../src/deliver/dead-letters.js";
import { markDelivered, wasDelivered } from "../src/deliver/delivered-markers.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { failingBinding, meddlingBinding, recordingQueue } from "./support/bindings.js";
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
  passthroughDeadLetter,
  queuedMessage,
  spilled,
  spilledDelivery,
  spillsOf,
  tenantSpills,
} from "./support/queue.js";
import { admin, adminWith, asRecordedBeforeDurableObjects, createTenant, fixedWhileKvLags, incarnationOf } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { largeRequest, spanIdsOf } from "./support/traces.js";

describe.concurrent("the delivery queue's consumer", () => {
  it("acks a delivered message, marks it delivered and removes its spilled R2 object", async () => {
    const { tenant, trace, message, key } = await spilledDelivery();

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    const received = await standin.received(tenant.apiKey);
    expect(received.map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
    expect(await wasDelivered(env.TENANTS, message)).toBe(true);
    expect(await inR2(key)).toBe(false);
  });

  it("holds at most 24 MiB of spans at once: a batch of large messages goes a few at a time, every one delivered", async () => {
    const tenant = await createTenant();
    const requests = [0, 1, 2].map(() => largeRequest({ largeSpans: 1, largeSpanBytes: 9_000_000, smallTraces: 0 }));
    const messages = await Promise.all(
      requests.map((request) => {
        const protobuf = toProtobuf(request);
        return spilled(queuedMessage(tenant, protobuf, { spans: spansOf(request).length }), protobuf);
      }),
    );
    // Each answered a while after it arrives, so deliveries made together are under way together: 2 s,
    // past the time a loaded machine takes between sending the two (R2 reads, a 9 MB gzip each).
    await standin.script(
      tenant.apiKey,
      messages.map(() => ({ delayMs: 2_000 })),
    );

    expect(await consume(DELIVERIES, messages)).toEqual({ acked: messages.map((m) => m.id), retried: [], threw: undefined });

    const attempts = await standin.attempts(tenant.apiKey);
    expect(attempts.map((a) => a.status)).toEqual([200, 200, 200]);
    const underWayAtOnce = attempts.map((a) => attempts.filter((b) => b.arrivedAt < a.receivedAt && a.arrivedAt < b.receivedAt).length);
    // 27 MB in all: two at once, then the third.
    expect(Math.max(...underWayAtOnce)).toBe(2);
    expect((await standin.waitForSpans(tenant.apiKey, requests.flatMap(spanIdsOf))).missing).toEqual([]);
  });

  it("logs the spans Braintrust rejects in a partial success to a queued delivery, whose client was answered long before", async () => {
    const { tenant, message } = await spilledDelivery();
    await standin.script(tenant.apiKey, [{ partialSuccess: { rejectedSpans: 2, errorMessage: "2 spans too old" } }]);

    const { result, events } = await loggedWhile(() => consume(DELIVERIES, [message]));

    expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
    const attempt = events.find((e) => e.event === "delivery_attempt" && e.delivery_id === message.id);
    expect(attempt).toMatchObject({
      outcome: "delivered",
      next: "done",
      rejected_spans: 2,
      reason: `Braintrust rejected 2 of ${message.spans} spans: 2 spans too old`,
    });
  });

  it("logs a warning Braintrust gives in a partial success that rejects no span of a queued delivery", async () => {
    const { tenant, message } = await spilledDelivery();
    await standin.script(tenant.apiKey, [{ partialSuccess: { rejectedSpans: 0, errorMessage: "attribute braintrust.tags ignored" } }]);

    const { result, events } = await loggedWhile(() => consume(DELIVERIES, [message]));

    expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
    const attempt = events.find((e) => e.event === "delivery_attempt" && e.delivery_id === message.id);
    expect(attempt).toMatchObject({ outcome: "delivered", next: "done", reason: "Braintrust warned: attribute braintrust.tags ignored" });
    expect(attempt).not.toHaveProperty("rejected_spans");
  });

  it("on Braintrust's 503 re-enqueues the spans one attempt on with Braintrust's Retry-After, acks the original, and the new message is delivered", async () => {
    const { tenant, trace, protobuf, message, key } = await spilledDelivery();
    await standin.script(tenant.apiKey, [{ status: 503, headers: { "retry-after": "3" } }]);
    const queue = recordingQueue(env.DELIVERY_QUEUE);

    const { result, lines, events } = await loggedWhile(() => consume(DELIVERIES, [message], { DELIVERY_QUEUE: queue }));

    expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
    expect(events.filter((e) => e.delivery_id === message.id)).toEqual([
      {
        event: "delivery_attempt",
        tenant: tenant.id,
        parent: tenant.parent,
        delivery_id: message.id,
        spans: message.spans,
        bytes: protobuf.byteLength,
        // Its first attempt was made while the client waited.
        attempt: 2,
        outcome: "retryable",
        upstream_status: 503,
        latency_ms: expect.any(Number),
        next: "retry",
        retry_in_s: 3,
        reason: 'Braintrust answered 503: {"error":"scripted failure"}',
        request_id: expect.stringMatching(/^queue-/),
      },
    ]);
    expect(lines.join("\n")).not.toContain(tenant.apiKey);
    expect(queue.sent).toEqual([
      {
        body: { ...message, attempts: 2, serverErrors: 0, lastError: expect.stringMatching(/^Braintrust answered 503: /) },
        contentType: "v8",
        delaySeconds: 3,
      },
    ]);
    // The new message refers to the same spilled spans, so they must still be there.
    expect(await inR2(key)).toBe(true);
    expect(await wasDelivered(env.TENANTS, message)).toBe(false);
    // The real queue brings the new message back to the real consumer.
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
  });

  it("keeps what a stored key revoked between batches no longer delivers as dead letters, which the rotated key then delivers, nothing twice", async () => {
    const tenant = await createTenant();
    const traces = [trueFoundryTrace(), trueFoundryTrace(), trueFoundryTrace()];
    const [first, ...rest] = traces.map((trace) => queuedMessage(tenant, toProtobuf(trace)));
    expect((await consume(DELIVERIES, [first!])).acked).toEqual([first!.id]);

    await standin.revokeKey(tenant.apiKey);
    expect((await consume(DELIVERIES, rest)).acked).toEqual(rest.map((m) => m.id));
    const deadLetters = await deadLettersOf(tenant.id);
    expect(deadLetters.map((d) => [d.id, d.spans, d.attempts, d.reason.split(":")[0]]).sort()).toEqual(
      rest.map((m) => [`${tenant.id}:${m.id}`, 3, 2, "Braintrust refused the tenant's stored API key"]).sort(),
    );
    const rotated = await standin.issueKey();
    await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: standin.url, api_key: rotated } });
    expect((await admin("POST", "/dead-letters/replay", { tenant: tenant.id })).status).toBe(200);

    const arrival = await standin.waitForSpans(rotated, traces.slice(1).flatMap(spanIdsOf));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(traces[0]!)]);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it.each([
    ["revoked key", "stored key"],
    ["wrong api_url", "api_url"],
  ] as const)(
    "delivers a retry with the tenant as its Durable Object holds it when Braintrust refuses the %s that KV's copy still holds after a fix, rather than keep it as a dead letter",
    async (_change, stale) => {
      const tenant = await createTenant();
      const key = await fixedWhileKvLags(tenant, stale);
      const trace = trueFoundryTrace();
      const message = queuedMessage(tenant, toProtobuf(trace));

      const { result, events } = await loggedWhile(() => consume(DELIVERIES, [message]));

      expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
      expect((await standin.received(key)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
      expect(await deadLettersOf(tenant.id)).toEqual([]);
      expect(await wasDelivered(env.TENANTS, message)).toBe(true);
      // The refused attempt's line says what followed, a retry at once, not a dead letter that was never made.
      const lines = events.filter((e) => e.delivery_id === message.id);
      expect(lines.map((e) => [e.event, e.outcome, e.next, e.retry_in_s])).toEqual([
        ["delivery_attempt", "rejected", "retry", 0],
        ["delivery_attempt", "delivered", "done", undefined],
      ]);
    },
  );

  it("delivers with the stored key a passthrough tenant was just given, which KV's copy does not hold yet, rather than keep the spans as a dead letter", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const before = await env.TENANTS.getWithMetadata<Record<string, unknown>>(`tenant:${tenant.id}`, "json");
    const given = { parent: tenant.parent, braintrust: { api_url: standin.url, api_key: tenant.apiKey } };
    expect((await admin("PUT", `/tenants/${tenant.id}`, given)).status).toBe(200);
    // KV's record from before the key, as a location whose copy lags the change serves it.
    await env.TENANTS.put(`tenant:${tenant.id}`, JSON.stringify(before.value), { metadata: before.metadata });
    const trace = trueFoundryTrace();
    // Queued by a request sent with an ingest token the key came with: no client key, the stored one.
    const message = queuedMessage(tenant, toProtobuf(trace));

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
    expect(await wasDelivered(env.TENANTS, message)).toBe(true);
  });

  it("delivers the dead letters a revoked key left, replayed at once after the rotation, while KV's copy still holds the revoked key", async () => {
    const tenant = await createTenant();
    const { value, metadata } = await env.TENANTS.getWithMetadata<Record<string, unknown>>(`tenant:${tenant.id}`, "json");
    await standin.revokeKey(tenant.apiKey);
    const trace = trueFoundryTrace();
    const message = queuedMessage(tenant, toProtobuf(trace));
    expect((await consume(DELIVERIES, [message])).acked).toEqual([message.id]);
    expect((await deadLettersOf(tenant.id)).map((d) => d.id)).toEqual([`${tenant.id}:${message.id}`]);
    const rotated = await standin.issueKey();
    await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: standin.url, api_key: rotated } });
    await env.TENANTS.put(`tenant:${tenant.id}`, JSON.stringify(value), { metadata });

    expect((await admin("POST", "/dead-letters/replay", { tenant: tenant.id })).status).toBe(200);

    const arrival = await standin.waitForSpans(rotated, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("retries only the message whose tenant KV could not read, in 30 s, and acks the rest of the batch", async () => {
    const failing = await spilledDelivery();
    const other = await spilledDelivery();
    // Only that tenant's record (TenantStore's key), so the other message meets a working KV.
    const tenants = failingBinding(
      env.TENANTS,
      "get",
      "KV GET failed: 503 Service Unavailable",
      (key) => key === `tenant:${failing.tenant.id}`,
    );

    const consumed = await consume(DELIVERIES, [failing.message, other.message], { TENANTS: tenants });

    expect(consumed).toEqual({
      acked: [other.message.id],
      retried: [{ id: failing.message.id, delaySeconds: CONSUMER_RETRY }],
      threw: undefined,
    });
    expect(await standin.attempts(failing.tenant.apiKey)).toEqual([]);
    expect(await inR2(failing.key)).toBe(true);
    expect(await deadLettersOf(failing.tenant.id)).toEqual([]);
    expect(await standin.received(other.tenant.apiKey)).toHaveLength(1);
  });

  it("retries a message when KV cannot read its delivered marker, without sending it", async () => {
    const { tenant, message, key } = await spilledDelivery();
    const tenants = failingBinding(env.TENANTS, "get", "KV GET failed: 503 Service Unavailable", (k) => String(k).startsWith("delivered:"));

    expect(await consume(DELIVERIES, [message], { TENANTS: tenants })).toEqual({
      acked: [],
      retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }],
      threw: undefined,
    });

    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
    expect(await inR2(key)).toBe(true);
  });

  it("finishes a message Braintrust took when KV cannot write its delivered marker, logging it, so its spans are not sent again", async () => {
    const { tenant, trace, message, key } = await spilledDelivery();
    const tenants = failingBinding(env.TENANTS, "put", "KV PUT failed: 429 Too Many Requests", (k) => String(k).startsWith("delivered:"));

    const { result, errors } = await loggedWhile(() => consume(DELIVERIES, [message], { TENANTS: tenants }));

    expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
    expect(errors.filter((e) => e.delivery_id === message.id)).toEqual([
      {
        event: "delivered_marker_failed",
        tenant: tenant.id,
        delivery_id: message.id,
        error: "KV PUT failed: 429 Too Many Requests",
        request_id: expect.stringMatching(/^queue-/),
      },
    ]);
    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
    expect(await wasDelivered(env.TENANTS, message)).toBe(false);
    expect(await inR2(key)).toBe(false);
  });

  it.each([
    [
      "its spill, left behind",
      async () => {
        const { tenant, trace, message, key } = await spilledDelivery();
        return { tenant, trace, message, undeletable: (k: unknown) => k === key, left: async () => expect(await inR2(key)).toBe(true) };
      },
    ],
    [
      "its dead letter, a replay's, which stays listed (the README says to delete it rather than replay it)",
      async () => {
        const tenant = await createTenant();
        const trace = trueFoundryTrace();
        const protobuf = toProtobuf(trace);
        const store = new DeadLetterStore(env.PAYLOADS);
        const message = (await store.replay((await store.put(queuedMessage(tenant, protobuf), protobuf, "archived")).id))!.message;
        const left = async () =>
          expect(await deadLettersOf(tenant.id)).toEqual([expect.objectContaining({ id: `${tenant.id}:${message.id}` })]);
        return { tenant, trace, message, undeletable: () => true, left };
      },
    ],
  ])(
    "finishes a message Braintrust took when KV cannot write its marker and R2 cannot remove %s, logging both: handed back, its spans would go again",
    async (_left, made) => {
      const { tenant, trace, message, undeletable, left } = await made();
      const tenants = failingBinding(env.TENANTS, "put", "KV PUT failed: 429 Too Many Requests", (k) => String(k).startsWith("delivered:"));
      const payloads = failingBinding(env.PAYLOADS, "delete", "R2 DELETE failed: 503 Service Unavailable", undeletable);

      const { result, errors } = await loggedWhile(() => consume(DELIVERIES, [message], { TENANTS: tenants, PAYLOADS: payloads }));

      expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
      expect(errors.filter((e) => e.delivery_id === message.id).map((e) => [e.event, e.error])).toEqual([
        ["delivered_marker_failed", "KV PUT failed: 429 Too Many Requests"],
        ["delivered_release_failed", "R2 DELETE failed: 503 Service Unavailable"],
      ]);
      expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
      // For want of a marker that would have let a redelivery remove it without sending it.
      await left();
    },
  );

  it("acks a body on the queue that is no delivery message, logging it, and delivers the batch's others", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    const message = queuedMessage(tenant, toProtobuf(trace));
    // What the dashboard's "send message" or another producer may put on the queue.
    const bodies = [null, "hello", { id: "x", tenant: tenant.id }, { ...message, payload: { inline: "not bytes" } }];

    // Ids of this test's own: the file's tests run at once, and watch the same log.
    const ids = bodies.map(() => crypto.randomUUID());

    const { result, errors } = await loggedWhile(() =>
      consumeBodies(DELIVERIES, [
        ...bodies.map((body, n) => ({ id: ids[n]!, timestamp: Date.now(), body })),
        { id: message.id, timestamp: Date.now(), body: message },
      ]),
    );

    expect(result).toEqual({ acked: [...ids, message.id], retried: [], threw: undefined });
    expect(errors.filter((e) => ids.includes(e.message_id as string))).toEqual(
      ids.map((id) => ({
        event: "malformed_queue_message",
        queue: DELIVERIES,
        message_id: id,
        request_id: expect.stringMatching(/^queue-/),
      })),
    );
    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
  });

  it("acks a body that is no delivery message even when an invalid var fails the batch: it would only come again", async () => {
    const tenant = await createTenant();
    const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()));

    const malformed = crypto.randomUUID();

    const { result, errors } = await loggedWhile(() =>
      consumeBodies(
        DELIVERIES,
        [
          { id: malformed, timestamp: Date.now(), body: "not a delivery" },
          { id: message.id, timestamp: Date.now(), body: message },
        ],
        { MAX_RETRIES: "0" },
      ),
    );

    expect(result).toEqual({
      acked: [malformed],
      retried: [],
      threw: expect.objectContaining({ message: "invalid Worker var MAX_RETRIES: must be a whole number from 1 to 1000" }),
    });
    const own = errors.filter((e) => e.message_id === malformed || e.delivery_id === message.id);
    expect(own.map((e) => [e.event, e.message_id ?? e.delivery_id])).toEqual([
      ["malformed_queue_message", malformed],
      ["delivery_consumer_error", message.id],
    ]);
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it("retries a message when R2 cannot read its spilled spans, without sending anything", async () => {
    const { tenant, message, key } = await spilledDelivery();
    const payloads = failingBinding(env.PAYLOADS, "get", "R2 GET failed: 503 Service Unavailable");

    expect(await consume(DELIVERIES, [message], { PAYLOADS: payloads })).toEqual({
      acked: [],
      retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }],
      threw: undefined,
    });

    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
    expect(await inR2(key)).toBe(true);
  });

  it("retries a delivered message when R2 cannot remove its spilled spans; the marker keeps the redelivery from sending again, and it removes them", async () => {
    const { tenant, message, key } = await spilledDelivery();
    const payloads = failingBinding(env.PAYLOADS, "delete", "R2 DELETE failed: 503 Service Unavailable");

    expect(await consume(DELIVERIES, [message], { PAYLOADS: payloads })).toEqual({
      acked: [],
      retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }],
      threw: undefined,
    });
    expect(await wasDelivered(env.TENANTS, message)).toBe(true);

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });
    expect(await standin.received(tenant.apiKey)).toHaveLength(1);
    // The repeat lets go of the object the failed delete left behind.
    expect(await inR2(key)).toBe(false);
  });

  it("retries a message Braintrust rejects (400) when R2 cannot write the dead letter, keeping its spans", async () => {
    const { tenant, message, key } = await spilledDelivery();
    await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"project is archived"}' }]);
    const payloads = failingBinding(env.PAYLOADS, "put", "R2 PUT failed: 503 Service Unavailable");

    expect(await consume(DELIVERIES, [message], { PAYLOADS: payloads })).toEqual({
      acked: [],
      retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }],
      threw: undefined,
    });

    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([400]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
    expect(await inR2(key)).toBe(true);
  });

  it.each([
    ["its redelivery", DELIVERIES],
    ["the dead-letter queue", DEAD_LETTERS],
  ])(
    "retries a message kept as a dead letter when R2 cannot remove its spilled spans; %s sends nothing, keeps the dead letter as it was and removes them",
    async (_, queue) => {
      const { tenant, message, key } = await spilledDelivery();
      await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"project is archived"}' }]);
      const payloads = failingBinding(env.PAYLOADS, "delete", "R2 DELETE failed: 503 Service Unavailable");
      expect((await consume(DELIVERIES, [message], { PAYLOADS: payloads })).retried).toEqual([
        { id: message.id, delaySeconds: CONSUMER_RETRY },
      ]);
      const [kept] = await deadLettersOf(tenant.id);

      expect(await consume(queue, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

      expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([400]);
      expect(await deadLettersOf(tenant.id)).toEqual([kept]);
      expect(await inR2(key)).toBe(false);
    },
  );

  it("retries a message Braintrust asked to be retried (503) when the queue refuses the new message, keeping its spans", async () => {
    const { tenant, message, key } = await spilledDelivery();
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const queue = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable");

    expect(await consume(DELIVERIES, [message], { DELIVERY_QUEUE: queue })).toEqual({
      acked: [],
      retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }],
      threw: undefined,
    });

    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([503]);
    expect(await inR2(key)).toBe(true);
  });

  it("retries a message Braintrust found too large (413) when the queue refuses its halves, keeping its spans", async () => {
    const { tenant, message, key } = await spilledDelivery();
    await standin.script(tenant.apiKey, [{ status: 413 }]);
    const queue = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable");

    expect(await consume(DELIVERIES, [message], { DELIVERY_QUEUE: queue })).toEqual({
      acked: [],
      retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }],
      threw: undefined,
    });

    expect(await inR2(key)).toBe(true);
    expect(await spillsOf(message)).toEqual([]);
  });

  it("removes the spills of halves the queue refused once the message, come again, is delivered whole: nothing else would", async () => {
    const { tenant, message } = await spilledDelivery(largeRequest({ largeSpans: 4, largeSpanBytes: 150_000, smallTraces: 0 }));
    // A proxy's 413 that does not come again.
    await standin.script(tenant.apiKey, [{ status: 413 }]);
    const queue = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable");
    expect((await consume(DELIVERIES, [message], { DELIVERY_QUEUE: queue })).retried).toEqual([
      { id: message.id, delaySeconds: CONSUMER_RETRY },
    ]);
    expect((await spillsOf(message)).length).toBeGreaterThan(1);

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([413, 200]);
    expect(await spillsOf(message)).toEqual([]);
    expect(await inR2(message.payload.r2Key)).toBe(false);
  });

  it.each([
    { end: "is kept as a dead letter (Braintrust 400)", deleted: false },
    { end: "is dropped with its deleted tenant", deleted: true },
  ])("removes the spills of halves the queue refused once the message, come again, $end: nothing else would", async ({ deleted }) => {
    const { tenant, message } = await spilledDelivery(largeRequest({ largeSpans: 4, largeSpanBytes: 150_000, smallTraces: 0 }));
    const comesAgain = deleted ? { ...message, receivedAt: LONG_AGO } : message;
    await standin.script(tenant.apiKey, [{ status: 413 }, { status: 400 }]);
    const queue = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable");
    expect((await consume(DELIVERIES, [comesAgain], { DELIVERY_QUEUE: queue })).retried).toEqual([
      { id: message.id, delaySeconds: CONSUMER_RETRY },
    ]);
    expect((await spillsOf(message)).length).toBeGreaterThan(1);
    if (deleted) await deleteTenant(tenant.id, { recreate: false });

    expect(await consume(DELIVERIES, [comesAgain])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    // The spans are whole in the dead letter, or gone with their tenant.
    expect(await storedDeadLetterKeys(tenant.id)).toEqual(deleted ? [] : [`dead-letters/${tenant.id}/${message.id}`]);
    expect(await spillsOf(message)).toEqual([]);
    expect(await inR2(message.payload.r2Key)).toBe(false);
  });

  it("skips the pieces a split queued before the queue refused the rest, once the message, come again, is delivered whole", async () => {
    const { tenant, message } = await spilledDelivery(largeRequest({ largeSpans: 0, largeSpanBytes: 0, smallTraces: 120 }));
    // A proxy's 413 that does not come again; the queue takes the split's first batch, then refuses.
    await standin.script(tenant.apiKey, [{ status: 413 }]);
    const taken = recordingQueue<DeliveryMessage>();
    let batches = 0;
    const partly = failingBinding(taken, "sendBatch", "Queue sendBatch failed: queue unavailable", () => batches++ > 0);
    expect((await consume(DELIVERIES, [message], { DELIVERY_QUEUE: partly })).retried).toEqual([
      { id: message.id, delaySeconds: CONSUMER_RETRY },
    ]);
    const pieces = taken.sent.map(({ body }) => body);
    expect(pieces.length).toBeGreaterThan(0);
    expect(batches).toBeGreaterThan(1);
    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    const { result, events } = await loggedWhile(() => consume(DELIVERIES, pieces));

    expect(result).toEqual({ acked: pieces.map((p) => p.id), retried: [], threw: undefined });
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([413, 200]);
    expect(events.filter((e) => e.event === "duplicate_delivery_skipped").map((e) => [e.delivery_id, e.why])).toEqual(
      pieces.map((p) => [p.id, "its spans were delivered"]),
    );
  });

  it("keeps the spills of the halves a first split queued when the message comes again and R2 refuses a spill of its second split: those halves still read them", async () => {
    const { tenant, message } = await spilledDelivery(largeRequest({ largeSpans: 9, largeSpanBytes: 150_000, smallTraces: 0 }));
    await standin.script(tenant.apiKey, [{ status: 413 }, { status: 413 }]);
    // The first split is queued, the message's own spill left behind: done all the same, but a queue
    // delivers at least once, and Cloudflare may bring it again.
    const firstSplit = recordingQueue<DeliveryMessage>();
    const undeletable = failingBinding(env.PAYLOADS, "delete", "R2 delete failed: unavailable", (key) => key === message.payload.r2Key);
    expect(await consume(DELIVERIES, [message], { DELIVERY_QUEUE: firstSplit, PAYLOADS: undeletable })).toEqual({
      acked: [message.id],
      retried: [],
      threw: undefined,
    });
    const readByQueued = firstSplit.sent.flatMap(({ body }) => ("r2Key" in body.payload ? [body.payload.r2Key] : []));
    expect(readByQueued.length).toBeGreaterThan(1);

    const refusing = failingBinding(env.PAYLOADS, "put", "R2 put failed: unavailable", (key) => String(key).endsWith(".b.0"));
    expect(await consume(DELIVERIES, [message], { DELIVERY_QUEUE: recordingQueue<DeliveryMessage>(), PAYLOADS: refusing })).toEqual({
      acked: [],
      retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }],
      threw: undefined,
    });

    for (const key of readByQueued) expect(await inR2(key)).toBe(true);
  });

  it("finishes a message it split (413) when R2 will not delete its spill, logging it: handed back, it would be split and its spans sent again", async () => {
    const { tenant, trace, message, key } = await spilledDelivery();
    await standin.script(tenant.apiKey, [{ status: 413 }]);
    const halves = recordingQueue<DeliveryMessage>();
    const undeletable = failingBinding(env.PAYLOADS, "delete", "R2 delete failed: unavailable", (k) => k === key);

    const { result, errors } = await loggedWhile(() => consume(DELIVERIES, [message], { DELIVERY_QUEUE: halves, PAYLOADS: undeletable }));

    expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
    expect(errors.filter((e) => e.delivery_id === message.id)).toEqual([
      {
        event: "split_release_failed",
        tenant: tenant.id,
        delivery_id: message.id,
        error: "R2 delete failed: unavailable",
        request_id: expect.stringMatching(/^queue-/),
      },
    ]);
    // Every span is in the halves queued, once.
    expect(halves.sent.reduce((sum, { body }) => sum + body.spans, 0)).toBe(spansOf(trace).length);
    expect(await inR2(key)).toBe(true);
  });

  it("acks a message already marked delivered without sending it again", async () => {
    const tenant = await createTenant();
    const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()));
    await markDelivered(env.TENANTS, message);

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it("sends a message that comes twice in its batch once, as a dead letter replayed twice does", async () => {
    const tenant = await createTenant();
    const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()));

    expect(await consume(DELIVERIES, [message, { ...message }])).toEqual({
      acked: [message.id, message.id],
      retried: [],
      threw: undefined,
    });

    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
  });

  it("counts a message Cloudflare redelivers after it was done as leaving the queue once", async () => {
    const tenant = await createTenant();
    const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()));

    await consume(DELIVERIES, [message]);
    expect(await consume(DELIVERIES, [{ ...message }])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
    const stats = (await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as { total: { spans: { left_queue: number } } };
    expect(stats.total.spans.left_queue).toBe(3);
  });

  it("counts a replay delivered once as leaving the queue once when R2 could not remove its dead letter and it came again", async () => {
    const tenant = await createTenant();
    const protobuf = toProtobuf(trueFoundryTrace());
    const store = new DeadLetterStore(env.PAYLOADS);
    const replay = (await store.replay((await store.put(queuedMessage(tenant, protobuf), protobuf, "archived")).id))!.message;
    const payloads = failingBinding(env.PAYLOADS, "delete", "R2 DELETE failed: 503 Service Unavailable");
    expect((await consume(DELIVERIES, [replay], { PAYLOADS: payloads })).retried).toEqual([
      { id: replay.id, delaySeconds: CONSUMER_RETRY },
    ]);

    expect(await consume(DELIVERIES, [replay])).toEqual({ acked: [replay.id], retried: [], threw: undefined });

    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
    const stats = (await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as { total: { spans: { left_queue: number } } };
    expect(stats.total.spans.left_queue).toBe(3);
  });

  it("acks a spilled message whose R2 object is gone (released once delivered) without sending anything", async () => {
    const { tenant, message, key } = await spilledDelivery();
    await env.PAYLOADS.delete(key);

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("keeps the spans of a passthrough key Braintrust refuses from the queue as a dead letter, which a replay delivers once Braintrust takes the key again", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const trace = trueFoundryTrace();
    const protobuf = toProtobuf(trace);
    const clientKey = await sealClientKey(tenant.apiKey, env, tenant.id, standin.url);
    const message = await spilled(queuedMessage(tenant, protobuf, { ...clientKey, spans: spansOf(trace).length }), protobuf);
    // Refused for this parent only, for now: the client heard 200 for these spans.
    await standin.script(tenant.apiKey, [{ status: 403 }]);

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    const [deadLetter] = await deadLettersOf(tenant.id);
    expect(deadLetter).toMatchObject({ parent: tenant.parent, spans: 3, attempts: message.attempts + 1 });
    expect(deadLetter!.reason).toMatch(/^Braintrust refused the client's API key: Braintrust answered 403/);
    expect(await inR2(message.payload.r2Key)).toBe(false);
    const { message: replay } = await replayHeld(deadLetter!);
    expect(await consume(DELIVERIES, [replay!])).toEqual({ acked: [replay!.id], retried: [], threw: undefined });
    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("keeps a replayed dead letter, with the new reason, when Braintrust refuses its passthrough key again: free to replay again, or to delete", async () => {
    const { tenant, deadLetter } = await passthroughDeadLetter();
    const { message: replay } = await replayHeld(deadLetter);
    await standin.revokeKey(tenant.apiKey);

    expect(await consume(DELIVERIES, [replay!])).toEqual({ acked: [replay!.id], retried: [], threw: undefined });

    expect(await standin.attempts(tenant.apiKey)).toEqual([expect.objectContaining({ status: 401 })]);
    const [kept] = await deadLettersOf(tenant.id);
    expect(kept).toMatchObject({ id: deadLetter.id, spans: deadLetter.spans, received_at: deadLetter.received_at });
    expect(kept!.reason).toMatch(/^Braintrust refused the client's API key: Braintrust answered 401/);
    expect((await replayHeld(deadLetter)).status).toBe(200);
  });

  it.each([
    [
      "an operator deleted it while Braintrust was asked",
      "get",
      "after",
      (deadLetter: DeadLetter) => admin("DELETE", `/dead-letters/${deadLetter.id}`),
    ],
    [
      "its tenant was deleted just before it would be written",
      "put",
      "before",
      (deadLetter: DeadLetter) => admin("DELETE", `/tenants/${deadLetter.tenant}`),
    ],
  ] as const)("keeps no replayed dead letter anew, refused again, when %s: it stays deleted", async (_, method, at, remove) => {
    const { tenant, deadLetter } = await passthroughDeadLetter();
    const { message: replay } = await replayHeld(deadLetter);
    await standin.revokeKey(tenant.apiKey);
    const payloads = meddlingBinding(env.PAYLOADS, method, at, async () => {
      expect((await remove(deadLetter)).status).toBe(204);
    });

    const { result, events } = await loggedWhile(() => consume(DELIVERIES, [replay!], { PAYLOADS: payloads }));

    expect(result).toEqual({ acked: [replay!.id], retried: [], threw: undefined });
    expect(await standin.attempts(tenant.apiKey)).toEqual([expect.objectContaining({ status: 401 })]);
    expect(await storedDeadLetterKeys(tenant.id)).toEqual([]);
    // Past its attempt, the replay is skipped as one whose dead letter is gone, not kept as one.
    const ofReplay = events
      .filter((e) => e.delivery_id === replay!.id && e.event !== "delivery_attempt")
      .map(({ event, why }) => [event, why]);
    expect(ofReplay).toEqual([["duplicate_delivery_skipped", "its dead letter was deleted"]]);
  });

  it("splits no replay Braintrust answered 413 whose dead letter an operator deleted while it was asked: its spans stay deleted", async () => {
    const { tenant, deadLetter } = await passthroughDeadLetter();
    const { message: replay } = await replayHeld(deadLetter);
    await standin.script(tenant.apiKey, [{ status: 413 }]);
    const queue = recordingQueue<DeliveryMessage>();
    const payloads = meddlingBinding(env.PAYLOADS, "get", "after", async () => {
      expect((await admin("DELETE", `/dead-letters/${deadLetter.id}`)).status).toBe(204);
    });

    const { result, events } = await loggedWhile(() => consume(DELIVERIES, [replay!], { PAYLOADS: payloads, DELIVERY_QUEUE: queue }));

    expect(result).toEqual({ acked: [replay!.id], retried: [], threw: undefined });
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([413]);
    expect(queue.sent).toEqual([]);
    expect(await tenantSpills(tenant.id)).toEqual([]);
    expect(await storedDeadLetterKeys(tenant.id)).toEqual([]);
    const ofReplay = events
      .filter((e) => e.delivery_id === replay!.id && e.event !== "delivery_attempt")
      .map(({ event, why }) => [event, why]);
    expect(ofReplay).toEqual([["duplicate_delivery_skipped", "its dead letter was deleted"]]);
  });

  it("keeps the dead letter, refused again, when an older replay's copy came in one batch with a later replay's and was sent instead", async () => {
    const { tenant, deadLetter, older, later } = await olderAndLaterReplays();

    // Cloudflare delivers the older replay's message again, in one batch with the later replay's.
    await consumedAsRepeats(older, later);

    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([401, 401]);
    expect((await deadLettersOf(tenant.id)).map((d) => d.id)).toEqual([deadLetter.id]);
    // Nothing of the dead letter is on the queue: the next replay sends it, not a 409 for a day.
    expect((await replayHeld(deadLetter)).status).toBe(200);
  });

  it("lets go of a later replay's claim when its copy comes in one batch with an older replay's, which Braintrust asks to retry: the next replay is not refused", async () => {
    const { tenant, deadLetter, older, later } = await olderAndLaterReplays();
    await standin.script(tenant.apiKey, [{ status: 503, beforeChecks: true }]);

    // The older copy is sent and queued for a retry, the dead letter left as it was; the later copy is a repeat.
    const queue = await consumedAsRepeats(older, later);

    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([401, 503]);
    expect(queue.sent.map((m) => m.body.id)).toEqual([older.id]);
    // The later replay's claim, which its skipped copy carried, is let go of: not a 409 for a day.
    expect((await replayHeld(deadLetter)).status).toBe(200);
  });

  it("keeps the claim of a replay whose message came twice in its batch and is queued for a retry: its spans are still on their way", async () => {
    const { tenant, deadLetter } = await passthroughDeadLetter();
    const { message: replay } = await replayHeld(deadLetter);
    await standin.script(tenant.apiKey, [{ status: 503 }]);

    const queue = await consumedAsRepeats(replay!, { ...replay! });

    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([503]);
    expect(queue.sent.map((m) => m.body.replayClaim)).toEqual([replay!.replayClaim]);
    // Another replay now would queue the same spans beside the retry.
    expect((await replayHeld(deadLetter)).status).toBe(409);
  });

  it("keeps the halves of a replay Braintrust split (413) as dead letters of their own when it then refuses their passthrough key: no span is dropped", async () => {
    const { tenant, deadLetter } = await passthroughDeadLetter();
    const { message: replay } = await replayHeld(deadLetter);
    await standin.script(tenant.apiKey, [{ status: 413 }]);
    const queue = recordingQueue<DeliveryMessage>();
    expect(await consume(DELIVERIES, [replay!], { DELIVERY_QUEUE: queue })).toEqual({ acked: [replay!.id], retried: [], threw: undefined });
    const halves = queue.sent.map((m) => m.body);
    expect(halves.map((h) => h.id)).toEqual([`${replay!.id}.a`, `${replay!.id}.b`]);
    await standin.revokeKey(tenant.apiKey);

    expect(await consume(DELIVERIES, halves)).toEqual({ acked: halves.map((h) => h.id), retried: [], threw: undefined });

    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([413, 401, 401]);
    const kept = await deadLettersOf(tenant.id);
    expect(kept.map((d) => d.id).toSorted()).toEqual([`${deadLetter.id}.a`, `${deadLetter.id}.b`]);
    expect(kept.reduce((sum, d) => sum + d.spans, 0)).toBe(deadLetter.spans);
    expect(kept.map((d) => d.reason)).toEqual([
      expect.stringMatching(/^Braintrust refused the client's API key: /),
      expect.stringMatching(/^Braintrust refused the client's API key: /),
    ]);
    // Counted where the replay ended, as dead letters, not also as refused.
    const stats = (await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as { total: { spans: Record<string, unknown> } };
    expect(stats.total.spans).toMatchObject({ dead_lettered: 3 + 3, rejected: { invalid: 0, refused_upstream: 0 } });
  });
});

/**
 * Two copies of one delivery handed to the consumer in one batch, both acked: the first sent, the
 * second a repeat. The queue a retry of the first went to.
 */
async function consumedAsRepeats(
  first: DeliveryMessage,
  second: DeliveryMessage,
): Promise<ReturnType<typeof recordingQueue<DeliveryMessage>>> {
  const queue = recordingQueue<DeliveryMessage>();
  expect(await consume(DELIVERIES, [first, second], { DELIVERY_QUEUE: queue })).toEqual({
    acked: [first.id, first.id],
    retried: [],
    threw: undefined,
  });
  return queue;
}

/**
 * A passthrough tenant's dead letter replayed twice: the older replay refused again (its key revoked:
 * 401), which lets go of its claim, and a later one accepted. Both replays' messages, for the test to
 * hand the consumer.
 */
async function olderAndLaterReplays() {
  const { tenant, deadLetter } = await passthroughDeadLetter();
  const older = (await replayHeld(deadLetter)).message!;
  await standin.revokeKey(tenant.apiKey);
  expect(await consume(DELIVERIES, [older])).toEqual({ acked: [older.id], retried: [], threw: undefined });
  const later = await replayHeld(deadLetter);
  expect(later.status).toBe(200);
  return { tenant, deadLetter, older, later: later.message! };
}

/** A replay by id whose message stays here, for the test to hand the consumer. */
async function replayHeld(deadLetter: DeadLetter): Promise<{ status: number; message: DeliveryMessage | undefined }> {
  const queue = recordingQueue<DeliveryMessage>();
  const response = await adminWith({ DELIVERY_QUEUE: queue }, "POST", "/dead-letters/replay", { id: deadLetter.id });
  return { status: response.status, message: queue.sent[0]?.body };
}

// One test at a time: some watch console.log, which concurrent tests would share.
describe("the delivery queue's consumer, for a tenant deleted since the spans were accepted", () => {
  it.each([
    { mode: "stored_key", fate: "deleted" },
    { mode: "stored_key", fate: "created again under the same id with another key and URL" },
    { mode: "passthrough", fate: "created again under the same id with another key and URL" },
  ] as const)(
    "drops a $mode tenant's queued spans when it was $fate: nothing is sent, nothing kept, the drop logged",
    async ({ mode, fate }) => {
      const tenant = await createTenant({ mode });
      const protobuf = toProtobuf(trueFoundryTrace());
      const clientKey = mode === "passthrough" ? await sealClientKey(tenant.apiKey, env, tenant.id, standin.url) : {};
      const message = await spilled(queuedMessage(tenant, protobuf, { ...clientKey, receivedAt: LONG_AGO }), protobuf);
      const nextOwnersKey = await deleteTenant(tenant.id, { recreate: fate !== "deleted" });
      const { result: consumed, events } = await loggedWhile(() => consume(DELIVERIES, [message]));

      expect(consumed).toEqual({ acked: [message.id], retried: [], threw: undefined });
      expect(await standin.attempts(tenant.apiKey)).toEqual([]);
      if (nextOwnersKey) expect(await standin.attempts(nextOwnersKey)).toEqual([]);
      expect(await storedDeadLetterKeys(tenant.id)).toEqual([]);
      expect(await inR2(message.payload.r2Key)).toBe(false);
      expect(events.filter((e) => e.delivery_id === message.id)).toEqual([discardedLine(message)]);
      // The tenant now under the id never had these spans queued: none leave its queue either.
      if (nextOwnersKey) {
        const stats = (await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as { total: { spans: { left_queue: number } } };
        expect(stats.total.spans.left_queue).toBe(0);
      }
    },
  );

  it.each([
    [DELIVERIES, "hands the message back in 30 s"],
    [DEAD_LETTERS, "keeps the message as a dead letter"],
  ] as const)(
    "never reads a tenant as gone from the copy this isolate last read when KV fails: %s %s, though the tenant was created again since",
    async (queue, _outcome) => {
      const tenant = await createTenant();
      // This isolate reads the tenant as it is now, delivering a first message.
      expect((await consume(DELIVERIES, [queuedMessage(tenant, toProtobuf(trueFoundryTrace()))])).acked).toHaveLength(1);
      // Deleted and created again elsewhere (its Durable Object, another isolate): KV has a new incarnation, this isolate's copy the old.
      const incarnation = crypto.randomUUID();
      const { value, metadata } = await env.TENANTS.getWithMetadata<Record<string, unknown>>(`tenant:${tenant.id}`, "json");
      await env.TENANTS.put(`tenant:${tenant.id}`, JSON.stringify({ ...value, incarnation }), { metadata });
      const failing = failingBinding(env.TENANTS, "get", "KV GET failed: 503 Service Unavailable", (key) => key === `tenant:${tenant.id}`);
      const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()), { incarnation, receivedAt: LONG_AGO });
      // Past the isolate's own 5 s: the next read goes to KV, which fails it.
      const clock = vi.spyOn(Date, "now").mockReturnValue(Date.now() + 10_000);

      const { result, events } = await loggedWhile(() => consume(queue, [message], { TENANTS: failing })).finally(() =>
        clock.mockRestore(),
      );

      expect(events.map((e) => e.event)).not.toContain("tenant_gone_discarded");
      if (queue === DELIVERIES)
        expect(result).toEqual({ acked: [], retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }], threw: undefined });
      else expect(await deadLettersOf(tenant.id)).toEqual([expect.objectContaining({ id: `${tenant.id}:${message.id}` })]);
      expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
    },
  );

  it.each([
    [DELIVERIES, "delivers the spans"],
    [DEAD_LETTERS, "keeps them as a dead letter"],
  ] as const)(
    "asks the tenant's Durable Object before dropping spans KV's copy reads as another tenant's, past the time a change takes to apply: %s %s",
    async (queue, _outcome) => {
      const tenant = await createTenant();
      // This location's KV still holds the tenant that was under the id before (KV's propagation is "60 s or
      // more", and a copy KV refused is written again only by the object's alarm); its object holds the tenant now.
      const { value, metadata } = await env.TENANTS.getWithMetadata<Record<string, unknown>>(`tenant:${tenant.id}`, "json");
      await env.TENANTS.put(`tenant:${tenant.id}`, JSON.stringify({ ...value, incarnation: crypto.randomUUID() }), { metadata });
      const trace = trueFoundryTrace();
      const message = queuedMessage(tenant, toProtobuf(trace), { receivedAt: LONG_AGO });
      // Past the isolate's own 5 s: the next read goes to KV.
      const clock = vi.spyOn(Date, "now").mockReturnValue(Date.now() + 10_000);

      const { result, events } = await loggedWhile(() => consume(queue, [message])).finally(() => clock.mockRestore());

      expect(result).toEqual({ acked: [message.id], retried: [], threw: undefined });
      expect(events.map((e) => e.event)).not.toContain("tenant_gone_discarded");
      if (queue === DELIVERIES)
        expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
      else expect(await deadLettersOf(tenant.id)).toEqual([expect.objectContaining({ id: `${tenant.id}:${message.id}` })]);
    },
  );

  it("puts a message back, unsent, when it is younger than a tenant change takes to apply: the tenant may only be too new for this location", async () => {
    const tenant = await createTenant();
    // As if this location still read the tenant that was under this id before the message's.
    const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()), { incarnation: crypto.randomUUID() });
    const queue = recordingQueue(env.DELIVERY_QUEUE);

    expect(await consume(DELIVERIES, [message], { DELIVERY_QUEUE: queue })).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect(queue.sent).toEqual([{ body: message, contentType: "v8", delaySeconds: expect.any(Number) }]);
    // Default TENANT_CACHE_TTL_SECONDS: 5 s in the isolate, 60 s of KV cache, 60 s of KV propagation.
    expect(queue.sent[0]!.delaySeconds).toBeGreaterThan(115);
    expect(queue.sent[0]!.delaySeconds).toBeLessThanOrEqual(125);
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("delivers a tenant's queued spans after a PUT replaced it with another key and URL: replacing keeps the incarnation", async () => {
    const tenant = await createTenant();
    expect(tenant.incarnation).toEqual(expect.any(String));
    const trace = trueFoundryTrace();
    const message = queuedMessage(tenant, toProtobuf(trace), { receivedAt: LONG_AGO });
    const rotated = await standin.issueKey();
    const replaced = await admin("PUT", `/tenants/${tenant.id}`, {
      parent: tenant.parent,
      braintrust: { api_url: `${standin.url}/self-hosted/`, api_key: rotated },
    });
    expect(replaced.status).toBe(200);
    expect(await incarnationOf(tenant.id)).toBe(tenant.incarnation);

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    const received = await standin.received(rotated);
    expect(received.map((r) => [r.path, spanIdsOf(r.request)])).toEqual([["/self-hosted/otel/v1/traces", spanIdsOf(trace)]]);
  });

  it("delivers spans queued before incarnations existed to a tenant recorded before them, also once a PUT replaced it", async () => {
    const tenant = await createTenant();
    // The record as the relay wrote it before incarnations, and a message queued then.
    const { value, metadata } = await env.TENANTS.getWithMetadata<Record<string, unknown>>(`tenant:${tenant.id}`, "json");
    const { incarnation: _, ...legacy } = value!;
    await env.TENANTS.put(`tenant:${tenant.id}`, JSON.stringify(legacy), { metadata });
    await asRecordedBeforeDurableObjects(tenant.id);
    const rotated = await standin.issueKey();
    await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: standin.url, api_key: rotated } });
    const trace = trueFoundryTrace();
    const message = queuedMessage(tenant, toProtobuf(trace), { incarnation: undefined, receivedAt: LONG_AGO });

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect(await incarnationOf(tenant.id)).toBeUndefined();
    expect((await standin.received(rotated)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
  });
});
