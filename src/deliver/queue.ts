import { MAX_QUEUE_BATCH_BYTES, MAX_QUEUE_BATCH_MESSAGES, MAX_QUEUE_DELAY_SECONDS, MAX_QUEUE_MESSAGE_BYTES } from "../cloudflare/limits.js";
import { ownedBytes } from "../encoding/bytes.js";
import { halveRequest, splitRequest } from "../otlp/outgoing.js";
import { allOrUndone } from "./all-or-undone.js";
import { type DeliveryMessage, halfId, type MessageTemplate } from "./message.js";
import { MAX_UPSTREAM_REQUEST_BYTES } from "./plan.js";
import { releasePayloads, spillPayload } from "./spill.js";

/** Room in a message for everything but the spans (ids, parent, sealed key, last error, the queue's own ~100 B); docs/cloudflare-limits.md. */
const MESSAGE_OVERHEAD_BYTES = 8_000;
const MAX_INLINE_PAYLOAD_BYTES = MAX_QUEUE_MESSAGE_BYTES - MESSAGE_OVERHEAD_BYTES;
/** Message sizes here are estimates, so a batch keeps 6 KB of headroom under the queue's limit. */
const BATCH_BYTES_BUDGET = MAX_QUEUE_BATCH_BYTES - 6_000;

/**
 * Whose delivery ids a send's messages carry, which says whether its spills may be removed when the
 * send fails. `fresh`: made for this send (a request's random id), so a spill no message refers to
 * is nobody's, and would stay forever. `repeated`: made again by every attempt at the same work (a
 * queued message's halves, a waiting piece released), so a spill's key may be one a message queued
 * by an earlier attempt still reads: removed, its spans would be lost; kept, the next attempt writes
 * it again.
 */
type DeliveryIds = "fresh" | "repeated";

/**
 * The messages that carry a delivery's spans: one when they fit, else split by spans (resource and
 * scope kept, from the bytes, nothing decoded) into pieces `<id>.<n>`, with any single span too large
 * for a message spilled to R2 and referenced. Spans too large for a message only with their resource
 * and scope (a resource holding a process's whole command line, say), which every piece would carry
 * again, are spilled together instead (`<id>.s<n>`), in objects as large as an upstream request may
 * be: spilled one a span, they would copy the resource once a span, past an isolate's memory and,
 * with enough spans, a Worker's subrequests, on every try.
 */
export async function messagesFor(
  template: MessageTemplate,
  protobuf: Uint8Array,
  spans: number,
  bucket: R2Bucket,
  ids: DeliveryIds,
): Promise<DeliveryMessage[]> {
  if (protobuf.byteLength <= MAX_INLINE_PAYLOAD_BYTES) {
    return [{ ...template, payload: { inline: ownedBytes(protobuf) }, spans, bytes: protobuf.byteLength }];
  }
  const pieces = splitRequest(protobuf, MAX_INLINE_PAYLOAD_BYTES, MAX_UPSTREAM_REQUEST_BYTES);
  return allOrUndone(
    pieces.map(async (piece): Promise<DeliveryMessage[]> => {
      const id = "at" in piece ? `${template.id}.${piece.at}` : `${template.id}.s${piece.together}`;
      const payload =
        piece.protobuf.byteLength <= MAX_INLINE_PAYLOAD_BYTES
          ? { inline: ownedBytes(piece.protobuf) }
          : { r2Key: await spillPayload(bucket, template.tenant, id, piece.protobuf) };
      return [{ ...template, id, payload, spans: piece.spans, bytes: piece.protobuf.byteLength }];
    }),
    spillsUndone(bucket, ids),
  );
}

/** Braintrust's 413 answered: the spans in two halves (ids `<id>.a` and `<id>.b`), each as messages. */
export async function halvesAsMessages(
  template: MessageTemplate,
  protobuf: Uint8Array,
  bucket: R2Bucket,
  ids: DeliveryIds,
): Promise<DeliveryMessage[]> {
  const halves = halveRequest(protobuf);
  // The next step splits only requests of two spans or more (next-step.ts): no halves would lose the spans.
  if (!halves) throw new Error("a request of one span cannot be halved");
  // A half whose spill R2 refused undoes its own; the other half's are undone here.
  return allOrUndone(
    halves.map((half, n) => messagesFor({ ...template, id: halfId(template.id, n) }, half.protobuf, half.spans, bucket, ids)),
    spillsUndone(bucket, ids),
  );
}

/**
 * What undoes the messages made before R2 refused a spill: under fresh ids, their spills are removed,
 * as no message will refer to them and whoever sends again (a client told to retry, under a new
 * delivery id) spills them anew, so they would stay forever; under repeated ids, nothing (DeliveryIds).
 */
function spillsUndone(bucket: R2Bucket, ids: DeliveryIds): (made: DeliveryMessage[]) => Promise<void> {
  return async (made) => {
    if (ids === "fresh") await releasePayloads(bucket, made);
  };
}

function estimatedSize(message: DeliveryMessage): number {
  return ("inline" in message.payload ? message.payload.inline.byteLength : 0) + MESSAGE_OVERHEAD_BYTES;
}

/** The queue refused a batch: `unsent` are the messages of that batch and of every one after it. */
export class EnqueueFailed extends Error {
  constructor(
    /** The messages the queue took before it refused: on their way all the same. */
    readonly queued: DeliveryMessage[],
    readonly unsent: DeliveryMessage[],
    cause: unknown,
  ) {
    super(`the queue refused ${unsent.length} messages: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Sends in batches within Cloudflare's limits; a resolved send is on disk, a refused one throws EnqueueFailed. */
export async function enqueue(queue: Queue<DeliveryMessage>, messages: DeliveryMessage[], delaySeconds = 0): Promise<void> {
  const delay = Math.min(Math.max(0, Math.round(delaySeconds)), MAX_QUEUE_DELAY_SECONDS);
  let batch: MessageSendRequest<DeliveryMessage>[] = [];
  let batchBytes = 0;
  let sent = 0;
  const send = async () => {
    try {
      await queue.sendBatch(batch);
    } catch (cause) {
      throw new EnqueueFailed(messages.slice(0, sent), messages.slice(sent), cause);
    }
    sent += batch.length;
    batch = [];
    batchBytes = 0;
  };
  for (const message of messages) {
    const size = estimatedSize(message);
    if (batch.length === MAX_QUEUE_BATCH_MESSAGES || (batch.length > 0 && batchBytes + size > BATCH_BYTES_BUDGET)) await send();
    batch.push({ body: message, contentType: "v8", delaySeconds: delay });
    batchBytes += size;
  }
  if (batch.length > 0) await send();
}

/**
 * Sends messages made for this send under fresh ids (by messagesFor or halvesAsMessages), whose
 * spilled R2 objects nothing else refers to. When the queue refuses, the objects of the messages it
 * did not take are removed before the error goes on: nothing would ever read them, and the spans are
 * still with the client told to retry. Messages of repeated ids go by `enqueue`, their spills kept.
 */
export async function enqueueNew(
  queue: Queue<DeliveryMessage>,
  bucket: R2Bucket,
  messages: DeliveryMessage[],
  delaySeconds = 0,
): Promise<void> {
  try {
    await enqueue(queue, messages, delaySeconds);
  } catch (err) {
    if (err instanceof EnqueueFailed) await releasePayloads(bucket, err.unsent);
    throw err;
  }
}
