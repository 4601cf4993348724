import type { RelayConfig } from "../env.js";
import { RelayError } from "../http/errors.js";
import { TRANSIENT_RETRY_AFTER_SECONDS } from "../http/retry-after.js";
import { errorText, logEvent } from "../log/events.js";
import { halveRequest } from "../otlp/outgoing.js";
import type { PartialSuccess } from "../otlp/partial-success.js";
import { countSpans } from "../stats/recorder.js";
import { type BraintrustCredential, openStoredKey } from "../tenants/credentials.js";
import { maskingRulesDigest } from "../tenants/rules-digest.js";
import type { Tenant } from "../tenants/schema.js";
import { allOrUndone } from "./all-or-undone.js";
import { attemptDelivery } from "./attempt.js";
import { sealClientKey } from "./client-key.js";
import { type DeadLetter, DeadLetterStore } from "./dead-letters.js";
import { type Delivery, type DeliveryMessage, halfId, type MessageTemplate } from "./message.js";
import { tenantChangedSince } from "./newer-tenant.js";
import type { NextStep } from "./next-step.js";
import type { DeliveryOutcome } from "./outcome.js";
import { EnqueueFailed, enqueueNew, halvesAsMessages, messagesFor } from "./queue.js";
import { releasePayloads } from "./spill.js";

/**
 * What became of one delivery by the time the client is answered: every one ends as exactly one of
 * these, or, split while the client waits (resentNow), as one for each of its pieces. Each says its
 * own parent or spans where its reader needs them, never by its place among the deliveries.
 */
export type RequestDeliveryResult =
  | { result: "delivered"; parent: string; partialSuccess?: PartialSuccess }
  | { result: "queued"; spans: number; parent: string }
  | { result: "dead_lettered"; deadLetter: DeadLetter }
  /** Braintrust refused the passthrough client's key; nothing was kept, since only the client can fix it. */
  | { result: "refused"; spans: number; parent: string; refusal: RelayError }
  /** Braintrust refused spans sent with a key it has not accepted yet, which earns nothing kept. */
  | { result: "rejected"; spans: number; parent: string; reason: string }
  /** Spans of a key Braintrust has not accepted yet, past the request's first attempts, which it refused all: neither sent nor kept. */
  | { result: "not_sent"; spans: number; parent: string }
  /** Neither delivered nor kept: the client has to send the spans again. */
  | { result: "not_kept"; error: RelayError };

/**
 * Every delivery of a request, each result in its delivery's place: the first ones the request's
 * subrequests allow (`attemptsDuringRequest`) attempted while the client waits, the others queued
 * unattempted. For a key Braintrust has not accepted yet, which anyone may send, so is the number of
 * attempts: one request of it never makes the relay send Braintrust (or a tenant's own api_url) more
 * than a trusted key's does, whatever number of parents its spans name. Its others are queued only
 * once Braintrust has taken some of its spans, and so accepted it; refused with it when Braintrust
 * refused it for every parent attempted; left out, said so in the 200, when it refused the spans of
 * every parent attempted; else not kept, for the client to send again.
 * `tenant`: the record the deliveries were made with, KV's copy, which a refusal of its stored key
 * or api_url checks against the tenant's Durable Object (withNewerTenant).
 * `objectsCalled`: the trace-routes objects the request called before. Settled, not
 * all(): the client is answered only once every delivery is accounted for, even when one of them
 * fails on a bug; work left running after the answer is not sure to finish.
 */
