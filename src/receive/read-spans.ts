import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import {
  type ResourceSpans,
  ResourceSpansSchema,
  type ScopeSpans,
  ScopeSpansSchema,
  type Span,
  SpanSchema,
} from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { bomLength, textOf } from "../encoding/bytes.js";
import { CARRIAGE_RETURN, OPEN_OBJECT, SPACE, TAB } from "../encoding/json-characters.js";
import { RelayError } from "../http/errors.js";
import type { OtlpFormat } from "../otlp/format.js";
import type { IncomingResource, IncomingScope, IncomingSpan, LeftOut, SpanFields } from "../otlp/incoming.js";
import {
  assemble,
  eachField,
  FieldCursor,
  type Piece,
  type Range,
  scanRequest,
  TooManyHeaderFields,
  TooManySpans,
  WIRE_LEN,
  WireError,
} from "../otlp/wire.js";
import { isGzipped } from "./body.js";
import { readJsonSpans } from "./otlp-json.js";
import {
  checkMessageFields,
  MAX_HEADER_FIELDS_PER_REQUEST,
  MAX_NESTING,
  MAX_SPANS_PER_REQUEST,
  NESTING_LEFT,
  tooManyHeaderFields,
  tooManySpans,
} from "./request-limits.js";
import { readSpanFields } from "./span-fields.js";
import { passIsAStep, StepCounter, type Steps } from "./turns.js";
import { SpanRejections } from "./validate.js";
import { stringsAreUtf8 } from "./wire-check.js";

/**
 * Reads a request one span at a time, handing each valid span to `visit` with its resource and
 * scope; spans with invalid ids, or past a span's limits, are counted and left out (partial
 * success). Nothing of a span is kept once `visit` returns, so memory follows the largest span, not
 * the request. Every failure is the client's (400, 413), with a message saying what is wrong. In
 * steps, between which the ingest route gives other requests their turn (turns.ts).
 */
export function* readSpans(
  bytes: Uint8Array,
  format: OtlpFormat,
  visit: (incoming: IncomingSpan) => void,
  { vouched, framed }: ReadOptions = { vouched: false, framed: false },
): Steps<ReadSpans> {
  if (isGzipped(bytes)) throw new RelayError("malformed", "request body is gzip-compressed, but came without Content-Encoding: gzip");
  const rejections = new SpanRejections();
  const admit = (incoming: IncomingSpan) => {
    // Not vouched for, so decoded already: the whole span is checked, its links' ids too.
    if (rejections.admit(incoming.span)) visit(incoming);
  };
  if (format === "json") {
    try {
      yield* readJsonSpans(bytes, admit, rejections);
    } catch (err) {
      throw hinted(err, looksLikeProtobuf(bytes), "the body looks like protobuf: send protobuf as application/x-protobuf");
    }
    return { rejections, leftOut: "nothing" };
  }
  // The wire check validated every span's and link's ids already: vouched spans are accepted unread.
  const accept = (incoming: IncomingSpan) => {
    rejections.accept();
    visit(incoming);
  };
  try {
    return { rejections, leftOut: yield* readProtobufSpans(bytes, vouched ? accept : admit, { vouched, framed }, rejections) };
  } catch (err) {
    throw hinted(err, looksLikeJson(bytes), "the body looks like JSON: send JSON as application/json");
  }
}

/** A refusal of a malformed body, with a word on the other format when the body looks like it. */
function hinted(err: unknown, looksLikeTheOther: boolean, hint: string): unknown {
  return looksLikeTheOther && err instanceof RelayError && err.code === "malformed"
    ? new RelayError("malformed", `${err.message} (${hint})`)
    : err;
}

/**
 * Whether the body opens as a JSON object would, after a byte order mark or spaces. Not after a line
 * feed: 0x0a is also the tag every protobuf request opens with, and a broken one is not JSON.
 */
function looksLikeJson(bytes: Uint8Array): boolean {
  let at = bomLength(bytes);
  while (bytes[at] === SPACE || bytes[at] === TAB || bytes[at] === CARRIAGE_RETURN) at++;
  return bytes[at] === OPEN_OBJECT;
}

/**
 * Whether the body is framed as a protobuf request is: nothing but resource spans (their tag 0x0a is
 * also JSON's line feed), each as long as its length says, the last ending with the body. JSON
 * opening with a line feed would have to hold exactly such lengths by chance.
 */
function looksLikeProtobuf(bytes: Uint8Array): boolean {
  // Most JSON opens with a brace: not read as fields at all.
  if (bytes[0] !== RESOURCE_SPANS_TAG) return false;
  const field = new FieldCursor(bytes, 0, bytes.length);
  try {
    while (field.next()) if (bytes[field.fieldStart] !== RESOURCE_SPANS_TAG) return false;
    return true;
  } catch (err) {
    if (err instanceof WireError) return false;
    throw err;
  }
}

