import { env } from "cloudflare:workers";
import { create, fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { ResourceSchema } from "../gen/opentelemetry/proto/resource/v1/resource_pb.js";
import { ResourceSpansSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { DeadLetterStore, deadLetterKey } from "../src/deliver/dead-letters.js";
import { RedactSchema } from "../src/tenants/processing-schema.js";
import { maskingRulesDigest } from "../src/tenants/rules-digest.js";
import { deadLettersOf, waitForDeadLetters } from "./support/dead-letters.js";
import { consume, DELIVERIES, queuedMessage } from "./support/queue.js";
import { admin, changedWhileKvLags, createTenant, sendTraces, type TestTenant } from "./support/relay.js";
import { EVAL_ROUTE, endWaitNow, putWithRoutes, routingTenant, traceRoutesOf, waitingSpans } from "./support/routing.js";
import { standin } from "./support/standin.js";
import { attributesOf, requestOf, spanIdsOf, spanWith } from "./support/traces.js";

/**
 * Spans the relay keeps (queued for a retry, waiting for their trace's parent, dead-lettered) were
 * masked by the tenant's rules when they came. Sent after the rules changed, they are masked by the
 * rules the tenant has then, as they would be were they received then: an operator who finds
 * addresses in dead letters adds a rule, then replays.
 */

const NOTE = "contact alice.secret@example.com";

async function putRules(tenant: TestTenant, config: Record<string, unknown>): Promise<void> {
  const put = await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: standin.url }, ...config });
  expect(put.status).toBe(200);
}

/** The tenant as it was but for the built-in `emails` rule. */
const EMAILS_MASKED = { translate: false, redact: { values: ["emails"] } };

/** The request's spans kept as the tenant's dead letter, Braintrust refusing them (400): its id. */
async function keptAsDeadLetter(tenant: TestTenant, request: ExportTraceServiceRequest): Promise<string> {
  await standin.script(tenant.apiKey, [{ status: 400 }]);
  expect((await sendTraces(tenant, toProtobuf(request))).status).toBe(200);
  const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
  return deadLetter!.id;
}

/** The `user.note` of every span the stand-in received with the key, in order. */
async function notesReceived(key: string): Promise<unknown[]> {
  return (await standin.received(key)).flatMap((r) => spansOf(r.request).map((span) => attributesOf(span)["user.note"]));
}

