import type { BraintrustCredential } from "../tenants/credentials.js";
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
}

/**
 * What the delivery queue carries (structured clone, so bytes travel as bytes). A message's body
 * never changes, so a retry is a new message with the counters moved on and the same `id`.
 */
export interface DeliveryMessage {
  /** Idempotency key: the same across retries; pieces of a split get `<id>.<n>`. */
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
}

/** A message's fields but its spans: what every piece of one delivery shares, whatever spans it carries. */
export type MessageTemplate = Omit<DeliveryMessage, "payload" | "spans" | "bytes">;

/**
 * Whether a queue body is a delivery message as the relay makes them. Anything may be put on a queue
 * (the dashboard sends messages by hand, another producer may share it): a body that is not one
 * names no tenant to deliver or keep it for.
 */
export function isDeliveryMessage(body: unknown): body is DeliveryMessage {
  if (typeof body !== "object" || body === null) return false;
  const message = body as Record<keyof DeliveryMessage, unknown>;
  const payload = message.payload as { inline?: unknown; r2Key?: unknown } | null | undefined;
  return (
    REQUIRED_TEXT.every((field) => typeof message[field] === "string") &&
    REQUIRED_NUMBERS.every((field) => typeof message[field] === "number") &&
    OPTIONAL_TEXT.every((field) => message[field] === undefined || typeof message[field] === "string") &&
    typeof payload === "object" &&
    payload !== null &&
    (payload.inline instanceof Uint8Array || typeof payload.r2Key === "string")
  );
}

const REQUIRED_TEXT = ["id", "tenant", "parent"] as const satisfies ReadonlyArray<keyof DeliveryMessage>;
const REQUIRED_NUMBERS = ["spans", "bytes", "attempts", "serverErrors", "receivedAt"] as const satisfies ReadonlyArray<
  keyof DeliveryMessage
>;
const OPTIONAL_TEXT = ["incarnation", "sealedClientKey", "clientKeyApiUrl", "lastError", "replayClaim"] as const satisfies ReadonlyArray<
  keyof DeliveryMessage
>;

/**
 * What makes a delivery the same one again (a retry, a redelivery, a replay): its tenant and id. An
 * id alone is not enough: another tenant's delivery may have it.
 */
export function deliveryIdentity(message: Pick<DeliveryMessage, "tenant" | "id">): string {
  return `${message.tenant}/${message.id}`;
}
