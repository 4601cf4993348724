import { z } from "zod";
import type { BraintrustCredential } from "../tenants/credentials.js";
import type { Redact } from "../tenants/processing-schema.js";
import type { OtlpPayload } from "./braintrust.js";

/** One upstream request's worth of spans, as the ingest route hands it over: one tenant, one parent. */
export interface Delivery {
  /** Idempotency key, carried by every queue message made from this delivery. */
  id: string;
  tenantId: string;
  /** The tenant's incarnation (see tenants/schema.ts), which the spans belong to. */
  incarnation: string | undefined;
  apiUrl: string;
  parent: string;
  credential: BraintrustCredential;
  /**
   * Bytes only, not the decoded spans: nothing decoded outlives planning, so the upstream wait holds
   * no object graph (a rare split for the queue decodes the bytes again).
   */
  payload: OtlpPayload;
  spans: number;
  /** The tenant's redaction rules its spans were masked with, which messages made of it name (maskedWith). */
  rules: Redact;
}

/**
 * The id of half `half` (0 or 1) of delivery `id`'s spans, halved for Braintrust's 413: `<id>.a`,
 * `<id>.b`, never an id the pieces a delivery is cut into to fit queue messages take (`<id>.<n>`).
 * Both may be made of one delivery (the queue refusing its pieces, then its attempt answered 413),
 * and a piece marked delivered must not skip a half of other spans queued under the same id.
 */
export function halfId(id: string, half: number): string {
  return `${id}.${half === 0 ? "a" : "b"}`;
}

/**
 * What the delivery queue carries (structured clone, so bytes travel as bytes). A message's body
 * never changes, so a retry is a new message with the counters moved on and the same `id`.
 */
export interface DeliveryMessage {
  /** Idempotency key: the same across retries; pieces cut to fit a queue message get `<id>.<n>`, halves `<id>.a` and `<id>.b` (halfId). */
  id: string;
  tenant: string;
  /** The incarnation of the tenant the spans were accepted for; none when its record had none. */
  incarnation?: string;
  parent: string;
  /** Passthrough only: the client's Braintrust key, sealed (client-key.ts). Stored keys are read at delivery time, so a rotated key unblocks retries. */
  sealedClientKey?: string;
  /** With it: the api_url the key was sent for, the only one it goes to; none when an older relay queued it. */
  clientKeyApiUrl?: string;
  /** The ExportTraceServiceRequest, inline, or where it was put in R2 (spilled or dead-lettered). */
  payload: { inline: Uint8Array } | { r2Key: string };
  spans: number;
  bytes: number;
  /**
   * Delivery attempts so far, the one made during the ingest request included; 0 for spans queued
   * without one (a waiting trace's released, a replayed dead letter, a request's past its first parents).
   */
  attempts: number;
  /** Of those, how many Braintrust answered with a server error (500, or Cloudflare's 520). */
  serverErrors: number;
  lastError?: string;
  /** When the relay received the spans (ms since the epoch). */
  receivedAt: number;
  /** A replayed dead letter's: the claim its replay made on it (tenants/dead-letter-claims.ts), the only one it lets go of. */
  replayClaim?: string;
  /**
   * The digest of the tenant's redaction rules its spans were masked with (tenants/rules-digest.ts):
   * sent under other rules, they are masked again by those. None when an older relay queued it.
   */
  maskedWith?: string;
  /**
   * A replayed dead letter's: the digest of the tenant's redaction rules when it was replayed, as the
   * tenant's object held them. A copy of the tenant read later that names others may be behind a rule
   * just added (an operator adds one, then replays), and the object's record is read instead.
   */
  rulesAtReplay?: string;
}

/** A message's fields but its spans: what every piece of one delivery shares, whatever spans it carries. */
export type MessageTemplate = Omit<DeliveryMessage, "payload" | "spans" | "bytes">;

/**
 * A delivery message as the relay makes them. Anything may be put on a queue (the dashboard sends
 * messages by hand, another producer may share it), and a body of another shape cannot be delivered
 * or kept: nothing says where its spans are or whose they are. The payload is told apart as
 * loadPayload tells it: inline when it has `inline`.
 */
const DeliveryMessageSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  incarnation: z.string().optional(),
  parent: z.string(),
  sealedClientKey: z.string().optional(),
  clientKeyApiUrl: z.string().optional(),
  payload: z.union([z.strictObject({ inline: z.instanceof(Uint8Array) }), z.strictObject({ r2Key: z.string() })]),
  spans: z.number(),
  bytes: z.number(),
  attempts: z.number(),
  serverErrors: z.number(),
  lastError: z.string().optional(),
  receivedAt: z.number(),
  replayClaim: z.string().optional(),
  maskedWith: z.string().optional(),
  rulesAtReplay: z.string().optional(),
}) satisfies z.ZodType<DeliveryMessage>;

export function isDeliveryMessage(body: unknown): body is DeliveryMessage {
  return DeliveryMessageSchema.safeParse(body).success;
}

/**
 * What makes a delivery the same one again (a retry, a redelivery, a replay): its tenant and id. An
 * id alone is not enough: another tenant's delivery may have it.
 */
export function deliveryIdentity(message: Pick<DeliveryMessage, "tenant" | "id">): string {
  return `${message.tenant}/${message.id}`;
}
