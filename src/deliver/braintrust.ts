import { fromBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceResponseSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { concat } from "../encoding/bytes.js";
import { parseRetryAfter } from "../http/retry-after.js";
import type { PartialSuccess } from "../otlp/partial-success.js";
import { checkUpstreamUrl, OTLP_PATH } from "../tenants/upstream-url.js";
import { gzip } from "./gzip.js";
import { classifyStatus, type DeliveryOutcome } from "./outcome.js";
import { MAX_ECHO_BYTES_PER_CHARACTER, upstreamText } from "./upstream-text.js";

/** Where one upstream request goes: one Braintrust base URL, one key, one parent. */
export interface UpstreamTarget {
  apiUrl: string;
  apiKey: string;
  parent: string;
}

/** An ExportTraceServiceRequest ready to send. */
export interface OtlpPayload {
  protobuf: Uint8Array;
  /** Send gzip-compressed. */
  compress: boolean;
  /** The client's own gzip bytes of `protobuf`, when they can go as they are. */
  gzipped?: Uint8Array;
}

export interface SendOptions {
  timeoutMs: number;
  allowInsecureUpstream: boolean;
}

/**
 * How much of an upstream body is read; the rest is cancelled unread. The body comes from Braintrust
 * or a tenant's own `api_url`, so nothing bounds it but this, and the isolate (128 MB) serves every
 * tenant. An error body is shown only as its first 300 characters (upstream-text.ts), so 4 KiB leaves room for
 * what the one line leaves out. A success body is an ExportTraceServiceResponse, a count and a message
 * meant for a person (OTLP receivers send a few hundred bytes): 64 KiB holds one many times over, and
 * stays small beside the isolate even for many deliveries at once.
 */
export const ERROR_BODY_BYTES = 4 * 1024;
export const SUCCESS_BODY_BYTES = 64 * 1024;

/** Whether the payload goes upstream gzip-compressed. */
export function sentCompressed(payload: OtlpPayload): boolean {
  return payload.gzipped !== undefined || payload.compress;
}

/** The bytes that go upstream: the client's own gzip when it can go as it is, else compressed if asked. */
export function upstreamBody(payload: OtlpPayload): Uint8Array {
  return payload.gzipped ?? (payload.compress ? gzip(payload.protobuf) : payload.protobuf);
}

/** One attempt: POST <api_url>/otel/v1/traces, protobuf, gzip-compressed when the payload says so (docs/braintrust-otlp.md). */
export async function postTraces(target: UpstreamTarget, payload: OtlpPayload, options: SendOptions): Promise<DeliveryOutcome> {
  // The URL was checked when the tenant was saved; checking again here keeps a record written
  // under looser settings from sending a key somewhere it should not go.
  const url = checkUpstreamUrl(target.apiUrl, options.allowInsecureUpstream);
  if (!url.ok) return { kind: "rejected", fault: "config", reason: `the tenant's Braintrust URL is not allowed: ${url.reason}` };
  // A timer of our own, cleared when the exchange ends: AbortSignal.timeout's stays armed after the
  // answer and fires later anyway, which cost about 1 ms of CPU per request under load.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException("upstream timeout", "TimeoutError")), options.timeoutMs);
  try {
    return await exchange(`${url.url}${OTLP_PATH}`, target, payload, options.timeoutMs, deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function exchange(
  url: string,
  target: UpstreamTarget,
  payload: OtlpPayload,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<DeliveryOutcome> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${target.apiKey}`,
        "x-bt-parent": target.parent,
        "content-type": "application/x-protobuf",
        ...(sentCompressed(payload) ? { "content-encoding": "gzip" } : {}),
      },
      body: upstreamBody(payload),
      // A redirect would carry the API key to a host nobody checked.
      redirect: "manual",
      signal,
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return { kind: "retryable", reason: timedOut ? `Braintrust did not answer within ${timeoutMs} ms` : "could not connect to Braintrust" };
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    return {
      kind: "rejected",
      status: response.status,
      fault: "config",
      reason: `Braintrust answered with a redirect (${response.status}), which the relay does not follow`,
    };
  }
  // A 2xx's body is its partial success, read below; any other's is why.
  const reason = response.ok ? "" : `Braintrust answered ${response.status}: ${await upstreamErrorText(response, target.apiKey)}`;
  const outcome = classifyStatus(response.status, reason, parseRetryAfter(response.headers.get("retry-after")));
  return outcome.kind === "delivered" ? { ...outcome, ...(await readSuccessAnswer(response, target.apiKey)) } : outcome;
}

/**
 * Braintrust's partial success, if it sent one. A 2xx means the spans were taken, so an answer that
 * cannot be read (too large, cut off, too late, not an ExportTraceServiceResponse) is still a delivery:
 * what it may have rejected is unknown, which the attempt's log line says, and the client is told
 * nothing it could act on.
 */
async function readSuccessAnswer(response: Response, apiKey: string): Promise<{ partialSuccess?: PartialSuccess; unreadAnswer?: string }> {
  const unread = (why: string) => ({ unreadAnswer: `Braintrust's answer ${why}, so any spans it rejected are not known` });
  let body: BodyStart;
  try {
    body = await readStart(response.body, SUCCESS_BODY_BYTES);
  } catch {
    return unread("could not be read to its end");
  }
  if (!body.whole) return unread(`is over ${SUCCESS_BODY_BYTES} bytes and was not read`);
  if (body.bytes.byteLength === 0) return {};
  try {
    if (response.headers.get("content-type")?.includes("json")) {
      const json = JSON.parse(new TextDecoder().decode(body.bytes)) as {
        partialSuccess?: { rejectedSpans?: string | number; errorMessage?: unknown };
      };
      const partial = json.partialSuccess;
      const message = typeof partial?.errorMessage === "string" ? partial.errorMessage : "";
      return partial
        ? { partialSuccess: { rejectedSpans: BigInt(partial.rejectedSpans ?? 0), errorMessage: upstreamText(message, apiKey) } }
        : {};
    }
    const partial = fromBinary(ExportTraceServiceResponseSchema, body.bytes).partialSuccess;
    return partial
      ? { partialSuccess: { rejectedSpans: partial.rejectedSpans, errorMessage: upstreamText(partial.errorMessage, apiKey) } }
      : {};
  } catch {
    return unread("is not an ExportTraceServiceResponse");
  }
}

/** The start of a body, and whether it is all of it. */
interface BodyStart {
  bytes: Uint8Array;
  whole: boolean;
}

/**
 * Reads at most `limit` bytes of a body, a chunk at a time, and cancels the rest unread: however
 * large the body, the relay holds no more than the limit and one chunk. Throws when the body fails
 * (the connection drops, the deadline passes).
 */
async function readStart(body: ReadableStream<Uint8Array> | null, limit: number): Promise<BodyStart> {
  if (!body) return { bytes: new Uint8Array(), whole: true };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: concat(chunks), whole: true };
    if (length + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - length));
      // What is left is of no use; a cancel that fails leaves nothing to undo.
      await reader.cancel().catch(() => undefined);
      return { bytes: concat(chunks), whole: false };
    }
    chunks.push(value);
    length += value.byteLength;
  }
}

/** The start of an error body, on one line, with the key scrubbed in case the upstream echoes it. */
async function upstreamErrorText(response: Response, apiKey: string): Promise<string> {
  const start = await readStart(response.body, ERROR_BODY_BYTES).then(
    // A body cut off may end in the start of an echoed key, which no search for the whole key finds:
    // as many bytes as its longest echo can take go from its end too (MAX_ECHO_BYTES_PER_CHARACTER).
    (body) => new TextDecoder().decode(body.whole ? body.bytes : body.bytes.subarray(0, -MAX_ECHO_BYTES_PER_CHARACTER * apiKey.length)),
    () => "(body unreadable)",
  );
  return upstreamText(start, apiKey) || "(empty body)";
}