export async function deliverAll(
  env: Env,
  config: RelayConfig,
  deliveries: Delivery[],
  tenant: Tenant,
  credential: Pick<BraintrustCredential, "mode" | "trusted">,
  objectsCalled = 0,
): Promise<RequestDeliveryResult[]> {
  const attempted = deliveries.slice(0, attemptsDuringRequest(objectsCalled));
  const unattempted = deliveries.slice(attempted.length);
  // Three attempts a delivery at most (resentNow; two and a queue send for withNewerTenant), and a Worker has 50 subrequests on the Free plan.
  const resendAtOnce = attempted.length <= MAX_DELIVERIES_RESENT;
  // Once a request at most, and only once Braintrust refused what KV's copy says: never on the way of spans it takes.
  // A passthrough client's key is its own, sent for the api_url it was sent for, and the object holds neither.
  let asked: Promise<Tenant | undefined> | undefined;
  const newerTenant = credential.mode === "stored_key" ? () => (asked ??= tenantChangedSince(env, tenant)) : undefined;
  const attempts = attempted.map((delivery) => deliverDuringRequest(env, config, delivery, { attempt: 1, resendAtOnce, newerTenant }));
  // A client's key is Braintrust's to refuse, whoever accepted it before: refused for every parent
  // attempted, it is refused for the others too and nothing of them is kept, as for fewer parents.
  const rest =
    credential.mode === "passthrough" && unattempted.length > 0
      ? Promise.allSettled(attempts).then((settled) => {
          const refusal = refusedForAll(settled);
          if (refusal) return unattempted.map((delivery) => refusedAs(delivery, refusal));
          if (credential.trusted || deliveredAny(settled)) return queueUnattempted(env, config, unattempted);
          // Sent again, the request meets the same answers for the same first parents: a 503 would have it sent for ever.
          return answeredAll(settled) ? unattempted.map(notSent) : unattempted.map(notSentYet);
        })
      : queueUnattempted(env, config, unattempted);
  return allSettledResults([...attempts, rest]);
}

/** The results in order, once all have settled; one that failed on a bug fails the request, but only then. */
async function allSettledResults(results: Promise<RequestDeliveryResult | RequestDeliveryResult[]>[]): Promise<RequestDeliveryResult[]> {
  const settled = await Promise.allSettled(results);
  return settled.flatMap((s) => {
    if (s.status === "rejected") throw s.reason;
    return s.value;
  });
}

/** Braintrust's refusal of the client's key when it refused it for every delivery attempted. */
function refusedForAll(settled: PromiseSettledResult<RequestDeliveryResult | RequestDeliveryResult[]>[]): RelayError | undefined {
  const refusals = settled.flatMap((s) =>
    s.status === "fulfilled" && !Array.isArray(s.value) && s.value.result === "refused" ? [s.value.refusal] : [],
  );
  return refusals.length === settled.length ? refusals[0] : undefined;
}

/** Whether Braintrust took spans in any of the deliveries attempted: the key is then one it accepts. */
function deliveredAny(settled: PromiseSettledResult<RequestDeliveryResult | RequestDeliveryResult[]>[]): boolean {
  return settled.some((s) => s.status === "fulfilled" && [s.value].flat().some((result) => result.result === "delivered"));
}

/** Whether Braintrust answered every delivery attempted for good, refusing its spans or the key: none of them is to be sent again. */
function answeredAll(settled: PromiseSettledResult<RequestDeliveryResult | RequestDeliveryResult[]>[]): boolean {
  return settled.every(
    (s) => s.status === "fulfilled" && [s.value].flat().every((result) => result.result === "rejected" || result.result === "refused"),
  );
}

/** A delivery past the request's first attempts, all of which Braintrust refused for good: left out, counted as refused. */
function notSent(delivery: Delivery): RequestDeliveryResult {
  countSpans({ tenant: delivery.tenantId, incarnation: delivery.incarnation }, "refused_upstream", delivery.spans);
  return { result: "not_sent", spans: delivery.spans, parent: delivery.parent };
}

/**
 * A delivery of a key Braintrust has not accepted, past the request's first attempts, none of which
 * it took: not sent, not kept, so that a stranger's request costs Braintrust no more than a trusted
 * one's. The client sends the request again, and once Braintrust has taken spans sent with the key,
 * the relay queues what the first attempts leave.
 */
function notSentYet(): RequestDeliveryResult {
  const error = new RelayError(
    "unavailable",
    "Braintrust has not yet accepted this API key and took none of the spans sent with it to the request's first parents, so those for its other parents were not sent: retry later",
    { retryAfterSeconds: TRANSIENT_RETRY_AFTER_SECONDS },
  );
  return { result: "not_kept", error };
}

/** A delivery not attempted, refused as the client's key was for the others. */
function refusedAs(delivery: Delivery, refusal: RelayError): RequestDeliveryResult {
  countSpans({ tenant: delivery.tenantId, incarnation: delivery.incarnation }, "refused_upstream", delivery.spans);
  return { result: "refused", spans: delivery.spans, parent: delivery.parent, refusal };
}