/** ExportTraceServiceRequest's field 1, resource_spans, length-delimited, as its one-byte tag. */
const RESOURCE_SPANS_TAG = 0x0a;

interface ReadOptions {
  /**
   * Whether the wire check vouched for the bytes (receive/wire-check.ts): decoding cannot fail, so
   * each span, resource and scope is decoded only when something asks for it, and a span's ids,
   * name and attributes are read without decoding the rest.
   */
  vouched: boolean;
  /**
   * Whether the wire check found every field of its wire type and every message within its limits,
   * whatever it made of the ids: decoding need not check them again (checkMessageFields).
   */
  framed: boolean;
}

interface ReadSpans {
  rejections: SpanRejections;
  leftOut: LeftOut;
}

function* readProtobufSpans(
  bytes: Uint8Array,
  visit: (incoming: IncomingSpan) => void,
  { vouched, framed }: ReadOptions,
  rejections: SpanRejections,
): Steps<LeftOut> {
  let request: ReturnType<typeof scanRequest>;
  try {
    request = scanRequest(bytes, MAX_SPANS_PER_REQUEST, MAX_HEADER_FIELDS_PER_REQUEST);
  } catch (err) {
    if (err instanceof TooManySpans) throw tooManySpans();
    if (err instanceof TooManyHeaderFields) throw tooManyHeaderFields();
    throw malformed(err);
  }
  // The scan, a pass over the whole body, is a step of its own for a body of more than one.
  if (passIsAStep(bytes.byteLength)) yield;
  const steps = new StepCounter();
  for (const scanned of request.resources) {
    const resourceSpans = vouched ? undefined : decodeHeader(ResourceSpansSchema, bytes, scanned.header, "resource", framed);
    if (typeof resourceSpans === "string") {
      for (const { spans } of scanned.scopes) rejectEach(bytes, spans, rejections, resourceSpans);
      continue;
    }
    const resource: IncomingResource =
      resourceSpans === undefined
        ? new VouchedResource(ResourceSpansSchema, bytes, scanned.header)
        : { resourceSpans, header: scanned.header };
    for (const { header, spans } of scanned.scopes) {
      const scopeSpans = vouched ? undefined : decodeHeader(ScopeSpansSchema, bytes, header, "scope", framed);
      if (typeof scopeSpans === "string") {
        rejectEach(bytes, spans, rejections, scopeSpans);
        continue;
      }
      const scope: IncomingScope = scopeSpans === undefined ? new VouchedScope(bytes, header, resource) : { resource, scopeSpans, header };
      for (const range of spans) {
        if (vouched) visit(new VouchedSpan(bytes, range, scope));
        else {
          const span = decodeSpan(bytes, range, rejections, framed);
          if (span) visit({ span, fields: span, scope, range });
        }
        if (steps.reached(range.end)) yield;
      }
    }
  }
  // Spans read from instrumentation_library_spans go as scope_spans: the bytes as they came hide them from today's decoders.
  if (request.legacyScopes) return "unchecked";
  if (!request.leftOutEmpty) return "nothing";
  return framed ? "checked" : "unchecked";
}

/** A span of vouched bytes: its fields read when first asked for, the whole span decoded only if something needs more. */
class VouchedSpan implements IncomingSpan {
  private decoded: Span | undefined;
  private read: SpanFields | undefined;

  constructor(
    private readonly bytes: Uint8Array,
    readonly range: Range,
    readonly scope: IncomingScope,
  ) {}

  get span(): Span {
    this.decoded ??= fromBinary(SpanSchema, this.bytes.subarray(this.range.start, this.range.end));
    return this.decoded;
  }

  get fields(): SpanFields {
    // Once decoded, the span is what processing changes (redaction), so it is what is read.
    if (this.decoded) return this.decoded;
    this.read ??= readSpanFields(this.bytes, this.range);
    return this.read;
  }
}

/** A resource's or scope's own fields from vouched bytes, decoded when first asked for: most tenants never read them. */
class VouchedHeader<Desc extends DescMessage> {
  private decoded: MessageShape<Desc> | undefined;

  constructor(
    private readonly desc: Desc,
    private readonly bytes: Uint8Array,
    readonly header: Piece[],
  ) {}

  protected get fields(): MessageShape<Desc> {
    this.decoded ??= fromBinary(this.desc, assemble(this.bytes, this.header));
    return this.decoded;
  }
}

class VouchedResource extends VouchedHeader<typeof ResourceSpansSchema> implements IncomingResource {
  get resourceSpans(): ResourceSpans {
    return this.fields;
  }
}

class VouchedScope extends VouchedHeader<typeof ScopeSpansSchema> implements IncomingScope {
  constructor(
    bytes: Uint8Array,
    header: Piece[],
    readonly resource: IncomingResource,
  ) {
    super(ScopeSpansSchema, bytes, header);
  }

  get scopeSpans(): ScopeSpans {
    return this.fields;
  }
}

