import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { sameJson } from "../encoding/json.js";
import { givenOf, stringAttribute } from "./attributes.js";
import { answerMessages } from "./genai-message-events.js";
import type { RequestPayload, ResponsePayload } from "./payloads.js";

/**
 * The GenAI conventions' request attributes a gateway writes beside its payload that say again what
 * the span's metadata shows from it: a `gen_ai.request.<setting>` with the request's own value of
 * that setting, under the body's name for it (SETTING_NAMES), `gen_ai.request.model` naming the model the request body named, shown as `model` or
 * `gateway_model` or by `tfy.request.model_name`, `gen_ai.response.model` naming the response's
 * model, shown as `model` or in `response`, `gen_ai.response.id` the response's id shown in
 * `response`, `gen_ai.response.finish_reasons` its choices' finish reasons, shown in the output (or
 * an Anthropic message's `stop_reason`, in `response`; without a payload, the older export's indexed
 * completions', `shownAnswer`, which the output shows),
 * and `gen_ai.conversation.id` the `tfy.request.conversation_id` beside it. Kept, each would show a
 * second time. So is a model named on a span without a payload (a streamed `Model` span, the older
 * export's), when metadata or `tfy.request.model_name` shows that very name: no body says otherwise.
 */
export function genAiRestated(
  attributes: KeyValue[],
  request: RequestPayload | undefined,
  response: ResponsePayload | undefined,
  metadata: Record<string, unknown>,
  shownAnswer?: readonly Record<string, unknown>[],
): string[] {
  const restated: string[] = [];
  const shownModels = [metadata.model, metadata.gateway_model, stringAttribute(attributes, "tfy.request.model_name")];
  const shownResponse = metadata.response as Record<string, unknown> | undefined;
  // Looked up once, when a key asks: a key repeated thousands of times must not scan the span, or
  // parse the answer, each time.
  let conversationId: { value: string | undefined } | undefined;
  let answerReasons: { value: unknown[] | undefined } | undefined;
  for (const { key, value } of attributes) {
    if (!key.startsWith("gen_ai.re") && key !== "gen_ai.conversation.id") continue;
    const given = givenOf(value);
    if (key === "gen_ai.conversation.id") {
      conversationId ??= { value: stringAttribute(attributes, "tfy.request.conversation_id") };
      if (typeof given === "string" && given === conversationId.value) restated.push(key);
    } else if (key === "gen_ai.response.id") {
      if (typeof given === "string" && given === shownResponse?.id) restated.push(key);
    } else if (key === "gen_ai.response.finish_reasons") {
      if (!Array.isArray(given)) continue;
      answerReasons ??= { value: (response ? answerMessages(response.output) : shownAnswer)?.map((message) => message.finish_reason) };
      if (finishReasonsShown(given, answerReasons.value, shownResponse)) restated.push(key);
    } else if (key === "gen_ai.request.model") {
      // A body naming another model says something else; one naming none leaves the name shown elsewhere to say it.
      const asked = request?.model ?? given;
      if (typeof given === "string" && given === asked && shownModels.includes(given)) restated.push(key);
    } else if (key === "gen_ai.response.model") {
      const answered = response?.model ?? given;
      // An answer naming no model leaves it to the names shown elsewhere, as for the request's.
      const shown = response?.model === undefined ? shownModels : [metadata.model, shownResponse?.model];
      if (typeof given === "string" && given === answered && shown.includes(given)) restated.push(key);
    } else if (request && key.startsWith("gen_ai.request.")) {
      const setting = key.slice("gen_ai.request.".length);
      const names = Object.hasOwn(SETTING_NAMES, setting) ? SETTING_NAMES[setting]! : [setting];
      const shown = (name: string) =>
        Object.hasOwn(request.settings, name) && sameSetting(given, request.settings[name]) && sameSetting(given, metadata[name]);
      if (names.some(shown)) restated.push(key);
    }
  }
  return restated;
}

/**
 * Whether finish reasons say again what the span shows: its choices' own (`answerReasons`), in the
 * output, or an Anthropic message's one `stop_reason`, in `response`; without a response, the
 * indexed completions' own, which the output shows.
 */
function finishReasonsShown(
  given: unknown[],
  answerReasons: unknown[] | undefined,
  shownResponse: Record<string, unknown> | undefined,
): boolean {
  if (given.length === 1 && typeof given[0] === "string" && given[0] === shownResponse?.stop_reason) return true;
  return answerReasons !== undefined && sameJson(given, answerReasons);
}

/**
 * The request body's names for the conventions' settings that name them otherwise: OpenAI's
 * (`max_completion_tokens`, `stop`, `n`), Anthropic's and the Responses API's.
 */
const SETTING_NAMES: Record<string, string[]> = {
  max_tokens: ["max_tokens", "max_completion_tokens", "max_output_tokens"],
  stop_sequences: ["stop_sequences", "stop"],
  "choice.count": ["n"],
  encoding_formats: ["encoding_format"],
};

/** Whether a convention's setting says the body's: the same JSON, or a list of one where the body gave the one (`stop: "\n"`). */
function sameSetting(given: unknown, value: unknown): boolean {
  return sameJson(given, value) || (Array.isArray(given) && given.length === 1 && typeof value === "string" && given[0] === value);
}
