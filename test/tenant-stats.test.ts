import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { sealClientKey } from "../src/deliver/client-key.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { shardOf, traceRoutesObject } from "../src/deliver/trace-route-shards.js";
import { hex } from "../src/encoding/bytes.js";
import { STATS_COLUMNS, statsColumns, upstreamErrorPassed } from "../src/stats/columns.js";
import {
  type Counts,
  emptyCounts,
  MINUTE_MS,
  MODEL_NAME_LIMIT,
  MODELS_BY_NAME,
  minuteOf,
  OTHER_MODELS,
  type StatsDelta,
} from "../src/stats/counts.js";
import { KEPT_MINUTES, type TenantStatsReport, TenantStatsStore } from "../src/stats/store.js";
import { GATEWAY_SHAPES } from "./fixtures/gateway-shapes.js";
import { failingBinding, failingObject, olderObjects, recordingQueue } from "./support/bindings.js";
import { deadLettersOf } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import { consume, queuedMessage } from "./support/queue.js";
import {
  admin,
  adminWith,
  asRecordedBeforeDurableObjects,
  createTenant,
  createTenantAgain,
  fixedWhileKvLags,
  issueToken,
  sendTraces,
  sendTracesWith,
  type TestTenant,
  uniqueTenantId,
} from "./support/relay.js";
import { routingTenant } from "./support/routing.js";
import { standin } from "./support/standin.js";
import { attributesOf, exportResponseOf, largeRequest, requestOf, spanIdsOf, spanWith } from "./support/traces.js";

type Report = TenantStatsReport & { tenant: string; per_minute: NonNullable<TenantStatsReport["per_minute"]> };

async function statsOf(tenantId: string): Promise<Report> {
  const response = await admin("GET", `/tenants/${tenantId}/stats`);
  expect(response.status).toBe(200);
  return (await response.json()) as Report;
}

/** Polls the stats until `done` holds: counts are flushed after the response, off the request's path. */
async function statsWhen(tenantId: string, done: (report: Report) => boolean, timeoutMs = 30_000): Promise<Report> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await statsOf(tenantId);
    if (done(report) || Date.now() > deadline) return report;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const requestCount = (report: Report) => Object.values(report.total.requests).reduce((sum, n) => sum + n, 0);

/** The tenant's object refusing every flush, as when its storage is unavailable: the isolate keeps its counts for the next flush. */
function unavailableStatsStore(tenantId: string): Env["TENANT_OBJECTS"] {
  return failingObject(env.TENANT_OBJECTS, tenantId, "recordStats", "Durable Object storage is unavailable");
}

/** Deletes the tenant and creates another under its id, with its own key, URL and ingest token. */
async function deleteAndCreateAgain(tenant: TestTenant): Promise<Pick<TestTenant, "id" | "apiKey" | "bearer">> {
  expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);
  const apiKey = await createTenantAgain(tenant.id);
  return { id: tenant.id, apiKey, bearer: await issueToken(tenant.id) };
}

/** Spans the stand-in received with the tenant's key, every request counted. */
async function spansReceivedBy(tenant: TestTenant): Promise<number> {
  return (await standin.received(tenant.apiKey)).reduce((sum, r) => sum + spansOf(r.request).length, 0);
}

/** Counts of `n` spans received and nothing else, as a minute's row holds them. */
function receivedCounts(n: number): Counts {
  return { ...emptyCounts(), spans: { received: n } };
}

type StatsLine = { tenant: string; total: { spans: { delivered: number }; llm_usage: Record<string, unknown> }; per_minute?: unknown };

/** A fine-tuned model named after a client, and a rule that masks client names. */
const FINE_TUNED = "ft:gpt-4.1-mini:acme-client-globex::9xYz";
const FINE_TUNED_MASKED = "ft:gpt-4.1-mini:[client]::9xYz";
const CLIENT_NAMES_MASKED = { values: [{ pattern: "acme-client-[a-z]+", replacement: "[client]" }] };

/** A TrueFoundry trace whose model call is to FINE_TUNED. */
function fineTunedModelTrace(): ReturnType<typeof trueFoundryTrace> {
  const trace = trueFoundryTrace();
  const model = spansOf(trace).find((span) => span.name.startsWith("Model"))!;
  model.attributes = model.attributes.map((a) => (a.key === "tfy.model.name" ? attr("tfy.model.name", FINE_TUNED) : a));
  return trace;
}