/**
 * The first attempt happens while the client waits. Whatever it does not deliver is kept durably
 * (queued for retry, or dead-lettered) before the client hears 2xx; if that fails too, or the relay
 * does not trust the credential yet, the result says so, and the client will get 503 and keep its
 * spans. Refusals are results, not exceptions, so that one delivery's answer never cuts its
 * siblings short. `attempt`: this attempt's number, 2 for a piece sent again at once (see resentNow,
 * withNewerTenant), whose pieces are results of their own; `resendAtOnce`: whether the delivery
 * may be sent again while the client waits; `newerTenant`: the tenant as its Durable Object holds it,
 * when it holds another stored key or api_url than the delivery's (asked once a request).
 */
async function deliverDuringRequest(
  env: Env,
  config: RelayConfig,
  delivery: Delivery,
  { attempt, resendAtOnce, newerTenant }: { attempt: number; resendAtOnce: boolean; newerTenant?: () => Promise<Tenant | undefined> } = {
    attempt: 1,
    resendAtOnce: false,
  },
): Promise<RequestDeliveryResult | RequestDeliveryResult[]> {
  const { outcome, next, newer } = await attemptDelivery(
    { apiUrl: delivery.apiUrl, apiKey: delivery.credential.apiKey, parent: delivery.parent },
    delivery.payload,
    { timeoutMs: config.upstreamTimeoutMs, allowInsecureUpstream: config.allowInsecureUpstream },
    {
      tenant: delivery.tenantId,
      incarnation: delivery.incarnation,
      deliveryId: delivery.id,
      attempts: attempt,
      serverErrors: 0,
      spans: delivery.spans,
      mode: delivery.credential.mode,
      trusted: delivery.credential.trusted,
      resendAtOnce,
      clientWaits: true,
    },
    config.retry,
    newerTenant && (() => withNewerTenant(env, delivery, newerTenant)),
  );
  if (next.step === "done")
    return {
      result: "delivered",
      parent: delivery.parent,
      ...(outcome.kind === "delivered" && outcome.partialSuccess ? { partialSuccess: outcome.partialSuccess } : {}),
    };
  if (next.step === "refuse_client") return refusedAs(delivery, clientKeyRefused(outcome));
  if (next.step === "hand_back") return { result: "not_kept", error: handedBack(next) };
  if (next.step === "reject") return { result: "rejected", spans: delivery.spans, parent: delivery.parent, reason: next.reason };
  if (!delivery.credential.trusted && (next.step === "split" || next.step === "retry")) return resentNow(env, config, delivery, next.step);
  if (newer && resendAtOnce) return deliverDuringRequest(env, config, newer, { attempt: attempt + 1, resendAtOnce: false });
  try {
    // Past the subrequests a second attempt may take, a delivery with `newer` settings is queued at once (next: a retry in 0 s) for the consumer, which asks the object too.
    return await keepDurably(env, delivery, next, outcome);
  } catch (err) {
    if (err instanceof RelayError) throw err;
    countQueuedBefore(err);
    return notKept(delivery, err);
  }
}

/**
 * The delivery with the stored key and api_url the tenant's Durable Object holds, when they are not
 * those Braintrust just refused: an operator fixed them in the minutes KV's copy lags the change
 * (README, "How long a change takes to apply"), and the spans would be kept as a dead letter for
 * what is fixed. Undefined when the object holds the same, or no stored key now.
 */
async function withNewerTenant(
  env: Env,
  delivery: Delivery,
  newerTenant: () => Promise<Tenant | undefined>,
): Promise<Delivery | undefined> {
  const newer = await newerTenant();
  // A key that will not open leaves the refusal standing, as an object that does not answer does.
  const apiKey = newer && (await openStoredKey(newer, env)?.catch(() => undefined));
  return newer && apiKey ? { ...delivery, apiUrl: newer.api_url, credential: { ...delivery.credential, apiKey } } : undefined;
}

