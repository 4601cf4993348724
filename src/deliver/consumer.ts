import { type RelayConfig, relayConfig } from "../env.js";
import { errorText, logEvent } from "../log/events.js";
import { maskedAgain } from "../process/mask-again.js";
import { countSpans } from "../stats/recorder.js";
import { recordBraintrustVerdict } from "../tenants/accepted-keys.js";
import { authoritativeTenant } from "../tenants/authoritative.js";
import { openStoredKey } from "../tenants/credentials.js";
import { maskingRulesDigest } from "../tenants/rules-digest.js";
import { isIncarnationOf, type Tenant } from "../tenants/schema.js";
import { tenantStoreOf } from "../tenants/store.js";
import { attemptDelivery } from "./attempt.js";
import { openClientKey, type QueuedClientKey } from "./client-key.js";
import { markDelivered, wasDelivered } from "./delivered-markers.js";
import { type DeliveryMessage, deliveryIdentity } from "./message.js";
import { tenantChangedSince } from "./newer-tenant.js";
import { enqueue, halvesAsMessages } from "./queue.js";
import { releaseReplays } from "./replay-claims.js";
import {
  deliveryMessages,
  discardOrWait,
  finishDeadLetter,
  isReplay,
  keepAsDeadLetter,
  keptAsDeadLetter,
  replayedDeadLetterGone,
  skipDelivered,
  skipGone,
  skipRepeat,
  tenantOfMessage,
} from "./skip-or-keep.js";
import { loadPayload, releaseEnded, releasePayload } from "./spill.js";

/** How long Cloudflare waits before redelivering a message the consumer could not handle at all. */
const CONSUMER_FAILURE_DELAY_SECONDS = 30;

/**
 * Bytes of spans a batch's deliveries hold at once. Each holds its spans, their gzip and the request
 * made of them: ten replayed dead letters of 9 MB at once would pass an isolate's 128 MB, and the
 * batch, failing whole each time it came back, would never be delivered. Past it, deliveries wait
 * for those before them to finish; one larger than it goes alone.
 */
const MAX_BYTES_AT_ONCE = 24 * 1024 * 1024;

/** The delivery queue's consumer: one attempt per message, then done, retry, split or dead letter. */
export async function consumeDeliveries(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const messages = deliveryMessages(batch);
  const config = configOrLogged(messages, env);
  // A message twice in one batch (sent twice, as a dead letter replayed again once its claim lapsed)
  // would pass the delivered check twice, before either copy is marked: the first copy goes, the
  // others are repeats, each skipped for it.
  const firstCopies = new Map<string, { queued: Message<DeliveryMessage>; repeats: DeliveryMessage[] }>();
  for (const queued of messages) {
    const identity = deliveryIdentity(queued.body);
    const first = firstCopies.get(identity);
    if (!first) {
      firstCopies.set(identity, { queued, repeats: [] });
      continue;
    }
    first.repeats.push(queued.body);
    skipRepeat(queued.body, "repeat in its batch");
    queued.ack();
  }
  for (const group of inGroupsOfBytes([...firstCopies.values()], ({ queued }) => queued.body.bytes, MAX_BYTES_AT_ONCE))
    await Promise.all(group.map(({ queued, repeats }) => deliverFirstCopy(queued, repeats, env, config)));
}

async function deliverFirstCopy(
  queued: Message<DeliveryMessage>,
  repeats: DeliveryMessage[],
  env: Env,
  config: RelayConfig,
): Promise<void> {
  try {
    await deliverQueued(queued.body, env, config);
    queued.ack();
  } catch (err) {
    // KV, R2 or the queue itself failed: Cloudflare redelivers the message as it is, and after
    // the consumer's max_retries moves it to the dead-letter queue (consumeDeadLetterQueue).
    logEvent({ event: "delivery_consumer_error", tenant: queued.body.tenant, delivery_id: queued.body.id, error: errorText(err) });
    queued.retry({ delaySeconds: CONSUMER_FAILURE_DELAY_SECONDS });
  }
  // A repeat from a later replay of a dead letter carries that replay's claim, which nothing else
  // would let go of: held, it would refuse every replay of the dead letter until it lapsed.
  const otherClaims = repeats.filter((r) => r.replayClaim !== undefined && r.replayClaim !== queued.body.replayClaim);
  if (otherClaims.length > 0) await releaseReplays(env, otherClaims);
}

