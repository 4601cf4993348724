import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { sameJson } from "../encoding/json.js";
import { stringAttribute } from "./attributes.js";
import { USAGE_MEMBERS, usageBesideMetrics } from "./metrics.js";
import { ANSWER_MODEL_MEMBERS, type RequestPayload, type ResponsePayload } from "./payloads.js";
import type { RequestMetadata } from "./request-metadata.js";

/**
 * What a translated span's metadata shows (translate.ts writes it as `braintrust.metadata`): the
 * request's settings, the model Braintrust prices by, the rest of the response, and the caller's
 * metadata beside them, each once.
 */

/** The caller's metadata as the span's metadata shows it: its tags only as tags, when they are written as such. */
export function callerMetadataShown({ values }: RequestMetadata, tagsWritten: boolean): Record<string, unknown> {
  if (!tagsWritten || !Object.hasOwn(values, "tags")) return values;
  const { tags: _shownAsTags, ...rest } = values;
  return rest;
}

/**
 * The span's metadata with the caller's keys beside the relay's own, which win: a caller's key one of
 * them would hide with another value (`user`, a request's setting too) shows under the name its
 * flattened attribute has (`tfy.request.metadata.user`), so each of the caller's keys shows, once.
 * `allShown` is false when even that name is the relay's (a request body's field of that name):
 * the caller's attributes then stay, so its value still shows. `sourcesKept`: the tenant keeps the
 * caller's attributes, which show such a key's value already: it is not written a second time.
 */
export function withCallerMetadata(
  derived: Record<string, unknown>,
  caller: Record<string, unknown>,
  callerKeys: string[],
  sourcesKept: boolean,
): { metadata: Record<string, unknown>; allShown: boolean } {
  const metadata = { ...caller, ...derived };
  let allShown = true;
  if (sourcesKept) return { metadata, allShown };
  for (const key of callerKeys) {
    if (!Object.hasOwn(derived, key) || sameJson(caller[key], derived[key])) continue;
    const apart = `tfy.request.metadata.${key}`;
    if (!Object.hasOwn(derived, apart)) metadata[apart] = caller[key];
    else if (!sameJson(caller[key], derived[apart])) allShown = false;
  }
  return { metadata, allShown };
}

/**
 * The request's settings that nothing but metadata shows: its model is shown by
 * `tfy.request.model_name` too when they are the same, so it needs no metadata of its own.
 */
export function settingsOnlyMetadataShows(settings: Record<string, unknown>, attributes: KeyValue[]): Record<string, unknown> {
  const { model, ...rest } = settings;
  return model !== undefined && model === stringAttribute(attributes, "tfy.request.model_name") ? rest : settings;
}

/**
 * The request's settings (the body apart from its input), as Braintrust's OpenAI wrappers log
 * them; `model`, the model Braintrust prices by, on the spans of a request or a model call (a
 * guardrail or a tool that sees the request is not a call to its model); TrueFoundry's name for
 * the model when it is not that and not already on the span; and the response apart from its output.
 */
export function metadataOf(
  attributes: KeyValue[],
  request: RequestPayload | undefined,
  responseRest: ResponsePayload["rest"] | undefined,
  model: string | undefined,
): Record<string, unknown> {
  const { model: requestModel, ...settings } = request?.settings ?? {};
  const gatewayModel =
    requestModel !== model && requestModel !== stringAttribute(attributes, "tfy.request.model_name") ? requestModel : undefined;
  return {
    ...settings,
    ...(model === undefined ? {} : { model }),
    ...(gatewayModel === undefined ? {} : { gateway_model: gatewayModel }),
    ...(responseRest && Object.keys(responseRest).length > 0 ? { response: responseRest } : {}),
  };
}

/**
 * The rest of a response as metadata shows it, without what the span shows elsewhere: the model
 * that answered (`model`, a Gemini answer's `modelVersion`) when it is `model` (metadata's), and the counts of its usage that `metrics` (those
 * written) show as they are.
 */
export function responseRestShown(
  rest: ResponsePayload["rest"],
  model: string | undefined,
  metrics: Record<string, number> | undefined,
): ResponsePayload["rest"] {
  const shown = Object.entries(rest).flatMap(([key, value]): Array<[string, unknown]> => {
    if (ANSWER_MODEL_MEMBERS.includes(key)) return value === model ? [] : [[key, value]];
    if (!USAGE_MEMBERS.has(key) || metrics === undefined) return [[key, value]];
    const left = usageBesideMetrics(value, metrics);
    return left === undefined ? [] : [[key, left]];
  });
  return Object.fromEntries(shown);
}
