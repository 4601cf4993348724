import { textStart } from "../encoding/bytes.js";
import { logEvent } from "../log/events.js";
import { countSpans } from "../stats/recorder.js";
import { TENANT_ID } from "../tenants/schema.js";
import type { DeliveryMessage } from "./message.js";

/** A delivery no retry could complete, kept in R2 with its spans until an operator replays or deletes it. */
export interface DeadLetter {
  /** `<tenant>:<delivery id>` */
  id: string;
  tenant: string;
  parent: string;
  reason: string;
  attempts: number;
  spans: number;
  bytes: number;
  received_at: string;
  dead_lettered_at: string;
}

const PREFIX = "dead-letters/";
const MAX_REASON = 1000;
/** The most keys R2 lists, and deletes, in one call (docs/cloudflare-limits.md). */
const MAX_PAGE = 1000;

function tenantPrefix(tenant: string): string {
  return `${PREFIX}${tenant}/`;
}

export function deadLetterKey(tenant: string, deliveryId: string): string {
  return `${tenantPrefix(tenant)}${deliveryId}`;
}

/**
 * Delivery ids: a UUID, or a trace-routes object's id and row, each with `.<n>` per piece cut to fit
 * a queue message, `.s<n>` per object of spans spilled together (queue.ts's messagesFor) and `.a` or
 * `.b` per half (message.ts's halfId); spans released by a trace-routes object before its ids were
 * that had `trace-<trace id>-<row>`.
 */
const DELIVERY_ID = /^(trace-)?[0-9a-f][0-9a-fs.-]{0,160}$/;

/** A dead letter's id, `<tenant>:<delivery id>`, as its R2 key and delivery id; undefined for an id no dead letter can have. */
function parseId(id: string): { key: string; deliveryId: string } | undefined {
  const separator = id.indexOf(":");
  const tenant = id.slice(0, separator);
  const deliveryId = id.slice(separator + 1);
  if (separator < 0 || !TENANT_ID.test(tenant) || !DELIVERY_ID.test(deliveryId)) return undefined;
  return { key: deadLetterKey(tenant, deliveryId), deliveryId };
}

/** Whether `id` has the shape of a dead letter's id, whether or not one has it. */
export function isDeadLetterId(id: string): boolean {
  return parseId(id) !== undefined;
}

function fromObject(key: string, meta: Record<string, string>): DeadLetter {
  const [tenant = "", deliveryId = ""] = key.slice(PREFIX.length).split("/");
  return {
    id: `${tenant}:${deliveryId}`,
    tenant,
    parent: meta.parent ?? "",
    reason: meta.reason ?? "",
    attempts: Number(meta.attempts ?? 0),
    spans: Number(meta.spans ?? 0),
    bytes: Number(meta.bytes ?? 0),
    received_at: meta.received_at ?? "",
    dead_lettered_at: meta.dead_lettered_at ?? "",
  };
}

function replayMessageOf(key: string, meta: Record<string, string>): DeliveryMessage {
  const deadLetter = fromObject(key, meta);
  return {
    id: key.slice(key.lastIndexOf("/") + 1),
    tenant: deadLetter.tenant,
    ...(meta.incarnation ? { incarnation: meta.incarnation } : {}),
    parent: deadLetter.parent,
    ...(meta.sealed_client_key ? { sealedClientKey: meta.sealed_client_key } : {}),
    ...(meta.client_key_api_url ? { clientKeyApiUrl: meta.client_key_api_url } : {}),
    ...(meta.masked_with ? { maskedWith: meta.masked_with } : {}),
    payload: { r2Key: key },
    spans: deadLetter.spans,
    bytes: deadLetter.bytes,
    attempts: 0,
    serverErrors: 0,
    receivedAt: Date.parse(deadLetter.received_at) || Date.now(),
  };
}

/**
 * A dead letter as a replay sends it: the message, and the version of its R2 object the message was
 * read from, which the replay claims (replay-claims.ts).
 */
export interface Replay {
  message: DeliveryMessage;
  version: string;
}

function replayOf(object: R2Object): Replay {
  return { message: replayMessageOf(object.key, object.customMetadata ?? {}), version: object.version };
}

/** A page of one tenant's dead letters, or everyone's: continue from `cursor`. */
interface PageOptions {
  tenant?: string;
  cursor?: string;
  limit: number;
}

export class DeadLetterStore {
  constructor(private readonly bucket: R2Bucket) {}

  /** Keeps the spans with why they could not be delivered. The passthrough key stays sealed, with its api_url, for a replay. */
  async put(message: DeliveryMessage, protobuf: Uint8Array, reason: string): Promise<DeadLetter> {
    return (await this.write(message, protobuf, reason))!;
  }

