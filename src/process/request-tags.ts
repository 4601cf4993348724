import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { findAttribute, jsonOf } from "./attributes.js";

/**
 * Tags from the caller's request metadata (`X-TFY-METADATA`). TrueFoundry takes only string
 * values, so tags come as one comma-separated string; a list is accepted too. How the gateway
 * puts the metadata on the span is not documented, so all three plausible forms are read: JSON
 * text, a key-value list, or one `tfy.request.metadata.<key>` attribute per key.
 */
export function requestTags(attributes: KeyValue[]): string[] {
  const flattened = findAttribute(attributes, "tfy.request.metadata.tags");
  const whole = jsonOf(findAttribute(attributes, "tfy.request.metadata"));
  // A flattened value is the header's string as it came: "2024" is a tag, not a number.
  const flattenedTags = flattened?.value.case === "stringValue" ? flattened.value.value : jsonOf(flattened);
  const tags = flattened
    ? flattenedTags
    : typeof whole === "object" && whole !== null
      ? (whole as Record<string, unknown>).tags
      : undefined;
  if (Array.isArray(tags)) return tags.filter((t): t is string => typeof t === "string" && t !== "");
  if (typeof tags === "string")
    return tags
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
  return [];
}
