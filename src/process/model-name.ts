import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { stringAttribute } from "./attributes.js";

/**
 * The model name Braintrust prices a span by (`metadata.model`, looked up by exact name): the
 * provider's own name. The response (or a GenAI span's `gen_ai.response.model`) says which model
 * answered; otherwise the model the gateway called, `tfy.model.name`, the provider's name as it is
 * (`meta-llama/Llama-3.3-70B-Instruct-Turbo`; a virtual or routed model such as `routing/fast-chat`
 * resolves to it); otherwise the request's model, without TrueFoundry's provider-account prefix
 * (`openai-main/gpt-4o` → `gpt-4o`). A response's or `tfy.model.name`'s own prefix goes too when it
 * is the account the request named.
 */
export function providerModelName(attributes: KeyValue[], payloads: { requestModel: unknown; responseModel: unknown }): string | undefined {
  const requested = [
    payloads.requestModel,
    stringAttribute(attributes, "tfy.request.model_name"),
    stringAttribute(attributes, "gen_ai.request.model"),
  ].filter((name): name is string => typeof name === "string" && name !== "");
  const accounts = requested.flatMap((name) => (name.indexOf("/") > 0 ? [name.slice(0, name.indexOf("/") + 1)] : []));
  const outsideAccounts = (name: string) => {
    const account = accounts.find((prefix) => name.startsWith(prefix) && name.length > prefix.length);
    return account === undefined ? name : name.slice(account.length);
  };
  // A GenAI span's response model is the answer's, as the response body's is: a virtual model it asked for is no provider's.
  const answered =
    typeof payloads.responseModel === "string" && payloads.responseModel
      ? payloads.responseModel
      : stringAttribute(attributes, "gen_ai.response.model");
  if (answered) return outsideAccounts(answered);
  const called = stringAttribute(attributes, "tfy.model.name");
  if (called) return outsideAccounts(called);
  return requested[0] === undefined ? undefined : withoutAccount(requested[0]);
}

/**
 * TrueFoundry names a model `<provider account>/<model>`; the provider knows only the part after
 * the first slash. A name without one (indexOf is -1) is whole; one ending in it has no other part.
 */
function withoutAccount(name: string): string {
  const slash = name.indexOf("/");
  return slash < name.length - 1 ? name.slice(slash + 1) : name;
}