/**
 * The span, decoded (its fields checked first, unless the wire check found the request framed);
 * undefined for one holding more messages than a span may (request-limits.ts), left out unread and
 * rejected on its own (partial success): its bytes are bounded by the request's, so the rest of the
 * request, which an exporter would not send again after a 413, still goes. So is one the decoder
 * refuses for what it holds (nestedTooDeep, textFault).
 */
function decodeSpan(bytes: Uint8Array, range: Range, rejections: SpanRejections, framed: boolean): Span | undefined {
  let tooDeep: boolean;
  try {
    // Found framed, the request nests nowhere near the limit (wire-check.ts).
    tooDeep = !framed && guardWire(() => checkMessageFields(SpanSchema, bytes, range, "span"));
  } catch (err) {
    if (!(err instanceof RelayError && err.code === "too_large")) throw err;
    rejections.reject(spanNameIn(bytes, range), err.message);
    return undefined;
  }
  if (tooDeep) {
    rejections.reject(spanNameIn(bytes, range), nestedTooDeep("it"));
    return undefined;
  }
  try {
    return fromBinary(SpanSchema, bytes.subarray(range.start, range.end), { recursionLimit: NESTING_LEFT.span });
  } catch (err) {
    const reason = textFault(SpanSchema, bytes, range, NESTING_LEFT.span, "it");
    if (reason === undefined) throw malformed(err);
    rejections.reject(spanNameIn(bytes, range), reason);
    return undefined;
  }
}

/** A span's name, read alone from its bytes (what is not UTF-8 as U+FFFD); empty when it has none. */
function spanNameIn(bytes: Uint8Array, range: Range): string {
  let name = "";
  try {
    eachField(bytes, range.start, range.end, (no, wireType, value) => {
      if (no === SPAN_NAME_FIELD && wireType === WIRE_LEN) name = textOf(bytes.subarray(value.start, value.end));
    });
  } catch {
    // Past a malformed field, the name as far as it was read.
  }
  return name;
}

const SPAN_NAME_FIELD = SpanSchema.field.name.number;

/** Spans left out unread for what is wrong with the resource or scope they came under: each rejected, by its name. */
function rejectEach(bytes: Uint8Array, spans: Range[], rejections: SpanRejections, reason: string): void {
  for (const range of spans) rejections.reject(spanNameIn(bytes, range), reason);
}

/**
 * A ResourceSpans or ScopeSpans from its own fields, every one but its list; or, when what they hold
 * is at fault (nestedTooDeep, textFault: text an encoder wrote without checking it, a host name
 * say), why: the spans under it are rejected (partial success), not the batch, which an exporter
 * would drop whole for one attribute of one resource.
 */
function decodeHeader<Desc extends DescMessage>(
  desc: Desc,
  bytes: Uint8Array,
  header: Piece[],
  what: keyof typeof NESTING_LEFT,
  framed: boolean,
): MessageShape<Desc> | string {
  const own = assemble(bytes, header);
  const range = { start: 0, end: own.byteLength };
  if (!framed && guardWire(() => checkMessageFields(desc, own, range, what))) return nestedTooDeep(`its ${what}`);
  try {
    return fromBinary(desc, own, { recursionLimit: NESTING_LEFT[what] });
  } catch (err) {
    const reason = textFault(desc, own, range, NESTING_LEFT[what], `its ${what}`);
    if (reason === undefined) throw malformed(err);
    return reason;
  }
}

/**
 * A message (a span, or a resource's or scope's own fields) holding values nested past the
 * decoder's limit: its framing is sound as far as the decoder reads, so only the spans of that
 * message are rejected, as a span with bad ids is, not the batch. `where`: the message, as a span's
 * rejection names it.
 */
function nestedTooDeep(where: string): string {
  return `a value in ${where} is nested past ${MAX_NESTING} levels of messages, the most a request may hold`;
}

/**
 * Why protobuf-es refused a message whose framing is sound, when its text is at fault and nothing
 * else: a string that is not UTF-8 (an encoder writing half of a surrogate pair as it is). Only the
 * spans of that message are then rejected, as for nesting (nestedTooDeep). Undefined otherwise.
 */
function textFault(desc: DescMessage, bytes: Uint8Array, range: Range, nestingLeft: number, where: string): string | undefined {
  return stringsAreUtf8(desc, bytes, range, nestingLeft) ? undefined : `a string in ${where} is not valid UTF-8`;
}

function guardWire<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof WireError) throw malformed(err);
    throw err;
  }
}

/** The decoder's own words, which say what is wrong ("premature EOF", "maximum recursion depth of 97 reached"…), shortened. */
function malformed(err: unknown): RelayError {
  const words = (err instanceof Error ? err.message : String(err)).slice(0, 300);
  return new RelayError("malformed", `request body is not a valid ExportTraceServiceRequest: ${words}`);
}