  /**
   * Writes a replayed dead letter anew, with why its replay failed, only while R2 still holds it:
   * one deleted while its replay was under way (by an operator, or with its tenant) stays deleted.
   * False when it was.
   */
  async putAgain(message: DeliveryMessage, protobuf: Uint8Array, reason: string): Promise<boolean> {
    const held = await this.bucket.head(deadLetterKey(message.tenant, message.id));
    return held !== null && (await this.write(message, protobuf, reason, { etagMatches: held.etag })) !== undefined;
  }

  /** The write, unless `onlyIf` does not hold: then undefined, and nothing written. */
  private async write(
    message: DeliveryMessage,
    protobuf: Uint8Array,
    reason: string,
    onlyIf?: R2Conditional,
  ): Promise<DeadLetter | undefined> {
    const key = deadLetterKey(message.tenant, message.id);
    const keptReason = textStart(reason, MAX_REASON);
    const customMetadata: Record<string, string> = {
      parent: message.parent,
      reason: keptReason,
      attempts: String(message.attempts),
      spans: String(message.spans),
      bytes: String(protobuf.byteLength),
      received_at: new Date(message.receivedAt).toISOString(),
      dead_lettered_at: new Date().toISOString(),
      ...(message.incarnation ? { incarnation: message.incarnation } : {}),
      ...(message.sealedClientKey ? { sealed_client_key: message.sealedClientKey } : {}),
      ...(message.clientKeyApiUrl ? { client_key_api_url: message.clientKeyApiUrl } : {}),
      ...(message.maskedWith ? { masked_with: message.maskedWith } : {}),
    };
    if ((await this.bucket.put(key, protobuf, { customMetadata, ...(onlyIf ? { onlyIf } : {}) })) === null) return undefined;
    countSpans(message, "dead_lettered", message.spans);
    logEvent({
      event: "dead_letter",
      tenant: message.tenant,
      parent: message.parent,
      delivery_id: message.id,
      spans: message.spans,
      attempts: message.attempts,
      reason: keptReason,
    });
    return fromObject(key, customMetadata);
  }

  async list(options: PageOptions): Promise<{ dead_letters: DeadLetter[]; cursor: string | null }> {
    const { objects, cursor } = await this.page(options);
    return { dead_letters: objects.map((o) => fromObject(o.key, o.customMetadata ?? {})), cursor };
  }

  /** The message that sends a dead letter's spans again, with a fresh retry budget and the same idempotency key. */
  async replay(id: string): Promise<Replay | undefined> {
    const key = parseId(id)?.key;
    const head = key ? await this.bucket.head(key) : null;
    return head ? replayOf(head) : undefined;
  }

  /** A page of dead letters as the messages that replay them, from one R2 list (no call per dead letter). */
  async replayPage(options: PageOptions): Promise<{ replays: Replay[]; cursor: string | null }> {
    const { objects, cursor } = await this.page(options);
    return { replays: objects.map(replayOf), cursor };
  }

  private async page({ tenant, cursor, limit }: PageOptions): Promise<{ objects: R2Object[]; cursor: string | null }> {
    const page = await this.bucket.list({ prefix: tenant ? tenantPrefix(tenant) : PREFIX, cursor, limit, include: ["customMetadata"] });
    return { objects: page.objects, cursor: page.truncated ? page.cursor : null };
  }

  /** The dead letter deleted, for the spans it held; undefined when there was none with this id. */
  async delete(id: string): Promise<DeadLetter | undefined> {
    const key = parseId(id)?.key;
    const head = key ? await this.bucket.head(key) : null;
    if (!head) return undefined;
    await this.bucket.delete(head.key);
    return fromObject(head.key, head.customMetadata ?? {});
  }

  /**
   * Deletes up to `atMost` of a tenant's dead letters, one list and one delete call per page: how
   * many, with their spans, and whether none are left. Each page lists from the start: the one
   * before it is gone.
   */
  async deleteOfTenant(tenant: string, atMost: number): Promise<{ done: boolean; deadLetters: number; spans: number }> {
    const deleted = { done: false, deadLetters: 0, spans: 0 };
    while (deleted.deadLetters < atMost) {
      const page = await this.bucket.list({
        prefix: tenantPrefix(tenant),
        limit: Math.min(MAX_PAGE, atMost - deleted.deadLetters),
        include: ["customMetadata"],
      });
      if (page.objects.length > 0) await this.bucket.delete(page.objects.map((o) => o.key));
      deleted.deadLetters += page.objects.length;
      for (const object of page.objects) deleted.spans += fromObject(object.key, object.customMetadata ?? {}).spans;
      if (!page.truncated) return { ...deleted, done: true };
    }
    return deleted;
  }
}