/** `GET /admin/stats`, every page, each answered 200: the tenants it lists and those it names unavailable. */
async function everyTenantsStats(bindings: Partial<Env> = {}): Promise<{ lines: StatsLine[]; unavailable: string[] }> {
  const lines: StatsLine[] = [];
  const unavailable: string[] = [];
  let cursor: string | null = null;
  do {
    const response = await adminWith(bindings, "GET", `/stats${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { tenants: StatsLine[]; unavailable: string[]; cursor: string | null };
    lines.push(...page.tenants);
    unavailable.push(...page.unavailable);
    cursor = page.cursor;
  } while (cursor);
  return { lines, unavailable };
}

describe("per-tenant statistics", () => {
  it("counts a dead letter replayed twice while its first replay is under way as queued once: the second is refused", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"project is archived"}' }]);
    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);
    const [deadLetter] = await deadLettersOf(tenant.id);
    // The first replay's message waits here, under way, until the second replay has been answered.
    const queue = recordingQueue<DeliveryMessage>();

    const answers = [
      (await adminWith({ DELIVERY_QUEUE: queue }, "POST", "/dead-letters/replay", { id: deadLetter!.id })).status,
      (await admin("POST", "/dead-letters/replay", { id: deadLetter!.id })).status,
    ];

    expect(answers).toEqual([200, 409]);
    const [replay, ...others] = queue.sent.map((m) => m.body);
    expect(others).toEqual([]);
    expect(await consume("tfy-relay-deliveries", [replay!])).toEqual({ acked: [replay!.id], retried: [], threw: undefined });
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.duplicates).toBe(0);
    const report = await statsWhen(tenant.id, (r) => r.total.spans.left_queue === 3);
    expect(report.total.spans).toMatchObject({ queued: 3, left_queue: 3, delivered: 3 });
    expect(report.waiting_in_queue).toBe(0);
  });

  it("count every retry, the queue's as well as the one made while the client waited", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    const queue = recordingQueue<DeliveryMessage>();
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    expect((await sendTracesWith(tenant, toProtobuf(trace), { DELIVERY_QUEUE: queue })).status).toBe(200);
    const [queued, ...others] = queue.sent.map((m) => m.body);
    expect(others).toEqual([]);

    // Refused again from the queue: retried a second time, then taken.
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    expect(await consume("tfy-relay-deliveries", [queued!])).toEqual({ acked: [queued!.id], retried: [], threw: undefined });

    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
    const report = await statsWhen(tenant.id, (r) => r.total.spans.left_queue === 3);
    expect(report.total.spans).toMatchObject({ retried: 3 + 3, queued: 3, left_queue: 3, delivered: 3 });
  });

  it("count a passthrough client's key Braintrust refuses while the client waits as its request refused, not as the tenant's Braintrust failing; from the queue, as a failed attempt", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    // The tenant's own client, its spans taken, then its key revoked: each request after is refused, the client told.
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    await standin.revokeKey(tenant.apiKey);
    for (let i = 0; i < 2; i++) expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(401);
    // Anyone may send a bearer shaped like a key; Braintrust answers 401 (a key it never took draws on a
    // small budget of its own, which the client's first request and its key's second refusal drew on too).
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()), { bearer: "sk-not-a-key" })).status).toBe(401);
    const waited = await statsWhen(tenant.id, (r) => requestCount(r) === 4 && r.total.spans.delivered === 3);

    expect(waited.total.requests).toEqual({ "200": 1, "401": 3 });
    expect(waited.total.upstream).toMatchObject({ attempts: 1, errors: 0 });
    expect(waited.last_upstream_error).toBeNull();

    // A retry the queue holds with the revoked key: no client hears of it, and its spans become a dead letter.
    const protobuf = toProtobuf(trueFoundryTrace());
    const queued = queuedMessage(tenant, protobuf, await sealClientKey(tenant.apiKey, env, tenant.id, standin.url));
    expect(await consume("tfy-relay-deliveries", [queued])).toEqual({ acked: [queued.id], retried: [], threw: undefined });
    const report = await statsWhen(tenant.id, (r) => r.total.upstream.errors === 1);

    expect(report.total.upstream).toMatchObject({ attempts: 2, errors: 1 });
    expect(report.last_upstream_error).toMatchObject({ status: 401 });
  });

  it("counts a replay whose dead letter was deleted before it came up as leaving the queue: nothing stays waiting", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"project is archived"}' }]);
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    const [deadLetter] = await deadLettersOf(tenant.id);
    const queue = recordingQueue<DeliveryMessage>();
    expect((await adminWith({ DELIVERY_QUEUE: queue }, "POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(200);
    expect((await admin("DELETE", `/dead-letters/${deadLetter!.id}`)).status).toBe(204);

    const [replay, ...others] = queue.sent.map((m) => m.body);
    expect(others).toEqual([]);
    expect(await consume("tfy-relay-deliveries", [replay!])).toEqual({ acked: [replay!.id], retried: [], threw: undefined });

    const report = await statsWhen(tenant.id, (r) => r.total.spans.left_queue === 3);
    expect(report.total.spans).toMatchObject({ queued: 3, left_queue: 3, delivered: 0 });
    expect(report.waiting_in_queue).toBe(0);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
  });

  it("count a mixed run as the stand-in received it and as the client was answered", async () => {
    const tenant = await createTenant();
    const delivered = trueFoundryTrace();
    const retried = trueFoundryTrace();
    const deadLettered = trueFoundryTrace();
    const valid = spanWith("valid", []);
    const invalid = { ...spanWith("zero span id", []), spanId: new Uint8Array(8) };

    const answers = [await sendTraces(tenant, toProtobuf(delivered))];
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    answers.push(await sendTraces(tenant, toProtobuf(retried)));
    await standin.script(tenant.apiKey, [{ status: 400, body: "bad spans" }]);
    answers.push(await sendTraces(tenant, toProtobuf(deadLettered)));
    answers.push(await sendTraces(tenant, toProtobuf(requestOf([valid, invalid]))));
    answers.push(await sendTraces(tenant, toProtobuf(delivered), { bearer: "tbr_not-a-token" }));
    answers.push(await sendTraces(tenant, new Uint8Array([0xff, 0xff, 0xff])));
    answers.push(await sendTraces(tenant, toProtobuf(delivered), { contentType: "application/grpc" }));

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 401, 400, 415]);
    const rejectedAnswered = await Promise.all(
      answers.slice(2, 4).map(async (a) => Number((await exportResponseOf(a)).partialSuccess?.rejectedSpans ?? 0n)),
    );
    expect(rejectedAnswered).toEqual([3, 1]);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(retried))).missing).toEqual([]);
    const report = await statsWhen(tenant.id, (r) => r.total.spans.left_queue === 3 && requestCount(r) === 7);

    const attempts = await standin.attempts(tenant.apiKey);
    expect(report.total.requests).toEqual({ "200": 4, "400": 1, "401": 1, "415": 1 });
    expect(report.total.rejected_requests).toEqual({
      invalid: 2,
      over_limit: 0,
      unauthorised: 1,
      rate_limited: 0,
      unavailable: 0,
      misconfigured: 0,
      failed: 0,
    });
    expect(report.total.spans).toEqual({
      received: 3 + 3 + 3 + 2,
      accepted: 3 + 3 + 3 + 1,
      rejected: { invalid: 1, refused_upstream: 0, by_braintrust: 0 },
      delivered: await spansReceivedBy(tenant),
      retried: 3,
      dead_lettered: 3,
      queued: 3,
      left_queue: 3,
    });
    expect(report.total.spans.delivered).toBe(3 + 3 + 1);
    expect(report.waiting_in_queue).toBe(0);
    expect(report.total.upstream.attempts).toBe(attempts.length);
    expect(report.total.upstream.errors).toBe(attempts.filter((a) => a.status >= 300).length);
    expect(report.total.upstream.latency_ms.p50).toEqual(expect.any(Number));
    expect(report.total.upstream.latency_ms.p99).toBeGreaterThanOrEqual(report.total.upstream.latency_ms.p50!);
    expect(report.last_upstream_error).toMatchObject({ status: 400, reason: expect.stringContaining("bad spans") });
    // Everything happened within the last five minutes, and every minute of it is listed.
    expect(report.last_5m).toEqual(report.total);
    expect(report.per_minute.reduce((sum, m) => sum + (m.spans.received ?? 0), 0)).toBe(11);
  });

  it("add up the model calls of translated spans by model: the gateway's tokens and cost, each call once", async () => {
    const tenant = await createTenant();
    const traces = [trueFoundryTrace(), trueFoundryTrace()];
    const plain = await createTenant({ config: { translate: false, drop_non_ai_spans: true } });

    for (const trace of traces) expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);
    expect((await sendTraces(plain, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    // A request Braintrust did not take and the queue refused is sent again: its calls are not counted.
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const refused = await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), {
      DELIVERY_QUEUE: failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable"),
    });
    expect(refused.status).toBe(503);

    const report = await statsWhen(tenant.id, (r) => (r.total.llm_usage["gpt-4.1-mini"]?.calls ?? 0) >= 2);
    expect(report.total.llm_usage).toEqual({
      "gpt-4.1-mini": { calls: 2, prompt_tokens: 28, completion_tokens: 6, cost_usd: expect.closeTo(0.0000268, 12) },
    });
    expect(report.last_5m.llm_usage).toEqual(report.total.llm_usage);
    // Spans only checked or filtered, never translated, are never read for usage.
    const plainReport = await statsWhen(plain.id, (r) => requestCount(r) === 1);
    expect(plainReport.total.llm_usage).toEqual({});
  });

  it.each([
    ["a rule matching within it", CLIENT_NAMES_MASKED, FINE_TUNED_MASKED],
    ["a rule anchored to its start", { values: [{ pattern: "^ft:[^:]+:[^:]+", replacement: "ft:[masked]" }] }, "ft:[masked]::9xYz"],
    [
      "a rule anchored to its end",
      { values: [{ pattern: "acme-client-[a-z]+::9xYz$", replacement: "[client]" }] },
      "ft:gpt-4.1-mini:[client]",
    ],
  ])("name a model call by its model as the tenant's value rules leave it, as Braintrust shows it (%s)", async (_, redact, masked) => {
    const tenant = await createTenant({ config: { redact } });
    const trace = fineTunedModelTrace();

    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);

    const [received] = (await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).requests;
    const shown = spansOf(received!.request).find((span) => span.name.startsWith("Model"))!;
    expect(JSON.parse(String(attributesOf(shown)["braintrust.metadata"])).model).toBe(masked);
    const report = await statsWhen(tenant.id, (r) => Object.keys(r.total.llm_usage).length > 0);
    expect(Object.keys(report.total.llm_usage)).toEqual([masked]);
  });

  it("count a call the provider refused, which has no tokens and so nothing for Braintrust to price, as a call, not as unpriced", async () => {
    const tenant = await createTenant();
    const trace = GATEWAY_SHAPES["provider-error"]!();

    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);

    const [received] = (await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).requests;
    const model = spansOf(received!.request).find((span) => span.name.startsWith("Model"))!;
    expect(attributesOf(model)["braintrust.metrics"]).toBeUndefined();
    const report = await statsWhen(tenant.id, (r) => Object.keys(r.total.llm_usage).length > 0);
    expect(report.total.llm_usage).toEqual({ "gpt-4o": { calls: 1, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 } });
  });

  it("count no model call of spans Braintrust refused with a key it has not accepted: they are in no one's Braintrust, and not sent again", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"project is archived"}' }]);

    const answer = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(answer.status).toBe(200);
    expect((await exportResponseOf(answer)).partialSuccess?.rejectedSpans).toBe(3n);
    const report = await statsWhen(tenant.id, (r) => r.total.spans.accepted === 3);
    expect(report.total.spans).toMatchObject({ delivered: 0, rejected: { invalid: 0, refused_upstream: 3, by_braintrust: 0 } });
    expect(report.total.llm_usage).toEqual({});
    // Taken once Braintrust takes them, as the same client sends its next spans.
    const again = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    expect(again.status).toBe(200);
    const after = await statsWhen(tenant.id, (r) => r.total.spans.delivered === 3);
    expect(Object.values(after.total.llm_usage).map((u) => u.calls)).toEqual([1]);
  });

  it("name calls counted before a value rule was added as the rule masks their model now, with the calls counted since", async () => {
    const tenant = await createTenant();
    expect((await sendTraces(tenant, toProtobuf(fineTunedModelTrace()))).status).toBe(200);
    const before = await statsWhen(tenant.id, (r) => Object.keys(r.total.llm_usage).length > 0);
    expect(Object.keys(before.total.llm_usage)).toEqual([FINE_TUNED]);

    const put = await admin("PUT", `/tenants/${tenant.id}`, {
      parent: tenant.parent,
      braintrust: { api_url: standin.url },
      redact: CLIENT_NAMES_MASKED,
    });
    expect(put.status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(fineTunedModelTrace()))).status).toBe(200);

    const after = await statsWhen(tenant.id, (r) => (r.total.llm_usage[FINE_TUNED_MASKED]?.calls ?? 0) >= 2);
    expect(after).not.toHaveProperty("redact");
    const once = before.total.llm_usage[FINE_TUNED]!;
    const twice = {
      calls: 2,
      prompt_tokens: 2 * once.prompt_tokens,
      completion_tokens: 2 * once.completion_tokens,
      cost_usd: 2 * once.cost_usd,
    };
    for (const window of [after.total, after.last_24h, after.last_1h, after.last_5m])
      expect(window.llm_usage).toEqual({ [FINE_TUNED_MASKED]: twice });
    const listed = (await everyTenantsStats()).lines.find((line) => line.tenant === tenant.id);
    expect(Object.keys(listed!.total.llm_usage)).toEqual([FINE_TUNED_MASKED]);
  });

  it("shows the statistics of a tenant whose object runs an older relay, which sends no rules beside them, as counted", async () => {
    const tenant = await createTenant({ config: { redact: CLIENT_NAMES_MASKED } });
    expect((await sendTraces(tenant, toProtobuf(fineTunedModelTrace()))).status).toBe(200);
    const counted = await statsWhen(tenant.id, (r) => Object.keys(r.total.llm_usage).length > 0);

    const older = olderObjects(env.TENANT_OBJECTS, "statsReport", (answer) => ({ ...(answer as object), redact: undefined }));
    const response = await adminWith({ TENANT_OBJECTS: older }, "GET", `/tenants/${tenant.id}/stats`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as Report;
    expect(report).not.toHaveProperty("redact");
    expect(report.total.llm_usage).toEqual(counted.total.llm_usage);
  });

  it("count a routing tenant's model call once when its waiting spans are sent again after a lost answer, as they count received once", async () => {
    const tenant = await routingTenant({ translate: true, trace_wait_seconds: 3600 });
    const [top, ...children] = spansOf(trueFoundryTrace());
    const waiting = toProtobuf(requestOf(children));

    // The exporter heard no answer to the first export, and sends the same bytes again: the object holds them already.
    expect((await sendTraces(tenant, waiting)).status).toBe(200);
    expect((await sendTraces(tenant, waiting)).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([top!])))).status).toBe(200);

    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf([top!, ...children])))).missing).toEqual([]);
    const report = await statsWhen(tenant.id, (r) => r.total.spans.delivered === 3 && requestCount(r) === 3);
    expect(report.total.spans).toMatchObject({ received: 3, accepted: 3, delivered: 3 });
    expect(report.total.llm_usage).toEqual({
      "gpt-4.1-mini": { calls: 1, prompt_tokens: 14, completion_tokens: 3, cost_usd: 0.0000134 },
    });
  });

  it("count a routing tenant's model calls once when one trace-routes object failed: those another kept before the 503, and the rest on the retry", async () => {
    const tenant = await routingTenant({ translate: true, trace_wait_seconds: 3600 });
    const first = spansOf(trueFoundryTrace());
    let second = spansOf(trueFoundryTrace());
    while (shardOf(hex(second[0]!.traceId)) === shardOf(hex(first[0]!.traceId))) second = spansOf(trueFoundryTrace());
    const broken = traceRoutesObject(env, tenant, shardOf(hex(second[0]!.traceId)));
    await runInDurableObject(broken, (_instance, state) => state.storage.sql.exec("DROP TABLE waiting_pieces"));
    const children = toProtobuf(requestOf([...first.slice(1), ...second.slice(1)]));

    expect((await sendTraces(tenant, children)).status).toBe(503);
    await evictDurableObject(broken);
    expect((await sendTraces(tenant, children)).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([first[0]!, second[0]!])))).status).toBe(200);

    const report = await statsWhen(tenant.id, (r) => r.total.spans.delivered === 6);
    expect(report.total.spans).toMatchObject({ received: 6, accepted: 6, delivered: 6 });
    expect(report.total.llm_usage).toEqual({
      "gpt-4.1-mini": { calls: 2, prompt_tokens: 28, completion_tokens: 6, cost_usd: expect.closeTo(0.0000268, 12) },
    });
  });

  it("keep counting, and stay small, when a tenant's spans make up thousands of long model names", async () => {
    const tenant = await createTenant();
    const modelCall = (model: string) =>
      spanWith("Model", [
        attr("tfy.span_type", "Model"),
        attr("tfy.model.name", model),
        attr("tfy.model.metric.input_tokens", 10),
        attr("tfy.model.metric.output_tokens", 2),
        attr("tfy.model.metric.cost_in_usd", 0.001),
      ]);
    const real = ["gpt-4.1-mini", "claude-sonnet-4", "gemini-2.5-pro"];
    const madeUp = 1_000;
    for (let r = 0; r < 3; r++) {
      const calls = Array.from({ length: madeUp }, (_, i) => modelCall(`m${r}-${i}-${"x".repeat(500)}`));
      // The real models twice a request, among the made-up ones.
      calls.splice(madeUp / 2, 0, ...real.flatMap((model) => [modelCall(model), modelCall(model)]));
      expect((await sendTraces(tenant, toProtobuf(requestOf(calls)))).status).toBe(200);
    }
    const allCalls = 3 * (madeUp + 2 * real.length);
    const callsIn = (r: Report) => Object.values(r.total.llm_usage).reduce((sum, u) => sum + u.calls, 0);
    const report = await statsWhen(tenant.id, (r) => callsIn(r) === allCalls);

    const usage = report.total.llm_usage;
    expect(callsIn(report)).toBe(allCalls);
    expect(Object.values(usage).reduce((sum, u) => sum + u.prompt_tokens, 0)).toBe(allCalls * 10);
    expect(Object.values(usage).reduce((sum, u) => sum + u.cost_usd, 0)).toBeCloseTo(allCalls * 0.001, 9);
    expect(Object.keys(usage)).toHaveLength(MODELS_BY_NAME + 1);
    expect(usage[OTHER_MODELS]!.calls).toBeGreaterThanOrEqual(allCalls - MODELS_BY_NAME * 6);
    for (const model of Object.keys(usage)) expect(model.length).toBeLessThanOrEqual(MODEL_NAME_LIMIT);
    // The models used most keep their names, with every call of theirs.
    for (const model of real)
      expect(usage[model]).toEqual({ calls: 6, prompt_tokens: 60, completion_tokens: 12, cost_usd: expect.closeTo(0.006, 9) });
    expect(report.last_5m.llm_usage).toEqual(usage);
    // A day of such minutes is what bounds the answer; this one minute is a few tens of KB, where it was megabytes.
    expect((await (await admin("GET", `/tenants/${tenant.id}/stats`)).text()).length).toBeLessThan(100_000);

    // Later requests are counted, in the same bounded rows.
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    const later = await statsWhen(tenant.id, (r) => requestCount(r) === 4 && callsIn(r) === allCalls + 1);
    expect(later.total.llm_usage["gpt-4.1-mini"]).toEqual({
      calls: 7,
      prompt_tokens: 74,
      completion_tokens: 15,
      cost_usd: expect.closeTo(0.0060134, 9),
    });
  });

  it("stay small for a day of minutes that each name 50 made-up models: per_minute lists no usage, and the day is summed by the hour", async () => {
    const tenant = await createTenant();
    const stub = env.TENANT_OBJECTS.getByName(tenant.id);
    const call = { calls: 1, prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.001 };
    // Names as long as are kept, of a character JSON writes in six: the largest a minute's row gets, some 42 KB.
    const madeUp = (minute: number): Counts => ({
      ...emptyCounts(),
      spans: { received: 1 },
      usage: Object.fromEntries(
        Array.from({ length: MODELS_BY_NAME }, (_, i) => [`${minute}-${i}-`.padEnd(MODEL_NAME_LIMIT, "\u0001"), call]),
      ),
    });
    // Every minute of the day but its first, so that the minute turning while the test runs leaves them all in it.
    const minutes = KEPT_MINUTES - 1;
    const now = minuteOf(Date.now());
    for (let from = 0; from < minutes; from += 60) {
      const hour = Array.from({ length: Math.min(60, minutes - from) }, (_, i) => from + i);
      await stub.recordStats(tenant.id, {
        incarnation: tenant.incarnation,
        minutes: Object.fromEntries(hour.map((ago) => [String(now - ago * MINUTE_MS), madeUp(ago)])),
      });
    }

    const response = await admin("GET", `/tenants/${tenant.id}/stats`);
    const text = await response.text();
    const report = JSON.parse(text) as Report;

    expect(report.per_minute).toHaveLength(minutes);
    expect(report.per_minute.filter((m) => "llm_usage" in m)).toEqual([]);
    expect(report.per_minute.reduce((sum, m) => sum + m.spans.received, 0)).toBe(minutes);
    // Summing the day's minutes, usage and all, answered some 60 MB.
    expect(text.length).toBeLessThan(1_000_000);
    const usage = report.last_24h.llm_usage;
    expect(Object.keys(usage)).toHaveLength(MODELS_BY_NAME + 1);
    expect(Object.values(usage).reduce((sum, u) => sum + u.calls, 0)).toBe(minutes * MODELS_BY_NAME);
    expect(report.last_24h.spans).toEqual(report.total.spans);
  });

  it("add up the last day to the minute: its whole hours from their rows, the minutes before the first of them from theirs", async () => {
    const counted = (n: number): Counts => ({
      ...emptyCounts(),
      spans: { received: n },
      usage: { "gpt-4.1-mini": { calls: n, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 } },
    });
    const at = (day: number, hour: number, minute: number) => Date.UTC(2026, 11, day, hour, minute);
    const now = at(2, 10, 17) + 30_000;
    const reports = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const store = new TenantStatsStore(state.storage.sql);
      const minutes: Array<[minute: number, received: number]> = [
        [at(1, 10, 17), 1], // a day before now's minute: not in the day
        [at(1, 10, 18), 2], // the day's first minute
        [at(1, 10, 59), 4], // the last before its first whole hour
        [at(1, 11, 0), 8], // its first whole hour
        [at(2, 3, 30), 16],
        [at(2, 9, 17), 32], // an hour before now's minute: not in the last hour
        [at(2, 9, 18), 64],
        [at(2, 10, 12), 128],
        [at(2, 10, 13), 256],
        [at(2, 10, 17), 512],
      ];
      store.add({ minutes: Object.fromEntries(minutes.map(([minute, n]) => [String(minute), counted(n)])) }, now);
      // As now, then once the day starts on the hour, and a minute later.
      const reports = [now, at(2, 10, 59), at(2, 11, 0)].map((time) => store.report(time, KEPT_MINUTES));
      // A whole hour is read from its row alone, never from its minutes', which might name 50 models each.
      state.storage.sql.exec("DELETE FROM stats_minutes WHERE minute >= ? AND minute <= ?", at(1, 11, 0), at(2, 9, 17));
      return [...reports, store.report(now, KEPT_MINUTES)];
    });
    const [report, onTheHour, pastTheHour, hoursAlone] = reports.map((r) => ({
      day: r.last_24h.spans.received,
      calls: r.last_24h.llm_usage["gpt-4.1-mini"]?.calls,
      hour: r.last_1h.spans.received,
      five: r.last_5m.spans.received,
      listed: r.per_minute?.map((m) => m.spans.received),
    }));

    expect(report).toEqual({ day: 1022, calls: 1022, hour: 960, five: 768, listed: [2, 4, 8, 16, 32, 64, 128, 256, 512] });
    expect(reports[0]!.total.spans.received).toBe(1023);
    expect(onTheHour).toMatchObject({ day: 1016, calls: 1016, listed: [8, 16, 32, 64, 128, 256, 512] });
    expect(pastTheHour).toMatchObject({ day: 1008, calls: 1008, listed: [16, 32, 64, 128, 256, 512] });
    expect(hoursAlone).toMatchObject({ day: 1022, calls: 1022, listed: [2, 4, 64, 128, 256, 512] });
  });

  it("keep an hour's row only once a read has summed the hour whole, and keep it its minutes' sum when a late flush lands in it", async () => {
    const at = (hour: number, minute: number) => Date.UTC(2026, 11, 2, hour, minute);
    const now = at(10, 17) + 30_000;
    const { rowsAfterFlush, rowAfterRead, rowsAfterRead, rowAfterLateFlush, day } = await runInDurableObject(
      env.TENANT_OBJECTS.getByName(uniqueTenantId()),
      (_object, state) => {
        const sql = state.storage.sql;
        const store = new TenantStatsStore(sql);
        const hourRow = () => sql.exec<{ counts: string }>("SELECT counts FROM stats_hours WHERE hour = ?", at(3, 0)).toArray()[0];
        store.add({ minutes: { [String(at(3, 30))]: receivedCounts(16), [String(at(10, 5))]: receivedCounts(2) } }, now);
        const rowsAfterFlush = sql.exec<{ n: number }>("SELECT count(*) AS n FROM stats_hours").one().n;
        store.report(now, 0);
        const rowAfterRead = hourRow();
        const rowsAfterRead = sql.exec<{ n: number }>("SELECT count(*) AS n FROM stats_hours").one().n;
        store.add({ minutes: { [String(at(3, 45))]: receivedCounts(1) } }, now);
        return {
          rowsAfterFlush,
          rowAfterRead,
          rowsAfterRead,
          rowAfterLateFlush: hourRow(),
          day: store.report(now, 0).last_24h.spans.received,
        };
      },
    );

    expect(rowsAfterFlush).toBe(0);
    // The passed hour with minutes; not the hours without, nor the hour under way.
    expect(rowsAfterRead).toBe(1);
    expect((JSON.parse(rowAfterRead!.counts) as Counts).spans).toEqual({ received: 16 });
    expect((JSON.parse(rowAfterLateFlush!.counts) as Counts).spans).toEqual({ received: 17 });
    expect(day).toBe(19);
  });

  it("keep a summed hour's row the sum of its minutes when a late flush brings several of them", async () => {
    const at = (hour: number, minute: number) => Date.UTC(2026, 11, 2, hour, minute);
    const now = at(10, 17) + 30_000;
    const { row, day } = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const sql = state.storage.sql;
      const store = new TenantStatsStore(sql);
      store.add({ minutes: { [String(at(3, 30))]: receivedCounts(16) } }, now);
      store.report(now, 0);
      // One isolate's late flush: two minutes of the hour a read has summed.
      store.add({ minutes: { [String(at(3, 40))]: receivedCounts(1), [String(at(3, 45))]: receivedCounts(4) } }, now);
      return {
        row: sql.exec<{ counts: string }>("SELECT counts FROM stats_hours WHERE hour = ?", at(3, 0)).one(),
        day: store.report(now, 0).last_24h.spans.received,
      };
    });

    expect((JSON.parse(row.counts) as Counts).spans).toEqual({ received: 21 });
    expect(day).toBe(21);
  });

  it("keep the last delivery time the latest told, whichever isolate's flush comes last", async () => {
    const minute = Date.UTC(2026, 11, 2, 10, 17);
    const now = minute + 50_000;
    const delivered = { [String(minute)]: { ...emptyCounts(), spans: { delivered: 1 } } };
    const report = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const store = new TenantStatsStore(state.storage.sql);
      store.add({ minutes: delivered, lastDeliveredAt: minute + 45_000 }, now);
      // Another isolate, which delivered earlier, flushes later.
      store.add({ minutes: delivered, lastDeliveredAt: minute + 10_000 }, now);
      return store.report(now, 0);
    });

    expect(report.last_delivered_at).toBe(new Date(minute + 45_000).toISOString());
  });

  it("drop the rows of minutes and hours once they are out of the last day, keeping the totals", async () => {
    const at = (day: number, hour: number, minute: number) => Date.UTC(2026, 11, day, hour, minute);
    const rows = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const sql = state.storage.sql;
      const store = new TenantStatsStore(sql);
      const count = (table: string) => sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
      const now = at(2, 10, 17) + 30_000;
      // A minute already more than a day old, and one of an hour a read then sums whole.
      store.add({ minutes: { [String(at(1, 3, 30))]: receivedCounts(1), [String(at(1, 12, 30))]: receivedCounts(2) } }, now);
      store.report(now, 0);
      const first = { minutes: count("stats_minutes"), hours: count("stats_hours") };
      // A day and more later.
      const later = at(3, 14, 0) + 30_000;
      store.add({ minutes: { [String(at(3, 14, 0))]: receivedCounts(4) } }, later);
      const report = store.report(later, 0);
      return {
        first,
        later: { minutes: count("stats_minutes"), hours: count("stats_hours") },
        day: report.last_24h.spans.received,
        total: report.total.spans.received,
      };
    });

    expect(rows).toEqual({ first: { minutes: 1, hours: 1 }, later: { minutes: 1, hours: 0 }, day: 4, total: 7 });
  });

  it("count spans waiting in the queue afresh after a day in which none was queued, retried or taken off it: a count lost no longer shows spans waiting, or hides them, for good", async () => {
    const at = (day: number, hour: number, minute = 0) => Date.UTC(2026, 11, day, hour, minute);
    const waiting = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const store = new TenantStatsStore(state.storage.sql);
      const count = (minute: number, spans: Counts["spans"]) =>
        store.add({ minutes: { [String(minute)]: { ...emptyCounts(), spans } } }, minute + 1_000);
      const waitingAt = (now: number) => store.report(now, 0).waiting_in_queue;
      // Five spans queued, retried once, then taken off the queue by an isolate evicted before its flush.
      count(at(2, 10), { queued: 5 });
      count(at(2, 22), { retried: 5 });
      const lost = [waitingAt(at(2, 10, 1)), waitingAt(at(3, 21, 59))];
      const quietDay = waitingAt(at(3, 22, 1));
      // Three queued, then seven taken off: four of them queued by an isolate evicted before its flush.
      count(at(3, 23), { queued: 3 });
      const queued = waitingAt(at(3, 23, 1));
      count(at(4, 1), { left_queue: 7 });
      const hidden = waitingAt(at(4, 1, 1));
      const anotherQuietDay = waitingAt(at(5, 1, 1));
      count(at(5, 2), { queued: 2 });
      return { lost, quietDay, queued, hidden, anotherQuietDay, shown: waitingAt(at(5, 2, 1)) };
    });

    expect(waiting).toEqual({ lost: [5, 5], quietDay: 0, queued: 3, hidden: 0, anotherQuietDay: 0, shown: 2 });
  });

  it("count in the day a minute of the next hour an isolate's clock, ahead of the object's, counted in, as they count it in the last hour", async () => {
    const at = (hour: number, minute: number) => Date.UTC(2026, 11, 2, hour, minute);
    const now = at(10, 59) + 50_000;
    const report = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const store = new TenantStatsStore(state.storage.sql);
      store.add(
        {
          minutes: {
            [String(at(9, 30))]: receivedCounts(1),
            [String(at(10, 30))]: receivedCounts(2),
            [String(at(11, 0))]: receivedCounts(4),
          },
        },
        now,
      );
      return store.report(now, 0);
    });

    expect([report.last_5m, report.last_1h, report.last_24h, report.total].map((s) => s.spans.received)).toEqual([4, 6, 7, 7]);
  });

  it("sum a day kept before hours were, once upgraded: each hour from its minutes, and a minute's usage kept apart once written again", async () => {
    const counted = (n: number): Counts => ({
      ...emptyCounts(),
      spans: { received: n },
      usage: { "gpt-4.1-mini": { calls: n, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 } },
    });
    const now = Date.UTC(2026, 11, 2, 10, 17, 30);
    const current = minuteOf(now);
    const { before, after, row } = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const sql = state.storage.sql;
      // The minutes as the relay kept them before: usage among their counts, and no hours.
      sql.exec("DROP TABLE stats_minutes");
      sql.exec("DROP TABLE stats_hours");
      sql.exec("CREATE TABLE stats_minutes (minute INTEGER PRIMARY KEY, counts TEXT NOT NULL)");
      const legacy: Array<[minutesAgo: number, received: number]> = [
        [1000, 1],
        [180, 2],
        [0, 4],
      ];
      for (const [ago, n] of legacy)
        sql.exec("INSERT INTO stats_minutes (minute, counts) VALUES (?, ?)", current - ago * MINUTE_MS, JSON.stringify(counted(n)));

      const store = new TenantStatsStore(sql);
      const before = store.report(now, KEPT_MINUTES);
      store.add({ minutes: { [String(current)]: counted(8) } }, now);
      const after = store.report(now, KEPT_MINUTES);
      return {
        before,
        after,
        row: sql.exec<{ counts: string; usage: string }>("SELECT counts, usage FROM stats_minutes WHERE minute = ?", current).one(),
      };
    });

    expect(before.last_24h.spans.received).toBe(7);
    expect(before.last_24h.llm_usage["gpt-4.1-mini"]?.calls).toBe(7);
    expect(before.per_minute?.map((m) => [m.spans.received, "llm_usage" in m])).toEqual([
      [1, false],
      [2, false],
      [4, false],
    ]);
    expect(after.last_24h.llm_usage["gpt-4.1-mini"]?.calls).toBe(15);
    expect(after.last_5m.llm_usage["gpt-4.1-mini"]?.calls).toBe(12);
    expect(JSON.parse(row.counts)).not.toHaveProperty("usage");
    expect(JSON.parse(row.usage)).toEqual({ "gpt-4.1-mini": { calls: 12, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 } });
  });

  it("tell an upstream error behind the tenant when another isolate delivered spans after it in the error's own minute", async () => {
    const counted = (delivered: number): Counts => ({ ...emptyCounts(), spans: { delivered } });
    const minute = Date.UTC(2026, 11, 2, 10, 17);
    const now = minuteOf(minute) + 50_000;
    const error = { at: minute + 30_000, status: 401, reason: "Braintrust answered 401" };
    const { before, after } = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const store = new TenantStatsStore(state.storage.sql);
      // One isolate counted the refusal; another delivered before it in that minute, then after it.
      store.add({ minutes: { [String(minute)]: { ...emptyCounts(), upstreamAttempts: 1, upstreamErrors: 1 } }, lastError: error }, now);
      store.add({ minutes: { [String(minute)]: counted(2) }, lastDeliveredAt: minute + 10_000 }, now);
      const before = store.report(now, 0);
      store.add({ minutes: { [String(minute)]: counted(3) }, lastDeliveredAt: minute + 45_000 }, now);
      return { before, after: store.report(now, 0) };
    });

    expect(before.last_delivered_at).toBe(new Date(minute + 10_000).toISOString());
    expect(upstreamErrorPassed(before)).toBeUndefined();
    expect(after.last_delivered_at).toBe(new Date(minute + 45_000).toISOString());
    expect(after.last_upstream_error).toMatchObject({ status: 401, spans_delivered_since: 0 });
    expect(upstreamErrorPassed(after)).toBe("spans delivered since");
  });

  it("keep when spans were last delivered in a store kept before it was, once upgraded", async () => {
    const now = Date.UTC(2026, 11, 2, 10, 17, 30);
    const report = await runInDurableObject(env.TENANT_OBJECTS.getByName(uniqueTenantId()), (_object, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE IF EXISTS stats_totals");
      sql.exec(
        "CREATE TABLE stats_totals (id INTEGER PRIMARY KEY CHECK (id = 0), since INTEGER NOT NULL, counts TEXT NOT NULL, last_error TEXT)",
      );
      sql.exec("INSERT INTO stats_totals (id, since, counts) VALUES (0, ?, ?)", minuteOf(now), JSON.stringify(emptyCounts()));
      const store = new TenantStatsStore(sql);
      const kept = store.report(now, 0).last_delivered_at;
      store.add({ minutes: { [String(minuteOf(now))]: { ...emptyCounts(), spans: { delivered: 1 } } }, lastDeliveredAt: now }, now);
      return { kept, after: store.report(now, 0).last_delivered_at };
    });

    expect(report).toEqual({ kept: null, after: new Date(now).toISOString() });
  });

  it("drop counts the tenant's object refuses itself, rather than send them again at every flush", async () => {
    const tenant = await createTenant();
    // Counts no isolate makes, which the real object throws on as it would on a row over SQLite's 2 MB:
    // its own error, marked `remote`, the same at every try.
    const refused = JSON.parse('{"spans":null}') as Counts;
    const refusing = new Proxy(env.TENANT_OBJECTS, {
      get(target, property) {
        if (property === "getByName")
          return (name: string) => ({
            recordStats: (tenantId: string, delta: StatsDelta) =>
              target.getByName(name).recordStats(tenantId, { ...delta, minutes: { [String(minuteOf(Date.now()))]: refused } }),
          });
        const value: unknown = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });

    const { result: response, errors } = await loggedWhile(() =>
      sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { TENANT_OBJECTS: refusing }),
    );
    expect(response.status).toBe(200);
    expect(errors.filter((e) => e.event === "stats_flush_failed" && e.tenant === tenant.id)).toEqual([
      {
        event: "stats_flush_failed",
        tenant: tenant.id,
        error: "TypeError: Cannot convert undefined or null to object",
        dropped: true,
        request_id: expect.any(String),
      },
    ]);
    await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    const report = await statsWhen(tenant.id, (r) => r.total.spans.delivered >= 3);

    expect(report.total.requests).toEqual({ "200": 1 });
    expect(report.total.spans.delivered).toBe(3);
  });

  it("hold totals stored before usage was bounded to the bound, once read and written again", async () => {
    const tenant = await createTenant();
    const call = { calls: 1, prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.001 };
    const usage = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`m${i}-${"x".repeat(500)}`, call]));
    const stub = env.TENANT_OBJECTS.getByName(tenant.id);
    await stub.recordStats(tenant.id, { incarnation: tenant.incarnation, minutes: { [String(minuteOf(Date.now()))]: emptyCounts() } });
    await runInDurableObject(stub, (_object, state) => {
      state.storage.sql.exec("UPDATE stats_totals SET counts = ?", JSON.stringify({ ...emptyCounts(), usage }));
    });

    await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    const report = await statsWhen(tenant.id, (r) => requestCount(r) === 1);

    expect(Object.keys(report.total.llm_usage)).toHaveLength(MODELS_BY_NAME + 1);
    expect(Object.values(report.total.llm_usage).reduce((sum, u) => sum + u.calls, 0)).toBe(3_000 + 1);
    const stored = await runInDurableObject(stub, (_object, state) =>
      state.storage.sql.exec<{ counts: string }>("SELECT counts FROM stats_totals").one(),
    );
    expect(stored.counts.length).toBeLessThan(20_000);
  });

  it("survive a restart: they are kept in the tenant's Durable Object's storage, not in memory", async () => {
    const tenant = await createTenant();
    await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    const before = await statsWhen(tenant.id, (r) => r.total.spans.delivered === 3);

    await evictDurableObject(env.TENANT_OBJECTS.getByName(tenant.id));

    const after = await statsOf(tenant.id);
    expect(after.total).toEqual(before.total);
    expect(after.since).toBe(before.since);
  });

  it("never fail ingest when the stats store fails, and keep the counts for the next flush", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();

    const unavailable = { TENANT_OBJECTS: unavailableStatsStore(tenant.id) };
    const { result: response, lines, errors } = await loggedWhile(() => sendTracesWith(tenant, toProtobuf(trace), unavailable));

    expect(response.status).toBe(200);
    expect(errors.filter((e) => e.event === "stats_flush_failed" && e.tenant === tenant.id)).toEqual([
      {
        event: "stats_flush_failed",
        tenant: tenant.id,
        error: "Durable Object storage is unavailable",
        dropped: false,
        request_id: expect.any(String),
      },
    ]);
    expect(JSON.stringify([lines, errors])).not.toContain(tenant.bearer);
    expect(JSON.stringify([lines, errors])).not.toContain(tenant.apiKey);
    expect((await standin.received(tenant.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
    expect((await statsOf(tenant.id)).total.spans.delivered).toBe(0);
    // The next flush, to a store that works again, carries them.
    await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    const report = await statsWhen(tenant.id, (r) => r.total.spans.delivered === 6);
    expect(report.total.requests).toEqual({ "200": 2 });
  });

  it("keep for the next flush counts the tenant's object could not take with an error Cloudflare marks retryable, though remote", async () => {
    const tenant = await createTenant();
    // How Cloudflare marks an object it reset or found overloaded: thrown at the object, worth trying again.
    const overloaded = Object.assign(new Error("Durable Object is overloaded. Requests queued for too long."), {
      remote: true,
      retryable: true,
    });
    const objects = { TENANT_OBJECTS: failingObject(env.TENANT_OBJECTS, tenant.id, "recordStats", overloaded) };

    const { result: response, errors } = await loggedWhile(() => sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), objects));

    expect(response.status).toBe(200);
    expect(errors.filter((e) => e.event === "stats_flush_failed" && e.tenant === tenant.id)).toMatchObject([{ dropped: false }]);
    await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    const report = await statsWhen(tenant.id, (r) => r.total.spans.delivered === 6);
    expect(report.total.requests).toEqual({ "200": 2 });
  });

  it("list a minute at a time for the last day, or for as many of the last minutes as asked (the console's hour)", async () => {
    const tenant = await createTenant();
    const now = minuteOf(Date.now());
    const minutesAgo = (n: number) => String(now - n * MINUTE_MS);
    const received = (spans: number) => ({ ...emptyCounts(), spans: { received: spans } });
    // Counts from two hours ago and from now, as isolates flush them.
    await env.TENANT_OBJECTS.getByName(tenant.id).recordStats(tenant.id, {
      incarnation: tenant.incarnation,
      minutes: { [minutesAgo(120)]: received(5), [minutesAgo(0)]: received(2) },
    });

    const day = await statsOf(tenant.id);
    const hourResponse = await admin("GET", `/tenants/${tenant.id}/stats?per_minute=60`);
    const hour = (await hourResponse.json()) as Report;

    expect(day.per_minute.map((m) => [m.minute, m.spans.received])).toEqual([
      [new Date(now - 120 * MINUTE_MS).toISOString(), 5],
      [new Date(now).toISOString(), 2],
    ]);
    expect(hour.per_minute.map((m) => [m.minute, m.spans.received])).toEqual([[new Date(now).toISOString(), 2]]);
    // Only the listing is cut: the windows are the same.
    expect(hour.last_24h).toEqual(day.last_24h);
    expect((await admin("GET", `/tenants/${tenant.id}/stats?per_minute=0`)).status).toBe(400);
    expect((await admin("GET", `/tenants/${tenant.id}/stats?per_minute=1441`)).status).toBe(400);
  });

  it("list every tenant, one line each, and answer 404 for a tenant that does not exist", async () => {
    const tenant = await createTenant();
    await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    await statsWhen(tenant.id, (r) => r.total.spans.delivered === 3);

    const { lines } = await everyTenantsStats();

    const line = lines.find((l) => l.tenant === tenant.id);
    expect(line?.total.spans.delivered).toBe(3);
    expect(line?.per_minute).toBeUndefined();
    expect((await admin("GET", "/tenants/no-such-tenant-here/stats")).status).toBe(404);
    expect((await admin("GET", "/tenants/NOT_AN_ID/stats")).status).toBe(400);
  });

  it("list the other tenants when one tenant's object cannot answer, and name it unavailable: one tenant does not take every tenant's page down", async () => {
    const healthy = await createTenant();
    const overloaded = await createTenant();
    await sendTraces(healthy, toProtobuf(trueFoundryTrace()));
    await statsWhen(healthy.id, (r) => r.total.spans.delivered === 3);

    const { lines, unavailable } = await everyTenantsStats({
      TENANT_OBJECTS: failingObject(env.TENANT_OBJECTS, overloaded.id, "statsReport", "Durable Object is overloaded"),
    });

    expect(lines.find((l) => l.tenant === healthy.id)?.total.spans.delivered).toBe(3);
    expect(lines.map((l) => l.tenant)).not.toContain(overloaded.id);
    expect(unavailable).toEqual([overloaded.id]);
  });

  it("are forgotten with their tenant, and never counted for a path that names no tenant", async () => {
    const tenant = await createTenant();
    await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    await statsWhen(tenant.id, (r) => r.total.spans.delivered === 3);

    await admin("DELETE", `/tenants/${tenant.id}`);
    await sendTraces({ id: "never-made-tenant", bearer: "x" }, toProtobuf(trueFoundryTrace()));
    await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent });

    expect((await statsOf(tenant.id)).total.requests).toEqual({});
    expect((await admin("GET", "/tenants/never-made-tenant/stats")).status).toBe(404);
  });

  it("start from nothing for a tenant created again under a deleted one's id, whatever the deleted one's isolates flush later", async () => {
    const tenant = await createTenant();
    // Counted, but not flushed before the delete: the isolate holds them for its next flush.
    const unavailable = { TENANT_OBJECTS: unavailableStatsStore(tenant.id) };
    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), unavailable)).status).toBe(200);
    const again = await deleteAndCreateAgain(tenant);

    // This flush carries the deleted tenant's counts too.
    expect((await sendTracesWith(again, toProtobuf(trueFoundryTrace()), {})).status).toBe(200);

    const report = await statsOf(tenant.id);
    expect(report.total.requests).toEqual({ "200": 1 });
    expect(report.total.spans).toMatchObject({ received: 3, accepted: 3, delivered: 3 });
    expect(report.total.upstream.attempts).toBe(1);
    expect(await spansReceivedBy({ ...tenant, apiKey: again.apiKey })).toBe(3);
  });

  it("show a tenant created again under a deleted one's id only its own spans waiting in the queue, before and after the deleted one's are dropped", async () => {
    const tenant = await createTenant();
    const queue = recordingQueue<DeliveryMessage>();
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const unflushed = { TENANT_OBJECTS: unavailableStatsStore(tenant.id), DELIVERY_QUEUE: queue };
    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), unflushed)).status).toBe(200);
    const again = await deleteAndCreateAgain(tenant);
    await standin.script(again.apiKey, [{ status: 503 }]);
    expect((await sendTracesWith(again, toProtobuf(trueFoundryTrace()), { DELIVERY_QUEUE: queue })).status).toBe(200);
    const [deletedOnes, ownOnes] = queue.sent.map((sent) => sent.body);

    const queued = await statsOf(tenant.id);
    expect(queued.total.spans).toMatchObject({ accepted: 3, retried: 3, queued: 3, left_queue: 0 });
    expect(queued.waiting_in_queue).toBe(3);

    // The deleted tenant's spans come up long after the delete applied everywhere, and are dropped: its own left_queue must not hide the new tenant's.
    const longAfter = { ...deletedOnes!, receivedAt: Date.now() - 10 * 60_000 };
    expect(await consume("tfy-relay-deliveries", [longAfter])).toEqual({ acked: [longAfter.id], retried: [], threw: undefined });
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
    const dropped = await statsOf(tenant.id);
    expect(dropped.total.spans.left_queue).toBe(0);
    expect(dropped.waiting_in_queue).toBe(3);

    // Its own spans are delivered from the queue: nothing stays waiting.
    expect(await consume("tfy-relay-deliveries", [ownOnes!])).toEqual({ acked: [ownOnes!.id], retried: [], threw: undefined });
    const delivered = await statsOf(tenant.id);
    expect(delivered.total.spans).toMatchObject({ accepted: 3, delivered: 3, queued: 3, left_queue: 3 });
    expect(delivered.waiting_in_queue).toBe(0);
  });

  it("keep counting for a tenant recorded before incarnations existed, which has none", async () => {
    const tenant = await createTenant();
    const { value, metadata } = await env.TENANTS.getWithMetadata<Record<string, unknown>>(`tenant:${tenant.id}`, "json");
    const { incarnation: _, ...legacy } = value!;
    await env.TENANTS.put(`tenant:${tenant.id}`, JSON.stringify(legacy), { metadata });
    await asRecordedBeforeDurableObjects(tenant.id);

    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);

    const report = await statsWhen(tenant.id, (r) => r.total.spans.delivered === 3);
    expect(report.total.requests).toEqual({ "200": 1 });
    expect(report.total.spans).toMatchObject({ received: 3, accepted: 3, delivered: 3 });
  });
});

const DELIVERIES = "tfy-relay-deliveries";

describe("the statistics of every tenant", () => {
  it("leave out a tenant deleted between the list and its object's answer: not a tenant without counts, nor unavailable", async () => {
    const tenant = await createTenant();
    // Gone from its object, still in KV's list, as when deleted while the page is being read.
    await runInDurableObject(env.TENANT_OBJECTS.getByName(tenant.id), (_object, state) => state.storage.delete("tenant"));

    const { lines, unavailable } = await everyTenantsStats();

    expect(lines.map((line) => line.tenant)).not.toContain(tenant.id);
    expect(unavailable).not.toContain(tenant.id);
  });
});

describe("statistics that follow the spans through failures", () => {
  /** A queue that takes the first `taken` batches, holding them (delivering nothing), and refuses the rest. */
  function queueRefusingAfter(taken: number) {
    const held = recordingQueue<DeliveryMessage>();
    let batches = 0;
    const queue: Queue<DeliveryMessage> = {
      ...held,
      sendBatch: async (messages, options) => {
        if (++batches > taken) throw new Error("Queue sendBatch failed: queue unavailable");
        return held.sendBatch(messages, options);
      },
    };
    return { queue, held: held.sent };
  }

  it("counts as queued what the queue took of a retry before it refused the rest (503): waiting_in_queue shows those spans until they leave", async () => {
    const tenant = await createTenant();
    // Some 400 KB of spans: a retry of several queue batches.
    const big = requestOf(Array.from({ length: 100 }, () => spansOf(trueFoundryTrace({ prompt: "x".repeat(3000) }))).flat());
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const { queue, held } = queueRefusingAfter(1);

    expect((await sendTracesWith(tenant, toProtobuf(big), { DELIVERY_QUEUE: queue })).status).toBe(503);

    const onQueue = held.map((m) => m.body);
    const spansOnQueue = onQueue.reduce((sum, m) => sum + m.spans, 0);
    expect(spansOnQueue).toBeGreaterThan(0);
    expect(spansOnQueue).toBeLessThan(300);
    const afterRequest = await statsOf(tenant.id);
    expect(afterRequest.waiting_in_queue).toBe(spansOnQueue);
    // Nothing of it is a retry scheduled: the client was told to send it all again.
    expect(afterRequest.total.spans).toMatchObject({ queued: spansOnQueue, retried: 0 });
    expect((await consume(DELIVERIES, onQueue)).acked).toHaveLength(onQueue.length);
    expect((await statsOf(tenant.id)).waiting_in_queue).toBe(0);
  });

  it("counts the spans a 2xx's partial success rejected as rejected by Braintrust, not delivered, whether the client waited or the queue sent them", async () => {
    const tenant = await createTenant();
    const rejectTwo = { partialSuccess: { rejectedSpans: 2, errorMessage: "2 spans too old" } };
    await standin.script(tenant.apiKey, [rejectTwo]);
    const answered = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    expect((await exportResponseOf(answered)).partialSuccess?.rejectedSpans).toBe(2n);
    const queue = recordingQueue<DeliveryMessage>();
    await standin.script(tenant.apiKey, [{ status: 503 }, rejectTwo]);
    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { DELIVERY_QUEUE: queue })).status).toBe(200);
    expect(
      (
        await consume(
          DELIVERIES,
          queue.sent.map((m) => m.body),
        )
      ).acked,
    ).toHaveLength(1);

    const report = await statsWhen(tenant.id, (r) => r.total.spans.left_queue === 3);
    expect(report.total.spans).toMatchObject({
      accepted: 6,
      delivered: 2,
      rejected: { invalid: 0, refused_upstream: 0, by_braintrust: 4 },
    });
    expect(Object.fromEntries(STATS_COLUMNS.map((name, i) => [name, statsColumns(report.total)[i]]))).toMatchObject({
      ACCEPTED: 6,
      REJECTED: 4,
      DELIVERED: 2,
    });
  });

  it("counts a delivery Braintrust refused the stored key of, sent again at once with the key the tenant's object holds, as one refused attempt and one delivery", async () => {
    const tenant = await createTenant();
    await fixedWhileKvLags(tenant, "stored key");

    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);

    const report = await statsWhen(tenant.id, (r) => r.total.spans.delivered === 3);
    expect(report.total.spans).toMatchObject({ received: 3, accepted: 3, delivered: 3, retried: 0, dead_lettered: 0, queued: 0 });
    expect(report.total.upstream).toMatchObject({ attempts: 2, errors: 1 });
    expect(report.waiting_in_queue).toBe(0);
    // Behind the tenant as soon as the spans went with the fixed key, in the same minute: the console shows it muted.
    expect(report.last_upstream_error).toMatchObject({ status: 401, spans_delivered_since: 3 });
    expect(Date.parse(report.last_delivered_at!)).toBeGreaterThanOrEqual(Date.parse(report.last_upstream_error!.at));
  });

  it("counts a retry Braintrust refused the stored key of, sent again at once with the key the tenant's object holds, as delivered and leaving the queue, no dead letter", async () => {
    const tenant = await createTenant();
    const queue = recordingQueue<DeliveryMessage>();
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { DELIVERY_QUEUE: queue })).status).toBe(200);
    const [queued, ...others] = queue.sent.map((m) => m.body);
    expect(others).toEqual([]);
    await fixedWhileKvLags(tenant, "stored key");

    expect(await consume("tfy-relay-deliveries", [queued!])).toEqual({ acked: [queued!.id], retried: [], threw: undefined });

    const report = await statsWhen(tenant.id, (r) => r.total.spans.left_queue === 3);
    expect(report.total.spans).toMatchObject({ accepted: 3, retried: 3, queued: 3, delivered: 3, left_queue: 3, dead_lettered: 0 });
    expect(report.total.upstream).toMatchObject({ attempts: 3, errors: 2 });
    expect(report.waiting_in_queue).toBe(0);
  });

  it("counts no retry the queue refused: Braintrust answered 503, the queue refused the retry, the client was answered 503", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const refusing = { DELIVERY_QUEUE: failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable") };

    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), refusing)).status).toBe(503);

    expect((await statsOf(tenant.id)).total.spans).toMatchObject({ queued: 0, retried: 0 });
  });

  it("counts a delivered message as leaving the queue once when R2 fails to let go of its spilled spans, and it comes again", async () => {
    const tenant = await createTenant();
    // One span too large for a queue message: its delivery is spilled to R2.
    const big = largeRequest({ largeSpans: 1, largeSpanBytes: 200_000, smallTraces: 0 });
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const held = recordingQueue<DeliveryMessage>();
    expect((await sendTracesWith(tenant, toProtobuf(big), { DELIVERY_QUEUE: held })).status).toBe(200);
    const messages = held.sent.map((m) => m.body);
    expect(messages.some((m) => "r2Key" in m.payload)).toBe(true);
    let failures = 1;
    const flakyR2 = { PAYLOADS: failingBinding(env.PAYLOADS, "delete", "R2 delete failed: internal error", () => failures-- > 0) };

    const first = await consume(DELIVERIES, messages, flakyR2);
    const comesAgain = messages.filter((m) => first.retried.some((r) => r.id === m.id));
    expect(comesAgain).toHaveLength(1);
    expect((await consume(DELIVERIES, comesAgain)).acked).toEqual([comesAgain[0]!.id]);

    const report = await statsOf(tenant.id);
    expect(report.total.spans.left_queue).toBe(report.total.spans.queued);
    expect(report.waiting_in_queue).toBe(0);
  });
});
