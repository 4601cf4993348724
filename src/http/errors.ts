import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { errorText, logEvent } from "../log/events.js";
import { currentRequestId } from "../log/request-id.js";
import type { OtlpFormat } from "../otlp/format.js";
import { otlpResponse } from "../otlp/response.js";

/**
 * Every error the relay answers with. The code decides the HTTP status, the google.rpc code an
 * OTLP client sees, and whether the client may retry; the message is English meant for the
 * person reading the client's log, and never carries a secret.
 */
type ErrorCode =
  | "malformed"
  | "invalid_field"
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "precondition_failed"
  | "too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "unavailable"
  | "misconfigured"
  | "internal";

// google.rpc.Code values: https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto
const GRPC = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const ERRORS: Record<ErrorCode, { status: ContentfulStatusCode; grpc: number }> = {
  malformed: { status: 400, grpc: GRPC.INVALID_ARGUMENT },
  invalid_field: { status: 400, grpc: GRPC.INVALID_ARGUMENT },
  unauthenticated: { status: 401, grpc: GRPC.UNAUTHENTICATED },
  forbidden: { status: 403, grpc: GRPC.PERMISSION_DENIED },
  not_found: { status: 404, grpc: GRPC.NOT_FOUND },
  method_not_allowed: { status: 405, grpc: GRPC.UNIMPLEMENTED },
  conflict: { status: 409, grpc: GRPC.FAILED_PRECONDITION },
  precondition_failed: { status: 412, grpc: GRPC.FAILED_PRECONDITION },
  too_large: { status: 413, grpc: GRPC.RESOURCE_EXHAUSTED },
  unsupported_media_type: { status: 415, grpc: GRPC.INVALID_ARGUMENT },
  rate_limited: { status: 429, grpc: GRPC.RESOURCE_EXHAUSTED },
  unavailable: { status: 503, grpc: GRPC.UNAVAILABLE },
  // Not 500: OTLP exporters drop what a 500 refused and send again, with their own backoff, what a
  // 503 refused; spans sent while an operator fixes a secret, var, binding or record are not lost.
  misconfigured: { status: 503, grpc: GRPC.UNAVAILABLE },
  internal: { status: 500, grpc: GRPC.INTERNAL },
};

/** Whether an admin API error body's `code` is one of the relay's, as the console reads them back. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERRORS, code);
}

/**
 * Why the admin API refused a tenant's PUT over the key it keeps stored, which `field` alone does not
 * say, for a client to act on without reading the message's words: the stored key was given for
 * another api_url (`braintrust.api_key`), opens with neither encryption key (`braintrust.api_key`),
 * or is held by the setting `field` names, where a client, which never has the key, cannot find it.
 */
const REFUSAL_REASONS = ["key_for_another_url", "key_unreadable", "key_shown"] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Whether an admin API error body's `reason` is one of the relay's, as the console reads them back. */
export function isRefusalReason(reason: unknown): reason is RefusalReason {
  return REFUSAL_REASONS.some((known) => known === reason);
}

interface RelayErrorOptions {
  /** Seconds the client should wait before retrying (429 and 503). */
  retryAfterSeconds?: number;
  /** The input field at fault, for the admin API's 400s. */
  field?: string;
  /** Why a 400 over the tenant's stored key was made (RefusalReason). */
  reason?: RefusalReason;
  /** The method the route does take, for 405. */
  allow?: string;
  /** The media types the route does take, for a 415 over the request's content type (RFC 9110, section 15.5.16). */
  accept?: string;
  /** The content codings the route does take, for a 415 over the request's content coding (RFC 9110, section 15.5.16). */
  acceptEncoding?: string;
}

/**
 * Hono's HTTPException, with a code: whatever Hono or a middleware throws and whatever the relay
 * throws is one family, rendered by the Worker's one error handler.
 */
export class RelayError extends HTTPException {
  override name = "RelayError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: RelayErrorOptions = {},
  ) {
    super(ERRORS[code].status, { message });
  }
}

/**
 * A method the path does not take: 405 with the methods it does take in `Allow` (RFC 9110,
 * section 15.5.6). `route` names the method and the route's pattern, never the caller's path.
 */
export function methodNotAllowed(route: string, allow: string, what = "route"): RelayError {
  return new RelayError("method_not_allowed", `no such ${what}: ${route} (this path takes ${allow})`, { allow });
}

