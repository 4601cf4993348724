import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { textOf } from "../encoding/bytes.js";
import { afterSpace } from "../encoding/json.js";
import { findAttribute, parseJson, scalarOf } from "./attributes.js";
import { RawJson } from "./raw-json.js";

/**
 * Why an MCP tool call failed, when its span says so only by its result or the gateway's MCP
 * attributes: a result with MCP's `isError`, the gateway's `is_tool_call_execution_error` flag (a
 * boolean, or its text), or a JSON-RPC `error_code` other than 0. The text says why: the error's own
 * message (`{error: {message}}` or `{code, message}`), else the result's text parts, else the result
 * when it is text. Undefined for a call that did not fail.
 */
export function toolFailure(attributes: KeyValue[], output: unknown): string | undefined {
  const result = output instanceof RawJson ? parseJson(textOf(output.utf8)) : output;
  const flag = scalarOf(findAttribute(attributes, "tfy.mcp_server.is_tool_call_execution_error"));
  const code = scalarOf(findAttribute(attributes, "tfy.mcp_server.error_code"));
  const rpcError = code !== undefined && code !== 0 && code !== "" && code !== "0";
  const isError = isObject(result) && result.isError === true;
  if (!isError && !rpcError && flag !== true && flag !== "true") return undefined;
  return (
    errorMessageOf(result) ??
    contentText(result) ??
    (typeof result === "string" && result !== "" ? result : undefined) ??
    (rpcError ? `the tool call failed with error ${code}` : "the tool call failed")
  );
}

function errorMessageOf(result: unknown): string | undefined {
  if (!isObject(result)) return undefined;
  return answerErrorOf(result) ?? (typeof result.code === "number" && typeof result.message === "string" ? result.message : undefined);
}

/**
 * The message of an answer that is an error body, `{error: {message}}`, as OpenAI's and Anthropic's
 * APIs answer a failed call (a JSON-RPC error too): a span whose recorded answer is one failed,
 * whatever its status says.
 */
export function answerError(output: unknown): string | undefined {
  // Only an object can be one: a payload's output list (most answers) is never parsed here.
  if (output instanceof RawJson)
    return output.utf8[afterSpace(output.utf8, 0)] === OPEN_OBJECT ? answerErrorOf(parseJson(textOf(output.utf8))) : undefined;
  return answerErrorOf(output);
}

const OPEN_OBJECT = 0x7b;

function answerErrorOf(result: unknown): string | undefined {
  return isObject(result) && isObject(result.error) && typeof result.error.message === "string" && result.error.message !== ""
    ? result.error.message
    : undefined;
}

/** An MCP result's text parts, one to a line. */
function contentText(result: unknown): string | undefined {
  if (!isObject(result) || !Array.isArray(result.content)) return undefined;
  const texts = result.content.flatMap((part: unknown) =>
    isObject(part) && part.type === "text" && typeof part.text === "string" ? [part.text] : [],
  );
  return texts.length > 0 ? texts.join("\n") : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