/** The items in order, in groups of at most `limit` bytes together; an item larger than it alone. */
function inGroupsOfBytes<T>(items: T[], bytesOf: (item: T) => number, limit: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (group.length > 0 && bytes + bytesOf(item) > limit) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += bytesOf(item);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * The relay's vars, or, when one is invalid, a line for each message of the batch before the throw
 * hands them all back: Cloudflare retries them, then moves them to the dead-letter queue, and
 * nothing else would say why (no client is there to be answered 500).
 */
function configOrLogged(messages: Message<DeliveryMessage>[], env: Env): RelayConfig {
  try {
    return relayConfig(env);
  } catch (err) {
    for (const { body } of messages) {
      logEvent({ event: "delivery_consumer_error", tenant: body.tenant, delivery_id: body.id, error: errorText(err) });
    }
    throw err;
  }
}

async function deliverQueued(message: DeliveryMessage, env: Env, config: RelayConfig): Promise<void> {
  const protobuf = await loadPayload(env.PAYLOADS, message);
  if (!protobuf) return skipGone(message);
  if (await wasDelivered(env.TENANTS, message)) return skipDelivered(env, message);
  if (await keptAsDeadLetter(env.PAYLOADS, message)) return finishDeadLetter(env, message);
  const tenants = tenantStoreOf(env);
  const tenant = await tenantOfMessage(env, tenants, message);
  if (!tenant) return discardOrWait(env, tenants, message);
  const owner = await ownerIfRulesBehind(env, message, tenant);
  return owner ? deliverWith(owner, message, protobuf, env, config, false) : deliverWith(tenant, message, protobuf, env, config, true);
}

/**
 * For a replay read with a tenant whose redaction rules are not those its object held when the
 * replay was asked for, the object's record: KV's copy lags a change by up to minutes, and an
 * operator who adds a rule and then replays expects the spans masked by it. Undefined otherwise.
 */
async function ownerIfRulesBehind(env: Env, message: DeliveryMessage, tenant: Tenant): Promise<Tenant | undefined> {
  if (message.rulesAtReplay === undefined || (await maskingRulesDigest(tenant.redact)) === message.rulesAtReplay) return undefined;
  const owner = await authoritativeTenant(env, message.tenant);
  return isIncarnationOf(owner, message.incarnation) ? owner : undefined;
}

/**
 * One attempt with the tenant as read, and what follows. `copy`: whether the tenant is KV's copy,
 * which lags a change by minutes (newer-tenant.ts): before the spans are kept as a dead letter for
 * what it says (no stored key, or an api_url other than the one the client's key was sent for) or
 * for Braintrust's refusal of its stored key or api_url, the tenant's Durable Object is asked
 * (tenantChangedSince), and the spans go with its record when that differs, once.
 */
async function deliverWith(
  tenant: Tenant,
  message: DeliveryMessage,
  protobuf: Uint8Array,
  env: Env,
  config: RelayConfig,
  copy: boolean,
): Promise<void> {
  const key = await deliveryKey(message, tenant, env);
  // What holds the spans next (a retry, its halves, a dead letter) holds the client's key as it opens now.
  const held = key.resealed ? { ...message, ...key.resealed } : message;
  // Sent, halved and kept as masked by the tenant's rules now; a retry keeps the bytes it has, masked again when it comes.
  const masked = await maskedByRulesNow(message, protobuf, tenant);
  const remasked = { ...held, maskedWith: masked.maskedWith };
  const askObject = () => tenantChangedSince(env, tenant, message.replayClaim !== undefined);
  if ("undeliverable" in key) {
    // A stored key just set, or the api_url the client's key was sent for just set: KV's copy may not say so yet.
    const newer = copy ? await askObject() : undefined;
    if (newer) return deliverWith(newer, message, protobuf, env, config, false);
    return keepAsDeadLetter(env, remasked, masked.protobuf, key.undeliverable);
  }
  const { apiKey } = key;
  // The client's key as offered to this tenant's Braintrust, for what Braintrust says of it.
  const offered = { tenantId: message.tenant, incarnation: tenant.incarnation, apiUrl: tenant.api_url, apiKey };
  const deadLetter = (reason: string, attemptsMade: number) =>
    keepAsDeadLetter(env, { ...remasked, attempts: attemptsMade }, masked.protobuf, reason);

  const attempts = message.attempts + 1;
  const { outcome, next, newer } = await attemptDelivery(
    { apiUrl: tenant.api_url, apiKey, parent: message.parent },
    // Off the client's path, so bandwidth wins over CPU: always compressed.
    { protobuf: masked.protobuf, compress: true },
    { timeoutMs: config.queuedUpstreamTimeoutMs, allowInsecureUpstream: config.allowInsecureUpstream },
    {
      tenant: message.tenant,
      incarnation: message.incarnation,
      deliveryId: message.id,
      attempts,
      serverErrors: message.serverErrors,
      spans: message.spans,
      mode: message.sealedClientKey ? "passthrough" : "stored_key",
      // Only trusted credentials' spans are ever queued.
      trusted: true,
      clientWaits: false,
    },
    config.retry,
    // A passthrough client's key is its own, bound to the api_url it was sent for: nothing the tenant's object holds can fix its refusal.
    copy && message.sealedClientKey === undefined ? askObject : undefined,
  );
  if (newer) return deliverWith(newer, { ...message, attempts }, protobuf, env, config, false);
  const lastError = outcome.kind === "delivered" ? undefined : outcome.reason;
  switch (next.step) {
    case "done": {
      const marked = await markDeliveredOrLog(env.TENANTS, message);
      // Counted once, however R2's letting go of the spans goes: should it fail after the marker was
      // written, the message comes again and is skipped as delivered, which counts a replay leaving
      // (see skipRepeat), and no other.
      if (!isReplay(message)) countSpans(message, "left_queue", message.spans);
      // Handed back without a marker, it would send the spans again for certain: then R2 failing to let go only leaves them behind.
      if (marked) await releaseEnded(env.PAYLOADS, message);
      else await releaseOrLog(() => releaseEnded(env.PAYLOADS, message), message, "delivered_release_failed");
      if (isReplay(message)) countSpans(message, "left_queue", message.spans);
      if (message.sealedClientKey) await recordBraintrustVerdict(offered, true);
      return;
    }
    case "retry":
      await enqueue(
        env.DELIVERY_QUEUE,
        [{ ...held, attempts, serverErrors: next.serverErrors, ...(lastError ? { lastError } : {}) }],
        next.delaySeconds,
      );
      countSpans(message, "retried", message.spans);
      return;
    case "split":
      // A replay's halves would send spans deleted while Braintrust was asked.
      if (await replayedDeadLetterGone(env.PAYLOADS, message)) return skipGone(message);
      // The halves' ids are the message's own, made again should it come back: their spills are kept on failure.
      await enqueue(
        env.DELIVERY_QUEUE,
        await halvesAsMessages({ ...remasked, attempts, ...(lastError ? { lastError } : {}) }, masked.protobuf, env.PAYLOADS, "repeated"),
      );
      await releaseOrLog(() => releasePayload(env.PAYLOADS, message), message, "split_release_failed");
      return;
    case "dead_letter":
    // Never, as queued spans are trusted; were it to happen, there is no client to hand them back to.
    case "hand_back":
    case "reject":
      return deadLetter(next.reason, attempts);
    case "refuse_client":
      // 401 says the key is no good; a 403 may be about this parent only, the key still good for others.
      if (outcome.kind === "rejected" && outcome.status === 401) {
        await recordBraintrustVerdict(offered, false);
      }
      // Kept, as a stored key's spans are: the client heard 200 for them, and a refusal from the
      // queue is not always the key's end (a 403 for this parent only, or from Braintrust's gateway
      // for something else; the key's rights given back). A replay sends them with the same key.
      return deadLetter(`Braintrust refused the client's API key: ${lastError}`, attempts);
  }
}

/**
 * The spans as the tenant's redaction rules mask them now, and the digest of those rules: spans kept
 * under others (a rule added since they came, before a dead letter's replay, say) are masked again
 * by these, as they would be were they received now. Spans masked by these already go as they are.
 */
async function maskedByRulesNow(
  message: DeliveryMessage,
  protobuf: Uint8Array,
  tenant: Tenant,
): Promise<{ protobuf: Uint8Array; maskedWith: string }> {
  const maskedWith = await maskingRulesDigest(tenant.redact);
  if (message.maskedWith === maskedWith) return { protobuf, maskedWith };
  return { protobuf: maskedAgain(protobuf, tenant.redact) ?? protobuf, maskedWith };
}

/**
 * Lets go of a message that is done though R2 will not let go of its spans (a spill, or a replay's
 * dead letter, which stays listed): handed back, it would send them again with nothing to tell it
 * was done. Its halves hold them after a split; Braintrust took them, with no marker to skip a repeat.
 */
async function releaseOrLog(
  release: () => Promise<void>,
  message: DeliveryMessage,
  event: "split_release_failed" | "delivered_release_failed",
): Promise<void> {
  try {
    await release();
  } catch (err) {
    logEvent({ event, tenant: message.tenant, delivery_id: message.id, error: errorText(err) });
  }
}

/**
 * Braintrust took the spans, so the message is done even when KV will not write its marker (an
 * outage, or the Free plan's 1,000 writes a day): the missing marker only leaves a later repeat
 * unskipped, where handing the message back would send the spans again for certain. Whether it was written.
 */
async function markDeliveredOrLog(kv: KVNamespace, message: DeliveryMessage): Promise<boolean> {
  try {
    await markDelivered(kv, message);
    return true;
  } catch (err) {
    logEvent({ event: "delivered_marker_failed", tenant: message.tenant, delivery_id: message.id, error: errorText(err) });
    return false;
  }
}

/**
 * The key to deliver with: the client's, only to the api_url it was sent for (an admin who moved the
 * tenant elsewhere may have had reason to leave that host), else the tenant's stored one; or why
 * there is none.
 */
async function deliveryKey(
  message: DeliveryMessage,
  tenant: Tenant,
  env: Env,
): Promise<{ apiKey: string; resealed?: QueuedClientKey } | { undeliverable: string; resealed?: QueuedClientKey }> {
  const { sealedClientKey, clientKeyApiUrl } = message;
  if (!sealedClientKey) {
    const stored = await openStoredKey(tenant, env);
    return stored ? { apiKey: stored } : { undeliverable: "the tenant no longer has a stored API key to deliver with" };
  }
  const opened = await openClientKey({ sealedClientKey, clientKeyApiUrl }, env, message.tenant, tenant.api_url);
  if ("apiKey" in opened) return opened;
  return {
    undeliverable: `the tenant's api_url changed to ${tenant.api_url} after the client's Braintrust key was sent for ${opened.sentFor}, and the key goes nowhere else: replay once api_url is ${opened.sentFor} again, or delete`,
    ...(opened.resealed ? { resealed: opened.resealed } : {}),
  };
}
