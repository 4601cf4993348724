import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { attr, randomId, spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { messagesFor } from "../src/deliver/queue.js";
import { hex } from "../src/encoding/bytes.js";
import worker from "../src/index.js";
import { matchesDigest, secretsEqual } from "../src/secrets/compare.js";
import { loggedWhile } from "./support/logs.js";
import { ADMIN_TOKEN, createTenant, relayFetch, sendTraces, sendTracesWith, type TestTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { requestOf, rpcStatusOf, spanWith } from "./support/traces.js";

describe("tenant isolation", () => {
  it.each([
    "/t/ACME/v1/traces",
    "/t/victim%2F..%2Fattacker/v1/traces",
    "/t/victim%00/v1/traces",
    "/t/vіctim/v1/traces", // Cyrillic і
    "/t/victim/v1/traces%2F..%2F..%2Fadmin",
    "/t//v1/traces",
    `/t/${"a".repeat(65)}/v1/traces`,
  ])("a path trick (%s) reaches no tenant and forwards nothing", async (path) => {
    const victim = await createTenant();

    const response = await relayFetch(path.replace("victim", victim.id), {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${victim.bearer}` },
      body: toProtobuf(trueFoundryTrace()),
    });

    expect(response.status).toBe(404);
    expect(await standin.attempts(victim.apiKey)).toEqual([]);
  });

  it("a path that normalises to another tenant needs that tenant's credentials", async () => {
    const attacker = await createTenant();
    const victim = await createTenant();

    const response = await relayFetch(`/t/${attacker.id}/v1/../../${victim.id}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${attacker.bearer}` },
      body: toProtobuf(trueFoundryTrace()),
    });

    expect(response.status).toBe(401);
    expect(await standin.attempts(victim.apiKey)).toEqual([]);
    expect(await standin.attempts(attacker.apiKey)).toEqual([]);
  });

  // A URL parser resolves `/t/../admin` before the relay sees it; a `/` encoded inside the tenant's
  // segment is what would reach the admin API, were a layer to decode it before routing.
  it.each(["/t/..%2Fadmin%2Ftenants/v1/traces", "/t/%2E%2E%2Fadmin%2Ftenants/v1/traces", "/t/admin%2Ftenants/v1/traces"])(
    "an ingest path never reaches the admin API, even with the admin token: %s",
    async (path) => {
      const response = await relayFetch(path, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/x-protobuf" },
        body: toProtobuf(trueFoundryTrace()),
      });

      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toBe("application/x-protobuf");
      expect((await rpcStatusOf(response)).message).toBe("no such tenant: tenant ids are 1-64 characters of a-z, 0-9, - and _");
    },
  );

  it("a sealed key copied into another tenant's record does not open there, even once opened for its own tenant", async () => {
    const owner = await createTenant();
    const thief = await createTenant();
    expect((await sendTraces(owner, toProtobuf(trueFoundryTrace()))).status).toBe(200);

    // Someone with write access to the KV namespace copies the owner's sealed key into their own record.
    const ownerRecord = JSON.parse((await env.TENANTS.get(`tenant:${owner.id}`))!) as { api_key_sealed: string };
    const thiefRecord = JSON.parse((await env.TENANTS.get(`tenant:${thief.id}`))!) as Record<string, unknown>;
    await env.TENANTS.put(`tenant:${thief.id}`, JSON.stringify({ ...thiefRecord, api_key_sealed: ownerRecord.api_key_sealed }));
    const response = await sendTraces(thief, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(503);
    expect((await rpcStatusOf(response)).message).toBe("a stored secret does not open with the current ENCRYPTION_KEY");
    expect(await standin.received(owner.apiKey)).toHaveLength(1);
  });

  it("compares secrets of any length without throwing or revealing the length", async () => {
    expect(await secretsEqual("token", "token")).toBe(true);
    expect(await secretsEqual("token", "token ")).toBe(false);
    expect(await secretsEqual("", "x".repeat(10_000))).toBe(false);
    expect(await matchesDigest("anything", "not-a-digest")).toBe(false);
  });

  it.each([
    ["a typed array", (size: number) => new Uint8Array(size)],
    ["a Buffer, whose slice() is a view", (size: number) => Buffer.alloc(size)],
  ])("a queued message carries its own spans' bytes and nothing that sat beside them in %s", async (_, allocate) => {
    const spans = toProtobuf(trueFoundryTrace());
    const neighbour = new TextEncoder().encode("another tenant's prompt");
    const memory = allocate(neighbour.byteLength + spans.byteLength + neighbour.byteLength);
    memory.set(neighbour);
    memory.set(spans, neighbour.byteLength);
    memory.set(neighbour, neighbour.byteLength + spans.byteLength);
    const template = { id: "d1", tenant: "acme", parent: "project_name:p", attempts: 1, serverErrors: 0, receivedAt: 0 };

    const messages = await messagesFor(
      template,
      memory.subarray(neighbour.byteLength, neighbour.byteLength + spans.byteLength),
      3,
      env.PAYLOADS,
      "fresh",
    );

    // What a queue send serialises: a typed array goes with its whole buffer.
    const sent = structuredClone(messages);
    expect(sent).toHaveLength(1);
    const payload = sent[0]!.payload;
    expect("inline" in payload && new Uint8Array(payload.inline.buffer)).toEqual(spans);
  });
});

/**
 * Two routing tenants whose spans share a trace id (anyone who knows another tenant's trace id, or two
 * tenants in one distributed trace): each one's waiting spans are released as its own deliveries,
 * never taken for the other's, neither when small nor when spilled to R2.
 */
describe("tenant isolation: spans that waited for their trace", () => {
  const neverMatches = { match: { field: "span_name", equals: "never-matches" }, parent: "experiment_id:never" };
  const routingTenant = () => createTenant({ config: { translate: false, routes: [neverMatches], trace_wait_seconds: 1 } });
  /** A child span: it decides nothing, so it waits for its trace. */
  const child = (traceId: Uint8Array, name: string, note: string) =>
    spanWith(name, [attr("note", note)], { traceId, parentSpanId: randomId(8) });
  const namesAt = async (tenant: TestTenant) =>
    (await standin.received(tenant.apiKey)).flatMap((r) => spansOf(r.request).map((span) => span.name));

  it.each([
    ["small", 1],
    ["spilled to R2", 300_000],
  ])("each tenant's own, %s, reach its own Braintrust only", async (_size, noteBytes) => {
    const [a, b] = [await routingTenant(), await routingTenant()];
    const traceId = randomId(16);
    const spanA = child(traceId, "tenant A's span", "A".repeat(noteBytes));
    const spanB = child(traceId, "tenant B's span", "B".repeat(noteBytes));

    expect((await sendTraces(a, toProtobuf(requestOf([spanA])))).status).toBe(200);
    expect((await sendTraces(b, toProtobuf(requestOf([spanB])))).status).toBe(200);

    const arrivals = await Promise.all([
      standin.waitForSpans(a.apiKey, [hex(spanA.spanId)], 20_000),
      standin.waitForSpans(b.apiKey, [hex(spanB.spanId)], 20_000),
    ]);
    expect(arrivals.map((arrival) => arrival.missing)).toEqual([[], []]);
    expect(await namesAt(a)).toEqual(["tenant A's span"]);
    expect(await namesAt(b)).toEqual(["tenant B's span"]);
    expect(spansOf(arrivals[1].requests[0]!.request)[0]!.attributes).toEqual(spanB.attributes);
  });
});

describe("upstream URLs when ALLOW_INSECURE_UPSTREAM is off", () => {
  it.each([
    "http://api.braintrust.dev",
    "https://127.0.0.1",
    "https://2130706433",
    "https://0x7f.0.0.1",
    "https://169.254.169.254",
    "https://[::ffff:169.254.169.254]",
    "https://[::1]",
    "https://localhost",
    "https://braintrust.internal",
    "https://10.0.0.8",
  ])("refuses %s when a tenant is saved", async (apiUrl) => {
    const response = await worker.fetch(
      new Request("https://relay.test/admin/tenants/url-check", {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ parent: "project_id:p", braintrust: { api_url: apiUrl } }),
      }),
      { ...env, ALLOW_INSECURE_UPSTREAM: "false" },
      createExecutionContext(),
    );

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { field: string } }).error.field).toBe("braintrust.api_url");
    expect(await env.TENANTS.get("tenant:url-check")).toBeNull();
  });

  it("sends nothing to a URL a tenant was saved with under looser settings, and logs that no answer came rather than a status", async () => {
    // Saved with the stand-in's http://127.0.0.1 URL, which the tests' own settings allow.
    const tenant = await createTenant();

    const { result: response, events } = await loggedWhile(() =>
      sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { ALLOW_INSECURE_UPSTREAM: "false" }),
    );

    expect(response.status).toBe(200);
    const attempt = events.find((e) => e.event === "delivery_attempt" && e.tenant === tenant.id);
    expect(attempt).toMatchObject({ outcome: "rejected", upstream_status: null });
    expect(attempt?.reason).toMatch(/^the tenant's Braintrust URL is not allowed: /);
    expect(await standin.received(tenant.apiKey)).toEqual([]);
  });
});
