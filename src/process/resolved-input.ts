import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { utf8Of } from "../encoding/bytes.js";
import { forEachScalar } from "../encoding/json.js";
import { OPEN_OBJECT } from "../encoding/json-characters.js";
import { afterSpace } from "../encoding/json-reader.js";
import { stringAttribute } from "./attributes.js";

/**
 * A request made with a TrueFoundry prompt: its span holds the request as the caller sent it
 * (`tfy.input`) and as the gateway rendered the prompt's template into it (`tfy.resolved_input`),
 * the messages the model was asked, as the `Model` span's `tfy.input` holds them.
 */
export const RESOLVED_INPUT = "tfy.resolved_input";

/** The rendered request, when the attribute's text (as UTF-8) is one: a JSON object. Blank text or JSON null is none. */
export function renderedRequest(utf8: Uint8Array | undefined): Uint8Array | undefined {
  return utf8?.[afterSpace(utf8, 0)] === OPEN_OBJECT ? utf8 : undefined;
}

/**
 * Whether the request as the caller sent it says nothing the span does not show otherwise: each of
 * its values is one of the rendered request's, or the prompt's name or one of its variables (shown in
 * metadata, as the gateway's `tfy.prompt_version_fqn` and `tfy.prompt_variables`, which a caller's
 * request may hold too), or a template's text holding a `{{variable}}` the rendering filled in. The
 * rendered request is read value by value, never parsed whole; a request sent longer than a copy the
 * relay reads is not compared.
 */
export function renderedInto(attributes: KeyValue[], sent: Uint8Array, rendered: Uint8Array): boolean {
  if (sent.byteLength > MAX_SENT_BYTES) return false;
  const unsaid = new Set<string>();
  const read = forEachScalar(sent, (token) => {
    if (!PLACEHOLDER.test(token)) unsaid.add(token);
  });
  if (!read) return false;
  const said = (token: string) => unsaid.delete(token);
  const name = stringAttribute(attributes, "tfy.prompt_version_fqn");
  if (name !== undefined) said(`s${name}`);
  const variables = stringAttribute(attributes, "tfy.prompt_variables");
  if (variables !== undefined && variables.length <= MAX_SENT_BYTES) forEachScalar(utf8Of(variables), said);
  return forEachScalar(rendered, said) && unsaid.size === 0;
}

/** A string token holding a template's variable, as TrueFoundry's prompts write one. */
const PLACEHOLDER = /^s.*\{\{[^{}]+\}\}/s;

/** As long as a GenAI copy the relay reads (genai-copies.ts): its values are kept while the rendering is read. */
const MAX_SENT_BYTES = 1024 * 1024;
