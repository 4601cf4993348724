import { Hono } from "hono";
import { braintrustTakesKey } from "../deliver/client-key-check.js";
import { deliverAll, type RequestDeliveryResult } from "../deliver/during-request.js";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { methodNotAllowed, RelayError } from "../http/errors.js";
import { logEvent } from "../log/events.js";
import type { UsageByParent } from "../process/process-spans.js";
import { readBody, untrustedBodyLimits } from "../receive/body.js";
import { contentCodingOf, requireOtlpFormat } from "../receive/content-type.js";
import { takeRequestToken, takeUntrustedRequestToken, withinLocationCeiling } from "../receive/rate-limit.js";
import { otlpSuccessResponse } from "../receive/respond.js";
import { takingTurns } from "../receive/turns.js";
import type { ModelUsageCounts } from "../stats/counts.js";
import { countSpans, countUsage } from "../stats/recorder.js";
import { recordBraintrustVerdict } from "../tenants/accepted-keys.js";
import { authenticateIngest } from "../tenants/credentials.js";
import { TENANT_ID, TENANT_ID_RULE } from "../tenants/schema.js";
import { tenantStoreOf } from "../tenants/store.js";
import { clientAnswer } from "./client-answer.js";
import { countRequests } from "./count-requests.js";
import { planSettled, prepareDeliveries } from "./prepare-deliveries.js";
import { type ProvisionalDecision, rememberAccepted, settleTraces } from "./settle-traces.js";

/** A path's tenant id, or 404: an id no tenant can have names no tenant. */
function requireTenantId(id: string): string {
  if (!TENANT_ID.test(id)) {
    throw new RelayError("not_found", `no such tenant: tenant ids are ${TENANT_ID_RULE}`);
  }
  return id;
}

/** `POST /t/:tenant/v1/traces`: OTLP/HTTP in, Braintrust out. */
export const tracesRoute = new Hono<AppEnv>();

tracesRoute.use("/:tenant/v1/traces", countRequests());

tracesRoute.post("/:tenant/v1/traces", async (c) => {
  const tenantId = requireTenantId(c.req.param("tenant"));
  const config = relayConfig(c.env);
  const tenants = tenantStoreOf(c.env);
  const tenant = await tenants.get(tenantId);
  // KV caches a miss as it caches a record, so a tenant created a moment ago is still a miss here for a while.
  if (!tenant) {
    throw new RelayError(
      "not_found",
      `no such tenant: ${tenantId} (a tenant just created is seen everywhere within ${tenants.changeAppliesWithinSeconds} s)`,
    );
  }
  const counted = { tenant: tenantId, incarnation: tenant.incarnation };
  c.set("countedTenant", counted);
  // Once the tenant is found, so a gateway set to an encoding the relay does not take shows in its statistics.
  const format = requireOtlpFormat(c.req.header("content-type"));
  const coding = contentCodingOf(c.req.header("content-encoding"));
  const credential = await authenticateIngest(tenant, c.req.header("authorization"), c.env);
  // After authentication, so strangers cannot spend a tenant's budget; the isolate's bucket first,
  // since it costs no call. A passthrough key Braintrust has not accepted yet may be anyone's: its
  // requests get a small budget and body limit of their own instead.
  if (credential.trusted) {
    takeRequestToken(tenantId, tenant.rate_limit ?? config.defaultRateLimit);
    await withinLocationCeiling(c.env.TENANT_RATE_CEILING, tenantId);
  } else takeUntrustedRequestToken(tenantId);
  // The key as offered to this tenant's Braintrust, for what Braintrust says of it.
  const offered = { tenantId, incarnation: tenant.incarnation, apiUrl: tenant.api_url, apiKey: credential.apiKey };
  // A larger body from a key not yet accepted waits while Braintrust is asked whether it takes the
  // key; taken, the body is read whole, and the request is still one of a key not yet trusted.
  const body = credential.trusted
    ? await readBody(c.req.raw, coding, config)
    : await readBody(c.req.raw, coding, untrustedBodyLimits(config), {
        limits: config,
        ask: () => braintrustTakesKey(offered, tenant.parent, config),
      });
  const prepared = await takingTurns(prepareDeliveries(body, format, tenant, credential, config, c.env));
  const { rejections } = prepared;
  let { deliveries } = prepared;
  // A tenant that does not route sends every span to its parent.
  let usage: UsageByParent = new Map([[tenant.parent, prepared.usage]]);
  let waiting = 0;
  let anyWaiting = false;
  let provisional: ProvisionalDecision[] = [];
  let objectsCalled = 0;
  if (prepared.traces) {
    // The spans' ranges are in the body their deliveries are cut from, the request's text mended or not.
    const settled = await settleTraces(c.env, prepared.body.bytes, prepared.traces, tenant, credential);
    deliveries = planSettled(prepared.body, format, rejections, settled.processed, { tenant, credential, config });
    waiting = settled.waitingSpans;
    anyWaiting = settled.anyWaiting;
    provisional = settled.provisional;
    objectsCalled = settled.objectsCalled;
    usage = settled.usage;
    // Kept now, they are the relay's whatever the client is told: counted once, as they are received.
    countUsage(counted, settled.keptUsage);
  }
  const accepted = deliveries.reduce((sum, d) => sum + d.spans, 0) + waiting;
  countSpans(counted, "received", accepted + Number(rejections.rejectedSpans));
  countSpans(counted, "accepted", accepted);
  countSpans(counted, "rejected_invalid", Number(rejections.rejectedSpans));
  const results = await deliverAll(c.env, config, deliveries, tenant, credential, objectsCalled);
  for (const r of results) if (r.result === "queued") countSpans(counted, "queued", r.spans);
  const verdict = credential.mode === "passthrough" ? braintrustVerdict(results) : undefined;
  if (verdict !== undefined) await recordBraintrustVerdict(offered, verdict);
  // Only now may an untrusted request's traces be decided for the spans that follow: a key Braintrust refused decides nothing.
  if (verdict === true) await rememberAccepted(c.env, tenant, provisional, parentsTaken(results));
  const answer = clientAnswer(results, rejections, anyWaiting);
  // Once the spans are the relay's: a request refused now is sent again, and its calls would count twice.
  for (const calls of usageKept(usage, results)) countUsage(counted, calls);
  // The client is told in its partial_success, which no operator sees: one line per request answered 200,
  // with why. Not before: a request answered 503 is sent again, and its line would be written twice.
  if (rejections.rejectedSpans > 0n) {
    logEvent({
      event: "ingest_spans_rejected",
      tenant: tenantId,
      spans: Number(rejections.rejectedSpans),
      reason: prepared.rejectionsLogged,
    });
  }
  // Else silent: a typo in a client's parent would send its traces elsewhere with nothing to say why.
  const ignored = prepared.traces?.ignoredParents;
  if (ignored) logEvent({ event: "caller_parent_ignored", tenant: tenantId, spans: ignored.spans, reason: ignored.reason });
  return otlpSuccessResponse(format, c.req.header("content-type"), answer);
});

