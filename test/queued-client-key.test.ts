import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { sealClientKey } from "../src/deliver/client-key.js";
import { DeadLetterStore } from "../src/deliver/dead-letters.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { sealSecret } from "../src/secrets/seal.js";
import { isAcceptedKey } from "../src/tenants/accepted-keys.js";
import { recordingQueue } from "./support/bindings.js";
import { deadLettersOf, waitForDeadLetters } from "./support/dead-letters.js";
import { CONSUMER_RETRY, consume, DELIVERIES, queuedMessage } from "./support/queue.js";
import { admin, createTenant, OTHER_ENCRYPTION_KEY } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { spanIdsOf } from "./support/traces.js";

describe.concurrent("a passthrough client's queued key", () => {
  /** A passthrough tenant, a trace queued with the client's key for the tenant's api_url, and a PUT that then moved the tenant to the stand-in's self-hosted path. */
  async function queuedThenMoved() {
    const tenant = await createTenant({ mode: "passthrough" });
    const trace = trueFoundryTrace();
    const clientKey = await sealClientKey(tenant.apiKey, env, tenant.id, standin.url);
    const message = queuedMessage(tenant, toProtobuf(trace), clientKey);
    const moved = `${standin.url}/self-hosted`;
    expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: moved } })).status).toBe(200);
    return { tenant, trace, clientKey, message, moved };
  }

  it("is not sent to an api_url an admin changed to since: the spans become a dead letter saying why, and a replay sends them once api_url is back", async () => {
    const { tenant, trace, message, moved } = await queuedThenMoved();

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
    const reason = `the tenant's api_url changed to ${moved} after the client's Braintrust key was sent for ${standin.url}, and the key goes nowhere else: replay once api_url is ${standin.url} again, or delete`;
    const [deadLetter, ...more] = await deadLettersOf(tenant.id);
    expect(more).toEqual([]);
    expect(deadLetter).toMatchObject({ id: `${tenant.id}:${message.id}`, reason, attempts: 1, spans: 3 });

    // Replayed while the tenant is still elsewhere: a dead letter again, nothing sent.
    expect((await admin("POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(200);
    const again = await waitForDeadLetters(tenant.id, ([d]) => d !== undefined && d.dead_lettered_at !== deadLetter!.dead_lettered_at);
    expect(again).toEqual([expect.objectContaining({ id: deadLetter!.id, reason, attempts: 0 })]);
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);

    expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: standin.url } })).status).toBe(200);
    expect((await admin("POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(200);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
    expect(arrival.requests.map((r) => r.path)).toEqual(["/otel/v1/traces"]);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("goes to the api_url it was sent for, the tenant's now, when the consumer's KV copy still has the one before the move: the tenant's Durable Object is asked before the spans are kept", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const before = await env.TENANTS.getWithMetadata<Record<string, unknown>>(`tenant:${tenant.id}`, "json");
    const moved = `${standin.url}/self-hosted`;
    expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: moved } })).status).toBe(200);
    // KV's record from before the move, as a location whose copy lags it serves it.
    await env.TENANTS.put(`tenant:${tenant.id}`, JSON.stringify(before.value), { metadata: before.metadata });
    const trace = trueFoundryTrace();
    // Queued by a request the moved tenant took: the client's key sent for the new api_url.
    const message = queuedMessage(tenant, toProtobuf(trace), await sealClientKey(tenant.apiKey, env, tenant.id, moved));

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
    expect(arrival.requests.map((r) => r.path)).toEqual(["/self-hosted/otel/v1/traces"]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("leaves a dead letter whose reason is cut to 1000 characters when the api_url it names is long", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()), await sealClientKey(tenant.apiKey, env, tenant.id, standin.url));
    // The reason shares R2's 8 KiB of an object's metadata with the parent and the key's api_url: cut, it fits beside them.
    const moved = `${standin.url}/${"p".repeat(1900)}`;
    expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: moved } })).status).toBe(200);

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    const reason = `the tenant's api_url changed to ${moved} after the client's Braintrust key was sent for ${standin.url}, and the key goes nowhere else: replay once api_url is ${standin.url} again, or delete`;
    expect((await deadLettersOf(tenant.id)).map((d) => d.reason)).toEqual([reason.slice(0, 1000)]);
  });

  it("does not open for the tenant's new api_url even when the message is made to claim it: nothing is sent", async () => {
    const { tenant, message, moved } = await queuedThenMoved();

    const consumed = await consume(DELIVERIES, [{ ...message, clientKeyApiUrl: moved }]);

    expect(consumed).toEqual({ acked: [], retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }], threw: undefined });
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it("goes to the tenant's api_url when a relay queued it before keys were bound to one, as it went then", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const trace = trueFoundryTrace();
    // Sealed as those relays sealed a queued key: bound to the tenant alone.
    const sealedClientKey = await sealSecret(tenant.apiKey, env, `queued-client-key:${tenant.id}`);
    const message = queuedMessage(tenant, toProtobuf(trace), { sealedClientKey });

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
  });
  it("goes to the tenant's api_url when the key was sealed for it but came without it, as an older trace-routes object keeps it", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const trace = trueFoundryTrace();
    const { sealedClientKey } = await sealClientKey(tenant.apiKey, env, tenant.id, standin.url);
    const message = queuedMessage(tenant, toProtobuf(trace), { sealedClientKey });

    expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });

    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
  });

  describe("sealed before an ENCRYPTION_KEY rotation (README, Rotating ENCRYPTION_KEY)", () => {
    const rotating = { ENCRYPTION_KEY: OTHER_ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY };
    const rotated = { ENCRYPTION_KEY: OTHER_ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS: "" };

    async function queuedUnderOldKey() {
      const tenant = await createTenant({ mode: "passthrough" });
      const trace = trueFoundryTrace();
      const message = queuedMessage(tenant, toProtobuf(trace), await sealClientKey(tenant.apiKey, env, tenant.id, standin.url));
      return { tenant, trace, message };
    }

    it("goes on sealed under the new key in the dead letter a refusal leaves during the rotation: replayed after it, it is delivered", async () => {
      const { tenant, trace, message } = await queuedUnderOldKey();
      await standin.script(tenant.apiKey, [{ status: 403 }]);
      expect(await consume(DELIVERIES, [message], rotating)).toEqual({ acked: [message.id], retried: [], threw: undefined });
      const [deadLetter] = await deadLettersOf(tenant.id);

      // The rotation over: only the new key opens anything.
      const replay = (await new DeadLetterStore(env.PAYLOADS).replay(deadLetter!.id))!.message;
      expect(await consume(DELIVERIES, [replay], rotated)).toEqual({ acked: [replay.id], retried: [], threw: undefined });

      expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
      expect(await deadLettersOf(tenant.id)).toEqual([]);
    });

    it("goes on sealed under the new key in the dead letter an api_url changed meanwhile leaves during the rotation: replayed after it, once api_url is back, it is delivered", async () => {
      const { tenant, trace, message } = await queuedUnderOldKey();
      const moved = `${standin.url}/self-hosted`;
      expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: moved } })).status).toBe(200);
      expect(await consume(DELIVERIES, [message], rotating)).toEqual({ acked: [message.id], retried: [], threw: undefined });
      const [deadLetter] = await deadLettersOf(tenant.id);
      expect(deadLetter!.reason).toMatch(/^the tenant's api_url changed to /);

      // The rotation over, the tenant back where the client sent its key.
      expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: standin.url } })).status).toBe(
        200,
      );
      const replay = (await new DeadLetterStore(env.PAYLOADS).replay(deadLetter!.id))!.message;
      expect(await consume(DELIVERIES, [replay], rotated)).toEqual({ acked: [replay.id], retried: [], threw: undefined });

      expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
      expect(await deadLettersOf(tenant.id)).toEqual([]);
    });

    it("is kept as it came in the dead letter an api_url changed meanwhile leaves when no key opens it any more", async () => {
      const tenant = await createTenant({ mode: "passthrough" });
      const gone = { ENCRYPTION_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(3))) };
      const message = queuedMessage(
        tenant,
        toProtobuf(trueFoundryTrace()),
        await sealClientKey(tenant.apiKey, gone, tenant.id, standin.url),
      );
      const moved = `${standin.url}/self-hosted`;
      expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: moved } })).status).toBe(200);

      expect(await consume(DELIVERIES, [message], rotating)).toEqual({ acked: [message.id], retried: [], threw: undefined });

      const [deadLetter] = await deadLettersOf(tenant.id);
      expect(deadLetter!.reason).toMatch(/^the tenant's api_url changed to /);
      expect(await standin.attempts(tenant.apiKey)).toEqual([]);
    });

    it.each([
      ["the retry a 503", 503, 1],
      ["the halves a 413", 413, 2],
    ])("goes on sealed under the new key in %s queues during the rotation, delivered after it", async (_, status, messages) => {
      const { tenant, trace, message } = await queuedUnderOldKey();
      await standin.script(tenant.apiKey, [{ status }]);
      const queue = recordingQueue<DeliveryMessage>();
      expect(await consume(DELIVERIES, [message], { ...rotating, DELIVERY_QUEUE: queue })).toMatchObject({ acked: [message.id] });
      const queued = queue.sent.map((sent) => sent.body);
      expect(queued).toHaveLength(messages);
      expect(queued.map((next) => next.sealedClientKey)).not.toContain(message.sealedClientKey);
      expect(queued.map((next) => next.clientKeyApiUrl)).toEqual(queued.map(() => standin.url));

      expect(await consume(DELIVERIES, queued, rotated)).toEqual({ acked: queued.map((next) => next.id), retried: [], threw: undefined });

      const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
      expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
    });
  });

  it("is trusted once Braintrust takes spans queued with it, forgotten when Braintrust answers 401, and still trusted after a 403", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const offered = { tenantId: tenant.id, incarnation: tenant.incarnation, apiUrl: standin.url, apiKey: tenant.apiKey };
    const clientKey = await sealClientKey(tenant.apiKey, env, tenant.id, standin.url);
    const delivered = async () => {
      const message = queuedMessage(tenant, toProtobuf(trueFoundryTrace()), clientKey);
      expect(await consume(DELIVERIES, [message])).toEqual({ acked: [message.id], retried: [], threw: undefined });
    };
    expect(await isAcceptedKey(offered)).toBe(false);

    await delivered();
    const afterDelivery = await isAcceptedKey(offered);
    // A 403 may be about the parent alone: the key stays trusted for the others.
    await standin.script(tenant.apiKey, [{ status: 403 }]);
    await delivered();
    const afterForbidden = await isAcceptedKey(offered);
    await standin.script(tenant.apiKey, [{ status: 401 }]);
    await delivered();

    expect(afterDelivery).toBe(true);
    expect(afterForbidden).toBe(true);
    expect(await isAcceptedKey(offered)).toBe(false);
    expect((await deadLettersOf(tenant.id)).map((d) => d.reason).sort()).toEqual([
      expect.stringMatching(/^Braintrust refused the client's API key: .*401/),
      expect.stringMatching(/^Braintrust refused the client's API key: .*403/),
    ]);
  });

  it("does not open, without its api_url, a key sealed for one the tenant has left: nothing is sent", async () => {
    const { tenant, clientKey, message } = await queuedThenMoved();

    const consumed = await consume(DELIVERIES, [{ ...message, sealedClientKey: clientKey.sealedClientKey, clientKeyApiUrl: undefined }]);

    expect(consumed).toEqual({ acked: [], retried: [{ id: message.id, delaySeconds: CONSUMER_RETRY }], threw: undefined });
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });
});