/**
 * A 413 for a key Braintrust has not accepted yet, whose spans nothing keeps: what the queue would do
 * next for a trusted key (halve the spans, or send a single span compressed) is done now, while the
 * client waits, each piece compressed, as the queue sends it. Once only: a piece refused again is
 * rejected, so a request costs at most three attempts a parent; and only for a request of at most
 * MAX_DELIVERIES_RESENT parents. Left rejected, spans a proxy's body limit turned away would be lost
 * behind a 2xx, where a trusted key's would be delivered.
 */
async function resentNow(env: Env, config: RelayConfig, delivery: Delivery, step: "split" | "retry"): Promise<RequestDeliveryResult[]> {
  const { protobuf } = delivery.payload;
  const halves = step === "split" ? halveRequest(protobuf) : undefined;
  const pieces = halves
    ? halves.map((half, n) => ({
        ...delivery,
        id: halfId(delivery.id, n),
        payload: { protobuf: half.protobuf, compress: true },
        spans: half.spans,
      }))
    : [{ ...delivery, payload: { protobuf, compress: true } }];
  return allSettledResults(pieces.map((piece) => deliverDuringRequest(env, config, piece, { attempt: 2, resendAtOnce: false })));
}

/**
 * The most parents a request may have for a delivery to be sent again while the client waits (a 413
 * for a key not yet accepted, a stored key or api_url fixed since KV's copy was read): three attempts
 * each, with the request's own reads of KV and its objects, stay within the 50 subrequests the Free
 * plan allows (docs/cloudflare-limits.md).
 */
const MAX_DELIVERIES_RESENT = 8;

/** A delivery neither delivered nor kept, after `err`: the client is told to send its spans again. */
function notKept(delivery: Delivery, err: unknown): RequestDeliveryResult {
  logEvent({ event: "durable_store_failed", tenant: delivery.tenantId, delivery_id: delivery.id, error: errorText(err) });
  const error = new RelayError("unavailable", "Braintrust did not take the spans and the relay could not queue them: retry later", {
    retryAfterSeconds: TRANSIENT_RETRY_AFTER_SECONDS,
  });
  return { result: "not_kept", error };
}

/** What the queue took before it refused the rest is on its way, and is counted leaving the queue. */
function countQueuedBefore(err: unknown): void {
  if (!(err instanceof EnqueueFailed)) return;
  for (const message of err.queued) countSpans({ tenant: message.tenant, incarnation: message.incarnation }, "queued", message.spans);
}

/**
 * The most deliveries of one request attempted while the client waits. A request of a tenant that
 * routes may go to a hundred parents (any number, with `parent_from_attribute`), and a Worker has 50
 * subrequests a request on the Free plan (docs/cloudflare-limits.md): an attempt is one, and one that
 * fails adds its queue send. Past the limit both would fail, and the client, told 503, would send the
 * whole request again, its delivered spans with it, for ever. So the deliveries past this many are
 * queued without an attempt, together, in as few queue calls as the queue's batch limits allow: a
 * call takes 256 KB, and on the Free plan 10 ms of CPU keep a request to about 1.5 MiB.
 */
export const MAX_ATTEMPTS_DURING_REQUEST = 16;

/**
 * The attempts left while the client waits once the request called `objectsCalled` trace-routes
 * objects (16 at most, one per shard): each call is a subrequest, and an attempt two (its own and
 * the queue send of one that fails), so two calls take one attempt's place. Sixteen objects and
 * eight attempts then make as many subrequests as sixteen attempts alone.
 */
export function attemptsDuringRequest(objectsCalled: number): number {
  return MAX_ATTEMPTS_DURING_REQUEST - Math.ceil(objectsCalled / 2);
}

/**
 * Deliveries queued without an attempt (see MAX_ATTEMPTS_DURING_REQUEST): the queue's consumer makes
 * their first. Only for a credential the relay trusts, or one Braintrust took spans of in this
 * request's first attempts: spans of a key Braintrust has not accepted are never kept. All are
 * queued; or, when the queue takes none, each is attempted now; or, when it took
 * some but not all, none counts as kept and each is `not_kept`.
 */
