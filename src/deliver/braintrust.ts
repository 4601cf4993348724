import { fromBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceResponseSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { PartialSuccess } from "../otlp/partial-success.js";
import { checkUpstreamUrl } from "../tenants/upstream-url.js";
import { gzip } from "./gzip.js";
import { classifyStatus, type DeliveryOutcome, parseRetryAfter } from "./outcome.js";

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

const MAX_ERROR_TEXT = 300;

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
  if (!url.ok) return { kind: "rejected", status: 0, fault: "config", reason: `the tenant's Braintrust URL is not allowed: ${url.reason}` };
  // A timer of our own, cleared when the exchange ends: AbortSignal.timeout's stays armed after the
  // answer and fires later anyway, which cost about 1 ms of CPU per request under load.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException("upstream timeout", "TimeoutError")), options.timeoutMs);
  try {
    return await exchange(`${url.url}/otel/v1/traces`, target, payload, options.timeoutMs, deadline.signal);
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
  const outcome = classifyStatus(response.status, "", parseRetryAfter(response.headers.get("retry-after")));
  if (outcome.kind === "delivered") {
    const partialSuccess = await readPartialSuccess(response);
    return partialSuccess ? { ...outcome, partialSuccess } : outcome;
  }
  return { ...outcome, reason: `Braintrust answered ${response.status}: ${await upstreamErrorText(response, target.apiKey)}` };
}

/** Braintrust's partial success, if it sent one; a success whose body cannot be read (or arrives too late) is still a success. */
async function readPartialSuccess(response: Response): Promise<PartialSuccess | undefined> {
  try {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength === 0) return undefined;
    if (response.headers.get("content-type")?.includes("json")) {
      const json = JSON.parse(new TextDecoder().decode(bytes)) as {
        partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string };
      };
      const partial = json.partialSuccess;
      if (!partial) return undefined;
      return { rejectedSpans: BigInt(partial.rejectedSpans ?? 0), errorMessage: partial.errorMessage ?? "" };
    }
    const partial = fromBinary(ExportTraceServiceResponseSchema, bytes).partialSuccess;
    return partial && { rejectedSpans: partial.rejectedSpans, errorMessage: partial.errorMessage };
  } catch {
    return undefined;
  }
}

/** The start of an error body, on one line, with the key scrubbed in case the upstream echoes it. */
async function upstreamErrorText(response: Response, apiKey: string): Promise<string> {
  const text = (await response.text().catch(() => "(body unreadable)")).slice(0, 4096).replaceAll(apiKey, "[redacted]");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes, so a log line stays one line.
  const oneLine = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  return oneLine.length > MAX_ERROR_TEXT ? `${oneLine.slice(0, MAX_ERROR_TEXT)}…` : oneLine || "(empty body)";
}