describe.concurrent("spans the relay kept, sent after the tenant's redaction rules changed", () => {
  it.each([
    { when: "once KV's copy of the tenant has it", add: (tenant: TestTenant) => putRules(tenant, EMAILS_MASKED) },
    {
      when: "right after it was added, while KV's copy of the tenant lags",
      add: (tenant: TestTenant) => changedWhileKvLags(tenant, () => putRules(tenant, EMAILS_MASKED)),
    },
  ])("a dead letter kept before the tenant added a rule is replayed masked by it, $when", async ({ add }) => {
    const tenant = await createTenant({ config: { translate: false } });
    const span = spanWith("lookup", [attr("user.note", NOTE)]);
    const deadLetter = await keptAsDeadLetter(tenant, requestOf([span]));

    await add(tenant);
    expect((await admin("POST", "/dead-letters/replay", { id: deadLetter })).status).toBe(200);

    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf([span])))).missing).toEqual([]);
    expect(await notesReceived(tenant.apiKey)).toEqual(["contact [REDACTED]"]);
  });

  it("a dead letter whose request held a resource without spans is replayed without it once a rule was added, as ingest sends it under rules", async () => {
    const tenant = await createTenant({ config: { translate: false } });
    const span = spanWith("lookup", [attr("user.note", "nothing to mask")]);
    const request = requestOf([span]);
    request.resourceSpans.push(
      create(ResourceSpansSchema, { resource: create(ResourceSchema, { attributes: [attr("owner", "a@b.co")] }) }),
    );
    const deadLetter = await keptAsDeadLetter(tenant, request);

    await putRules(tenant, EMAILS_MASKED);
    expect((await admin("POST", "/dead-letters/replay", { id: deadLetter })).status).toBe(200);

    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf([span])))).missing).toEqual([]);
    const [replayed] = await standin.received(tenant.apiKey);
    expect(replayed!.request.resourceSpans.map((r) => attributesOf(r.resource!).owner)).toEqual([undefined]);
  });

  it("a queued retry is masked by a rule added while it waited, and so is the dead letter Braintrust's refusal then leaves", async () => {
    const tenant = await createTenant({ config: { translate: false } });
    const span = spanWith("lookup", [attr("user.note", NOTE)]);
    await standin.script(tenant.apiKey, [{ status: 503, headers: { "retry-after": "2" } }, { status: 400 }]);
    expect((await sendTraces(tenant, toProtobuf(requestOf([span])))).status).toBe(200);

    await putRules(tenant, EMAILS_MASKED);

    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([503, 400]);
    const replay = (await new DeadLetterStore(env.PAYLOADS).replay(deadLetter!.id))!.message;
    const kept = await env.PAYLOADS.get(deadLetterKey(tenant.id, replay.id));
    const [keptSpan] = spansOf(fromBinary(ExportTraceServiceRequestSchema, new Uint8Array(await kept!.arrayBuffer())));
    expect(attributesOf(keptSpan!)["user.note"]).toBe("contact [REDACTED]");
    // Kept naming the rules it is masked with: replayed under them, it goes as it is.
    expect(replay.maskedWith).toBe(await maskingRulesDigest(RedactSchema.parse({ values: ["emails"] })));
  });

  it("spans waiting for their trace's parent, released after the tenant added a rule, are masked by it", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const traceId = randomId(16);
    const child = spanWith("child", [attr("user.note", NOTE)], { traceId, parentSpanId: randomId(8) });
    expect((await sendTraces(tenant, toProtobuf(requestOf([child])))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(1);

    await putWithRoutes(tenant, [EVAL_ROUTE], { redact: { values: ["emails"] } });
    await endWaitNow(traceRoutesOf(tenant, traceId), traceId);

    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf([child])))).missing).toEqual([]);
    expect(await notesReceived(tenant.apiKey)).toEqual(["contact [REDACTED]"]);
  });

  it("spans that waited for their trace under the rules the tenant still has go as they were kept", async () => {
    const tenant = await routingTenant({
      translate: true,
      trace_wait_seconds: 3600,
      redact: { keys: [{ pattern: "braintrust.metadata" }] },
    });
    const trace = trueFoundryTrace();
    const children = spansOf(trace).filter((span) => span.parentSpanId.byteLength > 0);
    const traceId = children[0]!.traceId;
    expect((await sendTraces(tenant, toProtobuf(requestOf(children)))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(children.length);

    await endWaitNow(traceRoutesOf(tenant, traceId), traceId);

    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf(children)));
    expect(arrival.missing).toEqual([]);
    // Translation's metadata, which the rule on its key does not reach when spans come, is still there.
    const received = arrival.requests.flatMap((r) => spansOf(r.request));
    expect(received.some((span) => "braintrust.metadata" in attributesOf(span))).toBe(true);
  });

  it("spans masked by the rules the tenant still has go as they were kept; those an older relay queued, naming no rules, are masked again", async () => {
    // A rule on a key translation adds: run before translation, it removes nothing when spans come,
    // and a retry under the same rules sends them as the first attempt would have.
    const rules = { keys: [{ pattern: "braintrust.metadata" }] };
    const tenant = await createTenant({ config: { redact: rules } });
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ status: 503, headers: { "retry-after": "1" } }]);
    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);
    const [retried] = (await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).requests;
    const keptAsCame = spansOf(retried!.request).filter((span) => "braintrust.metadata" in attributesOf(span));
    expect(keptAsCame.length).toBeGreaterThan(0);

    const olderRelays = queuedMessage(tenant, toProtobuf(requestOf(keptAsCame)), { spans: keptAsCame.length });
    expect(await consume(DELIVERIES, [olderRelays])).toEqual({ acked: [olderRelays.id], retried: [], threw: undefined });

    const [, maskedAgain] = await standin.received(tenant.apiKey);
    expect(spansOf(maskedAgain!.request).map((span) => "braintrust.metadata" in attributesOf(span))).toEqual(keptAsCame.map(() => false));
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });
});