async function queueUnattempted(env: Env, config: RelayConfig, deliveries: Delivery[]): Promise<RequestDeliveryResult[]> {
  try {
    const messages = await allOrUndone(
      deliveries.map(async (delivery) =>
        messagesFor(await messageTemplate(env, delivery, undefined), delivery.payload.protobuf, delivery.spans, env.PAYLOADS, "fresh"),
      ),
      (made) => releasePayloads(env.PAYLOADS, made),
    );
    await enqueueNew(env.DELIVERY_QUEUE, env.PAYLOADS, messages);
    return deliveries.map((delivery) => ({ result: "queued", spans: delivery.spans, parent: delivery.parent }));
  } catch (err) {
    if (err instanceof RelayError) throw err;
    // Taking none of them (down, or out of the day's operations), the queue should not cost spans
    // Braintrust would take: each is attempted after all, as with fewer parents, subrequests permitting.
    if (!(err instanceof EnqueueFailed) || err.queued.length === 0) {
      return allSettledResults(deliveries.map((delivery) => deliverDuringRequest(env, config, delivery)));
    }
    countQueuedBefore(err);
    return deliveries.map((delivery) => notKept(delivery, err));
  }
}

/**
 * A queue message's fields but its spans, for a delivery. `attempted`: what the attempt made while
 * the client waited said, or undefined when none was made.
 */
async function messageTemplate(
  env: Env,
  delivery: Delivery,
  attempted: { serverErrors: number; lastError?: string } | undefined,
): Promise<MessageTemplate> {
  return {
    id: delivery.id,
    tenant: delivery.tenantId,
    ...(delivery.incarnation ? { incarnation: delivery.incarnation } : {}),
    parent: delivery.parent,
    ...(delivery.credential.mode === "passthrough"
      ? await sealClientKey(delivery.credential.apiKey, env, delivery.tenantId, delivery.apiUrl)
      : {}),
    attempts: attempted ? 1 : 0,
    serverErrors: attempted?.serverErrors ?? 0,
    ...(attempted?.lastError === undefined ? {} : { lastError: attempted.lastError }),
    receivedAt: Date.now(),
    maskedWith: await maskingRulesDigest(delivery.rules),
  };
}

async function keepDurably(
  env: Env,
  delivery: Delivery,
  next: Exclude<NextStep, { step: "done" | "refuse_client" | "hand_back" | "reject" }>,
  outcome: DeliveryOutcome,
): Promise<RequestDeliveryResult> {
  const template = await messageTemplate(env, delivery, {
    serverErrors: next.step === "retry" ? next.serverErrors : 0,
    ...(outcome.kind === "delivered" ? {} : { lastError: outcome.reason }),
  });
  const { protobuf } = delivery.payload;
  switch (next.step) {
    case "retry":
      await enqueueNew(
        env.DELIVERY_QUEUE,
        env.PAYLOADS,
        await messagesFor(template, protobuf, delivery.spans, env.PAYLOADS, "fresh"),
        next.delaySeconds,
      );
      countSpans({ tenant: delivery.tenantId, incarnation: delivery.incarnation }, "retried", delivery.spans);
      return { result: "queued", spans: delivery.spans, parent: delivery.parent };
    case "split":
      await enqueueNew(env.DELIVERY_QUEUE, env.PAYLOADS, await halvesAsMessages(template, protobuf, env.PAYLOADS, "fresh"));
      return { result: "queued", spans: delivery.spans, parent: delivery.parent };
    case "dead_letter": {
      const message: DeliveryMessage = { ...template, payload: { inline: protobuf }, spans: delivery.spans, bytes: protobuf.byteLength };
      return { result: "dead_lettered", deadLetter: await new DeadLetterStore(env.PAYLOADS).put(message, protobuf, next.reason) };
    }
  }
}

/** Braintrust's refusal of a passthrough client's key, as the client hears it: its 401 or 403, with Braintrust's reason. */
export function clientKeyRefused(outcome: DeliveryOutcome): RelayError {
  const status = outcome.kind === "rejected" ? (outcome.status ?? 401) : 401;
  return new RelayError(status === 403 ? "forbidden" : "unauthenticated", outcome.kind === "delivered" ? "" : outcome.reason);
}

/** Nothing is kept for a key Braintrust has not accepted: the client keeps its spans and sends them again. */
function handedBack({ reason, retryAfterSeconds }: Extract<NextStep, { step: "hand_back" }>): RelayError {
  return new RelayError("unavailable", `Braintrust has not yet accepted this API key and did not take the spans (${reason}): retry later`, {
    retryAfterSeconds,
  });
}