/**
 * What Braintrust said of a passthrough key across a request's deliveries: accepted when it took
 * any of them, refused only when it refused every one (a 403 for one parent of several is about
 * that parent), else nothing new.
 */
function braintrustVerdict(results: RequestDeliveryResult[]): boolean | undefined {
  if (results.some((r) => r.result === "delivered")) return true;
  if (results.length > 0 && results.every((r) => r.result === "refused")) return false;
  return undefined;
}

/**
 * The parents Braintrust took spans at, in any of the request's deliveries, and those whose spans were
 * queued once it had: a request of a key not yet accepted attempts its first parents only, and queues
 * the others' spans when Braintrust took some, which then go there as a trusted key's would.
 */
function parentsTaken(results: RequestDeliveryResult[]): Set<string> {
  return new Set(results.flatMap((r) => (r.result === "delivered" || r.result === "queued" ? [r.parent] : [])));
}

/**
 * The model calls of the parents whose spans the relay delivered or kept (queued, or as a dead
 * letter): not those of a parent whose every delivery Braintrust refused with a key it has not
 * accepted, or that was never sent. Those calls are in no one's Braintrust, and the client, told
 * so, does not send them again.
 */
function usageKept(usage: UsageByParent, results: RequestDeliveryResult[]): Array<Record<string, ModelUsageCounts>> {
  const kept = new Set<string>();
  const notKept = new Set<string>();
  for (const r of results) {
    if (r.result === "refused" || r.result === "rejected" || r.result === "not_sent") notKept.add(r.parent);
    else if (r.result === "dead_lettered") kept.add(r.deadLetter.parent);
    else if (r.result !== "not_kept") kept.add(r.parent);
  }
  return [...usage].flatMap(([parent, calls]) => (notKept.has(parent) && !kept.has(parent) ? [] : [calls]));
}

tracesRoute.all("/:tenant/v1/traces", (c) => {
  throw methodNotAllowed(`${c.req.method} /t/:tenant/v1/traces`, "POST");
});
