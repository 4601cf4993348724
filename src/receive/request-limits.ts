import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { RelayError } from "../http/errors.js";
import { eachField, type Range, WIRE_LEN, WIRE_VARINT, WireError, wireTypeOf } from "../otlp/wire.js";

/**
 * What one request may hold beyond its size in bytes. Spans are decoded one at a time, so memory
 * follows the largest decoded span, and these bound it: a span's decoded form grows with the
 * messages in it (attributes, events, links, values in lists), not with its bytes, and a request's
 * per-span bookkeeping with its span count. The span count is far above what exporters send (the
 * OpenTelemetry SDKs export at most 512 spans a request by default); a span's can be passed at the
 * SDKs' defaults (128 events and links of 128 attributes each), so a span past it is rejected on its
 * own, unread, not the request (read-spans.ts). README, Limits.
 */
export const MAX_SPANS_PER_REQUEST = 50_000;
export const MAX_MESSAGES_PER_SPAN = 20_000;

/**
 * What a span, or a resource's or scope's own members, may hold in OTLP JSON, counted by brackets
 * and commas: each list and object, and each member and item past the first in one. JSON.parse
 * makes a value of each, and millions of `[]`, `0` or keys in 16 MiB would take more memory than an
 * isolate has. Eight for each message a span may hold, the most one message takes as OpenTelemetry's
 * exporters write it (a link of all its fields: its braces, its attributes' list, five commas, and
 * the comma before it), and some for the span's own fields: a JSON span is refused no sooner than
 * the same span in protobuf.
 */
export const MAX_JSON_ENTRIES = 8 * MAX_MESSAGES_PER_SPAN + 64;

/** A span, resource or scope over MAX_MESSAGES_PER_SPAN, in protobuf or in JSON. */
export function tooManyMessages(what: string): RelayError {
  return new RelayError(
    "too_large",
    `a ${what} holds more than ${MAX_MESSAGES_PER_SPAN} attributes, events, links and values in them, the limit per ${what}`,
  );
}

export function tooManyJsonEntries(what: string): RelayError {
  return new RelayError(
    "too_large",
    `a ${what} holds more than ${MAX_JSON_ENTRIES} lists, objects, members and items in all, the limit per ${what}`,
  );
}

/**
 * The fields of a request's resources and scopes besides their lists (a resource, a scope, a
 * schema_url, an unknown field, each as often as it is given): each is kept as a range until the
 * request is read, and millions of two-byte fields would take more memory than an isolate has.
 * Four a span, at the most spans, is twice what a request of one resource and one scope a span needs.
 */
export const MAX_HEADER_FIELDS_PER_REQUEST = 4 * MAX_SPANS_PER_REQUEST;

export function tooManyHeaderFields(): RelayError {
  return new RelayError(
    "too_large",
    `request's resources and scopes hold more than ${MAX_HEADER_FIELDS_PER_REQUEST} fields besides their spans, the limit per request: export smaller batches`,
  );
}

/**
 * How many bytes a request's spans, with their resources and scopes, may take once processed: three
 * times the request's own, 256 more per span and 1 MiB. A tenant keeping source attributes has its
 * payloads twice (translated beside their sources), and masking may lengthen them again (an address
 * of six characters becomes `[REDACTED]`); but a key rule replacing every tiny attribute with 100
 * characters would make 16 MiB of them about 900 MB, in an isolate other tenants' requests share.
 */
export function maxOutgoingBytes(requestBytes: number, spans: number): number {
  return 3 * requestBytes + 256 * spans + 1024 * 1024;
}

export function grownTooLarge(requestBytes: number): RelayError {
  return new RelayError(
    "too_large",
    `request of ${requestBytes} bytes would more than triple in the tenant's processing, past what one request may take (its redaction lengthens many short values); export smaller batches`,
  );
}

/** protobuf-es's own limit on nesting, counted from the request. */
export const MAX_NESTING = 100;

/**
 * The nesting left for a message decoded on its own, so the limit holds as if the request were
 * decoded whole: a ResourceSpans sits one level into the request, a ScopeSpans two, a Span three.
 */
