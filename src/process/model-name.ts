import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { stringAttribute } from "./attributes.js";
import { asItCame, readIfAny, type SourceReading } from "./derived-text.js";

/**
 * The model name Braintrust prices a span by (`metadata.model`, looked up by exact name): the
 * provider's own name. The response (or a GenAI span's `gen_ai.response.model`) says which model
 * answered, unless it only repeats the name the request gave, account and all, or is the model the
 * gateway called under an account (`openai-main/gpt-4o` for a virtual model's call); with no model
 * called named, an answer that is the model asked for under the provider's namespace
 * (`google/gemini-2.5-pro`) gives the name asked for (`gemini-2.5-pro`). Otherwise the model the
 * gateway called, `tfy.model.name`, the provider's name as it is (`meta-llama/Llama-3.3-70B-Instruct-Turbo`;
 * a virtual or routed model such as `routing/fast-chat` resolves to it); otherwise the request's model,
 * without TrueFoundry's provider-account prefix (`openai-main/gpt-4o` → `gpt-4o`). A response's or
 * `tfy.model.name`'s own prefix goes too when it is the account the request named. Each name is read
 * through `read` (derived-text.ts).
 */
export function providerModelName(
  attributes: KeyValue[],
  payloads: { requestModel: unknown; responseModel: unknown },
  read: SourceReading = asItCame,
): string | undefined {
  // Looked up once, no list or closure made: this runs on every model call's and request's span.
  const requested: Requested = [
    nameOf(payloads.requestModel, read),
    nameOf(stringAttribute(attributes, "tfy.request.model_name"), read),
    nameOf(stringAttribute(attributes, "gen_ai.request.model"), read),
  ];
  // A GenAI span's response model is the answer's, as the response body's is: a virtual model it asked for is no provider's.
  const answered = nameOf(payloads.responseModel, read) ?? readIfAny(stringAttribute(attributes, "gen_ai.response.model"), read);
  const called = readIfAny(stringAttribute(attributes, "tfy.model.name"), read);
  if (answered && !(called && (echoesAccount(answered, requested) || answered.endsWith(`/${called}`))))
    return (called === undefined && askedUnderNamespace(answered, requested)) || outsideAccounts(answered, requested);
  if (called) return outsideAccounts(called, requested);
  const first = requested[0] ?? requested[1] ?? requested[2];
  return first === undefined ? undefined : withoutAccount(first);
}

/** The names the request asked for, in order of precedence: the request body's, TrueFoundry's, the GenAI conventions'. */
type Requested = [string | undefined, string | undefined, string | undefined];

/**
 * Whether a response's model is a name the request gave with its account (`routing/fast-chat`,
 * `bedrock-main/anthropic.claude-3-5-sonnet`): the gateway repeating its own name, which no provider
 * answers with, where the model it called names the provider's.
 */
function echoesAccount(answered: string, requested: Requested): boolean {
  return requested.some((asked) => asked === answered && asked.indexOf("/") > 0);
}

/**
 * The model asked for, without its account, when the answer names it under a namespace of the provider's
 * (Vertex's OpenAI-compatible endpoint answers `google/gemini-2.5-pro` for `vertex-main/gemini-2.5-pro`):
 * where no model called says it, the name Braintrust's price list has. Undefined for any other answer.
 */
function askedUnderNamespace(answered: string, requested: Requested): string | undefined {
  for (const asked of requested) {
    if (asked === undefined) continue;
    const model = asked.slice(asked.indexOf("/") + 1);
    if (model !== "" && answered.endsWith(`/${model}`)) return model;
  }
  return undefined;
}

/** A name, read, or undefined for anything but a string that is not empty. */
function nameOf(name: unknown, read: SourceReading): string | undefined {
  return typeof name === "string" && name !== "" ? read(name) : undefined;
}

/** The name without the first requested name's account (`openai-main/`) it starts with, when it has more after it. */
function outsideAccounts(name: string, requested: Requested): string {
  for (const asked of requested) {
    if (asked === undefined) continue;
    // Where the model's own name starts: 1 past the slash, 0 without one; an account is never empty.
    const model = asked.indexOf("/") + 1;
    if (model > 1 && name.length > model && name.startsWith(asked.slice(0, model))) return name.slice(model);
  }
  return name;
}

/**
 * TrueFoundry names a model `<provider account>/<model>`; the provider knows only the part after
 * the first slash. A name without one (indexOf is -1) is whole; one ending in it has no other part.
 */
function withoutAccount(name: string): string {
  const slash = name.indexOf("/");
  return slash < name.length - 1 ? name.slice(slash + 1) : name;
}
