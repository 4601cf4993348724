import { type OtlpFormat, otlpResponseType } from "./format.js";

/** An OTLP/HTTP answer's body in each encoding, of which only the request's is made. */
interface OtlpBody {
  protobuf: () => Uint8Array<ArrayBuffer>;
  json: () => unknown;
}

/**
 * An OTLP/HTTP answer, success or failure, in the request's encoding and with the Content-Type
 * otlpResponseType gives it; `headers` are the others the answer carries.
 */
export function otlpResponse(
  format: OtlpFormat,
  requestContentType: string | undefined,
  body: OtlpBody,
  status = 200,
  headers = new Headers(),
): Response {
  headers.set("content-type", otlpResponseType(format, requestContentType));
  return new Response(format === "protobuf" ? body.protobuf() : JSON.stringify(body.json()), { status, headers });
}