export const NESTING_LEFT = { resource: MAX_NESTING - 1, scope: MAX_NESTING - 2, span: MAX_NESTING - 3 } as const;

export function tooManySpans(): RelayError {
  return new RelayError(
    "too_large",
    `request holds more than ${MAX_SPANS_PER_REQUEST} spans, the limit per request: export smaller batches`,
  );
}

/**
 * Checks a message (a span, or a resource's or scope's own fields) before it is decoded. A known
 * field of another wire type than its own, at any depth, is refused as malformed: protobuf-es reads
 * it as its own anyway (a message field's varint as the length of a message made of the bytes
 * after it, a length-delimited scalar's length as its value and what it covered as fields of the
 * message), where protobuf's other decoders, Braintrust's perhaps, skip it as an unknown field: the
 * bytes the relay forwards would say what it never checked or redacted. One holding more nested
 * messages, items of lists of strings and unknown fields than the limit is too large: protobuf-es
 * makes an object or a string of each. Returns whether it nests messages deeper than the decoder
 * takes (NESTING_LEFT), which the walk does not follow: protobuf-es would refuse it, after building
 * every level above (and throwing from the deepest, which costs more than decoding it all).
 */
export function checkMessageFields(desc: DescMessage, bytes: Uint8Array, range: Range, what: keyof typeof NESTING_LEFT): boolean {
  let count = 0;
  let tooDeep = false;
  const walk = (message: DescMessage, start: number, end: number, depth: number): void => {
    if (depth > NESTING_LEFT[what]) {
      tooDeep = true;
      return;
    }
    const fields = fieldsOf(message);
    eachField(bytes, start, end, (no, wireType, value) => {
      const field = fields.get(no);
      if (field?.wireType !== undefined && wireType !== field.wireType) {
        throw new WireError(`field ${no} of ${message.typeName} has wire type ${wireType}, where it has ${field.wireType}`);
      }
      if (field && !field.message && !field.repeated) return;
      if (++count > MAX_MESSAGES_PER_SPAN) throw tooManyMessages(what);
      if (field?.message) walk(field.message, value.start, value.end, depth + 1);
    });
  };
  walk(desc, range.start, range.end, 1);
  return tooDeep;
}

/** How checkMessageFields reads a known field: its wire type (undefined: any), and whether it holds a message or a list. */
interface KnownField {
  wireType: number | undefined;
  message: DescMessage | undefined;
  repeated: boolean;
}

const fieldsByMessage = new Map<DescMessage, Map<number, KnownField>>();

/** A message type's fields by number, as checkMessageFields reads them. */
function fieldsOf(desc: DescMessage): Map<number, KnownField> {
  let fields = fieldsByMessage.get(desc);
  if (!fields) {
    fields = new Map();
    for (const field of desc.fields) fields.set(field.number, knownField(field));
    fieldsByMessage.set(desc, fields);
  }
  return fields;
}

function knownField(field: DescField): KnownField {
  switch (field.fieldKind) {
    case "message":
      return { wireType: field.delimitedEncoding ? undefined : WIRE_LEN, message: field.message, repeated: false };
    case "list":
      if (field.listKind === "message")
        return { wireType: field.delimitedEncoding ? undefined : WIRE_LEN, message: field.message, repeated: true };
      // Numbers may come packed or not; no OTLP trace field is a list of them.
      return { wireType: field.listKind === "scalar" ? listWireType(field.scalar) : undefined, message: undefined, repeated: true };
    case "scalar":
      return { wireType: wireTypeOf(field.scalar), message: undefined, repeated: false };
    case "enum":
      return { wireType: WIRE_VARINT, message: undefined, repeated: false };
    case "map":
      return { wireType: WIRE_LEN, message: undefined, repeated: true };
  }
}

/** A list of strings or bytes is written an item a field; one of numbers either so or packed, any wire type. */
function listWireType(scalar: ScalarType): number | undefined {
  return scalar === ScalarType.STRING || scalar === ScalarType.BYTES ? WIRE_LEN : undefined;
}
