import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { isJsonObject } from "../encoding/json.js";
import { countOf, findAttribute, structuredOf } from "./attributes.js";

const PROMPT_VARIABLES = "tfy.prompt_variables";

/**
 * The variables a TrueFoundry prompt was filled with, as the span's metadata shows them: the object
 * itself, under the attribute's own key, where the attribute (JSON text) would show as one string
 * that Braintrust can neither unfold nor filter by. None when the span sends the key twice (moving
 * one would show the key twice) or its value holds no object.
 */
export function promptVariablesShown(attributes: KeyValue[]): Record<string, unknown> {
  if (countOf(attributes, PROMPT_VARIABLES) !== 1) return {};
  const variables = structuredOf(findAttribute(attributes, PROMPT_VARIABLES));
  return isJsonObject(variables) ? { [PROMPT_VARIABLES]: variables } : {};
}
