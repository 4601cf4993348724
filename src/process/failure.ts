import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { Span_SpanKind, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { textOf } from "../encoding/bytes.js";
import { isJsonObject, type JsonObject, objectMembers } from "../encoding/json.js";
import { OPEN_OBJECT, QUOTE } from "../encoding/json-characters.js";
import { afterSpace, OVER_BUDGET } from "../encoding/json-reader.js";
import type { SpanFields } from "../otlp/incoming.js";
import { failedWithoutMessage } from "../otlp/status.js";
import { findAttribute, numberAttribute, parseJson, scalarOf } from "./attributes.js";
import { asItCame, type SourceReading } from "./derived-text.js";
import type { ResponsePayload } from "./payloads.js";
import { RawJson } from "./raw-json.js";

/** An `error_code` that says no error was raised, however it is written; any other code is an error. */
const NO_ERROR_CODES = new Set(["", "0", "0.0", "none", "null", "false"]);

/**
 * Why an MCP tool call failed, when its span says so only by its result or the gateway's MCP
 * attributes: a result with MCP's `isError` (as it is, or as the `result` of the JSON-RPC response
 * that carried it), a JSON-RPC response that is an error (the server refused the call: an unknown
 * tool, bad arguments), the gateway's `is_tool_call_execution_error` flag (a boolean, or its text), or
 * an `error_code` that is not 0 or none (a JSON-RPC number, or any text). The text says why: the
 * error's own message (`{error: {message}}` or `{code, message}`), else the result's text parts, else
 * the result when it is text. Undefined for a call that did not fail.
 */
export function toolFailure(attributes: KeyValue[], output: unknown, read: SourceReading = asItCame): string | undefined {
  const result = output instanceof RawJson ? parseJson(textOf(output.utf8)) : output;
  const flag = scalarOf(findAttribute(attributes, "tfy.mcp_server.is_tool_call_execution_error"));
  const code = scalarOf(findAttribute(attributes, "tfy.mcp_server.error_code"));
  const rpcError = code !== undefined && !NO_ERROR_CODES.has(String(code).trim().toLowerCase());
  const response = isJsonObject(result) && result.jsonrpc === "2.0";
  const toolResult = response && isJsonObject(result.result) ? result.result : result;
  const isError = (isJsonObject(toolResult) && toolResult.isError === true) || (response && isJsonObject(result.error));
  if (!isError && !rpcError && String(flag).trim().toLowerCase() !== "true") return undefined;
  return (
    errorMessageOf(result) ??
    contentText(toolResult, read) ??
    (saysSomething(result) ? result : undefined) ??
    (rpcError ? `the tool call failed with error ${read(String(code))}` : "the tool call failed")
  );
}

/**
 * The message of an answer that is an error body: `{error: {message}}`, as OpenAI's and Anthropic's
 * APIs answer a failed call (a JSON-RPC error too); `{object: "error", message}`, as OpenAI-compatible
 * servers (vLLM, Mistral's API) do; `{error: "…"}`, as Ollama and TGI do; `{message: "…"}` alone (or
 * beside its `__type`), AWS's, as Bedrock answers a failed call; or an error object beside
 * an output list, as a Responses API response that failed has. A span whose recorded answer is one
 * failed, whatever its status says. Only an object can be one, and only its `error`, `object` and
 * `message` members are parsed: a payload's output list (most answers) is never read here.
 */
export function answerError(response: ResponsePayload | undefined): string | undefined {
  if (response === undefined) return undefined;
  // Beside an output list, the error is among the rest of the answer, parsed already.
  if (Object.hasOwn(response.rest, "error")) return errorBodyMessage(response.rest);
  const output = response.output;
  if (!(output instanceof RawJson)) return isJsonObject(output) ? errorBodyMessage(output) : undefined;
  // An error body has a few members; an answer of a million tiny ones is none, and is not kept member by member.
  const members =
    output.utf8[afterSpace(output.utf8, 0)] === OPEN_OBJECT ? objectMembers(output.utf8, { left: MAX_ERROR_BODY_MEMBERS }) : undefined;
  if (members === undefined || members === OVER_BUDGET) return undefined;
  // The last of a repeated key wins, as in JSON.parse. A member is parsed only when it can make an error
  // body: an answer's own `message` (a Cohere chat answer's is the answer) is not read.
  const member = (key: string, opens: number[]) => {
    const raw = members.findLast(([name]) => name === key)?.[1];
    return raw !== undefined && opens.includes(raw[0]!) ? parseJson(textOf(raw)) : undefined;
  };
  // AWS's error body, as Bedrock answers: its message, beside at most its type, nothing an answer has.
  if (members.every(([name]) => AWS_ERROR_MEMBERS.has(name))) {
    const message = member("message", [QUOTE]) ?? member("Message", [QUOTE]);
    return saysSomething(message) ? message : undefined;
  }
  const object = member("object", [QUOTE]);
  return errorBodyMessage({
    error: member("error", [OPEN_OBJECT, QUOTE]),
    object,
    message: object === "error" ? member("message", [QUOTE]) : undefined,
  });
}

const MAX_ERROR_BODY_MEMBERS = 64;

/**
 * An answer whose error body's message (`message`, as answerError read it) the span's error shows:
 * no output, as Braintrust's SDKs log a failed call (its error, no output), and the body but that
 * message as the rest of the answer, so what else it says (OpenAI's error `type` and `code`) still
 * shows, once. An error beside an output list leaves the list the output. A body past the span's
 * parse budget is left as it is.
 */
export function withoutShownError(response: ResponsePayload, message: string): ResponsePayload {
  if (Object.hasOwn(response.rest, "error")) return { ...response, rest: withoutMessage(response.rest, message) };
  const body = response.output instanceof RawJson ? parseJson(textOf(response.output.utf8)) : response.output;
  if (!isJsonObject(body)) return response;
  return { output: undefined, rest: withoutMessage(body, message), model: response.model };
}

/** An error body without the members that hold this message: its `error` or `message` (AWS's `Message`), or its `error`'s `message`. */
function withoutMessage(body: JsonObject, message: string): JsonObject {
  const left = Object.entries(body).flatMap(([key, value]): Array<[string, unknown]> => {
    if (MESSAGE_MEMBERS.has(key) && value === message) return [];
    if (key !== "error" || !isJsonObject(value)) return [[key, value]];
    const inner = withoutMessage(value, message);
    return Object.keys(inner).length > 0 ? [[key, inner]] : [];
  });
  // Not assigned one by one: a member may be "__proto__".
  return Object.fromEntries(left);
}

/** The members an error body holds its message in, in the shapes answerError reads. */
const MESSAGE_MEMBERS = new Set(["error", "message", "Message"]);

/** The members of AWS's JSON error body: `message` (`Message` in some services, as botocore reads it) and the error's `__type`. */
const AWS_ERROR_MEMBERS = new Set(["message", "Message", "__type"]);

/** An error body's message, in any of the shapes answerError reads; undefined for a body that is no error. */
function errorBodyMessage(body: Record<string, unknown>): string | undefined {
  if (saysSomething(body.error)) return body.error;
  if (body.object === "error" && saysSomething(body.message)) return body.message;
  return messageOf(body.error);
}

/**
 * Whether a message names no more than an HTTP error status: its code, the words of its reason phrase,
 * and those clients write around them (`400 Bad Request`, `Internal Server Error`, `Request failed with
 * status code 400`, a status line's `HTTP/1.1 502`). Such a message says that a call failed, not why.
 * Words are any script's: a message in Chinese or Russian, or with no word at all, says something else.
 */
export function namesOnlyStatus(message: string): boolean {
  const words =
    message
      .toLowerCase()
      .replace(HTTP_VERSION, "http")
      .match(/\p{L}+|\p{N}+/gu) ?? [];
  return words.length > 0 && words.every((word) => ERROR_STATUS_CODE.test(word) || STATUS_WORDS.has(word));
}

const HTTP_VERSION = /\bhttp\/\d(?:\.\d)?\b/g;

const ERROR_STATUS_CODE = /^[45]\d\d$/;

/**
 * The words of the reason phrases of HTTP's error statuses (RFC 9110, 6585 and 7725, and `Payload Too
 * Large`, `Request Entity Too Large` and `Unprocessable Entity`, as older servers say them), and the words
 * clients put around a status (`HTTP error 502`, `Request failed with status code 400`).
 */
const STATUS_WORDS = new Set(
  [
    "bad request unauthorized payment required forbidden not found method allowed acceptable proxy authentication",
    "timeout conflict gone length precondition failed content payload entity too large uri long unsupported media type",
    "range satisfiable expectation misdirected unprocessable early upgrade many requests header fields unavailable for",
    "legal reasons internal server error implemented gateway service http version supported status code with",
  ].flatMap((line) => line.split(" ")),
);

/**
 * Why a call answered with an HTTP error failed, when nothing else on its span says: the gateway's
 * network calls to a provider carry only the status code. As OpenTelemetry's HTTP conventions have
 * it, 400 to 599 fails a call the span made; a server's span (the gateway answering its caller) fails
 * only on 500 to 599, since a 4xx there is the caller's mistake, not the server's failure. Whatever
 * the span's status says: the code is what the provider answered, and an exporter that marks every
 * span it ended OK (the golden gateway traces have it so) would otherwise hide every provider error.
 */
export function httpFailure({ attributes, kind }: Pick<SpanFields, "attributes" | "kind">): string | undefined {
  const code = numberAttribute(attributes, "http.response.status_code");
  if (code === undefined || !Number.isInteger(code) || code >= 600 || code < (kind === Span_SpanKind.SERVER ? 500 : 400)) return undefined;
  return `the call failed with HTTP status ${code}`;
}

/**
 * Why a call failed when only OpenTelemetry's `error.type` says it did: the conventions set it (a
 * provider's error code, an exception's class, `timeout`) exactly when the operation ended in error,
 * and TrueFoundry's GenAI span attributes write it beside the gateway's own. A class says less than a
 * message, an exception or an HTTP status code, which come first. A status of OK is final, as
 * OpenTelemetry has it: its developer says the call succeeded, the error handled (a retry, a fallback).
 */
export function errorTypeFailure(
  { attributes, status }: Pick<SpanFields, "attributes" | "status">,
  read: SourceReading = asItCame,
): string | undefined {
  if (status?.code === Status_StatusCode.OK) return undefined;
  const type = scalarOf(findAttribute(attributes, "error.type"));
  if (typeof type === "boolean" || type === undefined || String(type).trim() === "") return undefined;
  return `the call failed with error ${read(String(type))}`;
}

/**
 * Why a span failed as OpenTelemetry's SDKs record it: a status of ERROR without a message, and an
 * `exception` event (recordException) with the exception's type and message. The last such event
 * says it, as the exception that ended the span; undefined for a span whose status says more, or that
 * did not fail: an exception event alone may be one that was handled.
 */
export function exceptionFailure(span: Pick<SpanFields, "status" | "events">, read: SourceReading = asItCame): string | undefined {
  // Read only then: a span read from its bytes decodes its events when they are first read.
  if (!failedWithoutMessage(span.status)) return undefined;
  const exception = span.events?.findLast((event) => event.name === "exception");
  if (!exception) return undefined;
  const text = (key: string) => {
    const value = scalarOf(findAttribute(exception.attributes, key));
    return value === undefined || value === "" ? undefined : read(String(value));
  };
  const type = text("exception.type");
  const message = text("exception.message");
  return type && message ? `${type}: ${message}` : (message ?? type);
}

function errorMessageOf(result: unknown): string | undefined {
  if (!isJsonObject(result)) return undefined;
  return messageOf(result.error) ?? (typeof result.code === "number" && saysSomething(result.message) ? result.message : undefined);
}

function messageOf(error: unknown): string | undefined {
  return isJsonObject(error) && saysSomething(error.message) ? error.message : undefined;
}

/** Text that is not blank: an error of spaces alone says nothing, and would leave a span failed without a word. */
function saysSomething(text: unknown): text is string {
  return typeof text === "string" && text.trim() !== "";
}

/** An MCP result's text parts, one to a line; blank ones say nothing, and would leave an error without a word. */
function contentText(result: unknown, read: SourceReading): string | undefined {
  if (!isJsonObject(result) || !Array.isArray(result.content)) return undefined;
  const texts = result.content.flatMap((part: unknown) =>
    isJsonObject(part) && part.type === "text" && saysSomething(part.text) ? [read(part.text)] : [],
  );
  return texts.length > 0 ? texts.join("\n") : undefined;
}