/** The code of a client error Hono or a middleware throws; a status with no code of its own is a bad request. */
const CLIENT_ERROR_CODES: Partial<Record<number, ErrorCode>> = {
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  412: "precondition_failed",
  413: "too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

/**
 * What the client is told of a failure. A 4xx HTTPException from Hono or a middleware keeps its
 * meaning (a body limit is still a 413); anything else thrown, a 5xx HTTPException included, is a
 * bug: logged, and answered without details.
 */
export function asRelayError(err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  if (err instanceof HTTPException && err.status >= 400 && err.status < 500) {
    const code = CLIENT_ERROR_CODES[err.status] ?? "malformed";
    return new RelayError(code, err.message || `the request was refused (${ERRORS[code].status})`);
  }
  logEvent({ event: "unhandled_error", error: errorText(err) });
  return new RelayError("internal", "internal error");
}

/**
 * The longest wait a refusal names: a tenant's rate limit may be a tiny fraction of a request a
 * second, whose wait JavaScript would write as `1e+300`, which is no delay-seconds a client can read.
 */
const MAX_RETRY_AFTER_SECONDS = 86_400;

/** The headers a refusal's status calls for (Retry-After, WWW-Authenticate, Allow, Accept, Accept-Encoding), and its body's type when it has one here. */
export function errorHeaders(err: RelayError, contentType?: string): Headers {
  const headers = new Headers(contentType ? { "content-type": contentType } : {});
  if (err.options.retryAfterSeconds !== undefined)
    headers.set("retry-after", String(Math.min(Math.ceil(err.options.retryAfterSeconds), MAX_RETRY_AFTER_SECONDS)));
  if (err.code === "unauthenticated") headers.set("www-authenticate", 'Bearer realm="relay"');
  if (err.options.allow) headers.set("allow", err.options.allow);
  if (err.options.accept) headers.set("accept", err.options.accept);
  if (err.options.acceptEncoding) headers.set("accept-encoding", err.options.acceptEncoding);
  return headers;
}

/**
 * The admin API's error body: `{"error": {"code", "message", "field"?, "reason"?, "request_id"?}}`, kept by no
 * cache, as every admin answer is, wherever under /admin it is answered (the console's paths too).
 */
export function adminErrorResponse(err: RelayError): Response {
  const requestId = currentRequestId();
  const body = {
    error: {
      code: err.code,
      message: err.message,
      ...(err.options.field ? { field: err.options.field } : {}),
      ...(err.options.reason ? { reason: err.options.reason } : {}),
      ...(requestId ? { request_id: requestId } : {}),
    },
  };
  const headers = errorHeaders(err, "application/json");
  headers.set("cache-control", "no-store");
  return new Response(JSON.stringify(body), { status: err.status, headers });
}

/** google.rpc.RequestInfo, the detail Google's APIs name a request by (google/rpc/error_details.proto). */
const REQUEST_INFO_TYPE = "type.googleapis.com/google.rpc.RequestInfo";

/** google.rpc.BadRequest, the detail that describes bad data (google/rpc/error_details.proto). */
const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";

/** A google.rpc.Status detail, in both encodings: its protobuf value, and its JSON members beside `@type`. */
interface StatusDetail {
  typeUrl: string;
  value: Uint8Array;
  json: Record<string, unknown>;
}

/**
 * A refusal's details: for a 400, a BadRequest whose one FieldViolation holds the message as its
 * description (OTLP/HTTP, "Bad Data": a 400's Status should carry one describing the bad data; the
 * relay knows no field path to give); then the request id as a RequestInfo. Both are written by hand
 * (BadRequest.field_violations = 1, FieldViolation.description = 2, RequestInfo.request_id = 1): no
 * other code needs these messages, so their schemas are not generated.
 */
function statusDetails(err: RelayError, requestId: string | undefined): StatusDetail[] {
  const details: StatusDetail[] = [];
  if (err.status === 400) {
    const violation = new BinaryWriter().tag(2, WireType.LengthDelimited).string(err.message).finish();
    details.push({
      typeUrl: BAD_REQUEST_TYPE,
      value: new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(violation).finish(),
      json: { fieldViolations: [{ description: err.message }] },
    });
  }
  if (requestId) {
    details.push({
      typeUrl: REQUEST_INFO_TYPE,
      value: new BinaryWriter().tag(1, WireType.LengthDelimited).string(requestId).finish(),
      json: { requestId },
    });
  }
  return details;
}

/** OTLP/HTTP failure: a google.rpc.Status in the request's own encoding, with the details statusDetails gives it. */
export function otlpErrorResponse(err: RelayError, format: OtlpFormat, requestContentType: string | undefined): Response {
  const code = ERRORS[err.code].grpc;
  const details = statusDetails(err, currentRequestId());
  const protobuf = () =>
    toBinary(
      StatusSchema,
      create(StatusSchema, {
        code,
        message: err.message,
        details: details.map(({ typeUrl, value }) => create(AnySchema, { typeUrl, value })),
      }),
    );
  const json = () => ({
    code,
    message: err.message,
    ...(details.length > 0 ? { details: details.map((d) => ({ "@type": d.typeUrl, ...d.json })) } : {}),
  });
  return otlpResponse(format, requestContentType, { protobuf, json }, err.status, errorHeaders(err));
}
