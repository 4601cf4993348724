/**
 * Just enough of the protobuf wire format to find where each span sits in an
 * ExportTraceServiceRequest and to assemble new requests from those byte ranges, so bytes that
 * did not change are copied, never decoded and encoded again.
 * https://protobuf.dev/programming-guides/encoding/; OTLP's field numbers: docs/otlp-http.md.
 */

import { ScalarType } from "@bufbuild/protobuf";

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** The wire type a scalar of this type is written with (not packed). */
export function wireTypeOf(scalar: ScalarType): number {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WIRE_LEN;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WIRE_I64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WIRE_I32;
    default:
      return WIRE_VARINT;
  }
}
/** Groups, a proto2 relic: OTLP has none, but an unknown field may be one, and decoders skip it. */
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
/** protobuf-es's own limit on nesting, which bounds groups within groups too. */
const MAX_GROUP_DEPTH = 100;
/**
 * How deep protobuf-es counts a request's own fields: the request is its first level, so a group at
 * its top level may hold 98 more, not 99. Every other message's fields are decoded before they go
 * anywhere; the top level's unknown fields only ever go upstream as they came.
 */
const REQUEST_DEPTH = 1;

/** A tag is a uint32 varint: 5 bytes hold it, non-minimal encodings included. */
const MAX_TAG_BYTES = 5;

/** A byte range [start, end) of the original request. */
export interface Range {
  start: number;
  end: number;
}

interface ScannedScope {
  /** Every field of the ScopeSpans but its spans (scope, schema_url, unknown fields), tags included. */
  header: Range[];
  /** Each span's message bytes, without tag and length. */
  spans: Range[];
}

interface ScannedResource {
  /** Every field of the ResourceSpans but its scope_spans, tags included. */
  header: Range[];
  scopes: ScannedScope[];
}

/** Bytes that are not a well-formed message: a bad varint, a field past its end, an unknown wire type. */
export class WireError extends Error {}

/** More spans than the caller allows: the scan stops at the first one past the limit. */
export class TooManySpans extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} spans`);
  }
}

/** More fields of resources and scopes besides their lists than a request may hold (see scanRequest). */
export class TooManyHeaderFields extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} fields of resources and scopes`);
  }
}

/**
 * The fields of the message in [start, end), read in place one at a time: `next()` moves to the
 * next field and says whether there was one; the field is then the cursor's properties. A group is
 * followed to its end tag. Allocates nothing per field, for the paths that read every span.
 */
export class FieldCursor {
  no = 0;
  wireType = 0;
  /** Where the field starts, tag included. */
  fieldStart = 0;
  /** Where its value starts: after the length of a length-delimited field. */
  valueStart = 0;
  valueEnd = 0;
  private at: number;
  /** Set once a group's body has come to its end-group tag. */
  private groupEnded = false;

  /** `group`: the field number of the group whose body this reads, which ends at its end-group tag. */
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    private end: number,
    private readonly depth = 0,
    private readonly group?: number,
  ) {
    this.at = start;
  }

  /** Moves to another message of the same bytes, so one cursor reads many. */
  reset(start: number, end: number): this {
    this.at = start;
    this.end = end;
    return this;
  }

  next(): boolean {
    if (this.at >= this.end) return false;
    this.fieldStart = this.at;
    const tag = this.tag();
    const no = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === WIRE_END_GROUP && this.group !== undefined) {
      if (no !== this.group) throw new WireError(`group ${this.group} ends with the tag of another field`);
      this.groupEnded = true;
      return false;
    }
    if (no === 0) throw new WireError("a field has number 0");
    let valueStart = this.at;
    let valueEnd: number;
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        valueEnd = this.at;
        break;
      case WIRE_I64:
        valueEnd = this.at + 8;
        break;
      case WIRE_I32:
        valueEnd = this.at + 4;
        break;
      case WIRE_LEN: {
        const length = this.varint();
        valueStart = this.at;
        valueEnd = this.at + length;
        break;
      }
      case WIRE_START_GROUP:
        valueEnd = this.afterGroup(no);
        break;
      default:
        throw new WireError(`field ${no} has wire type ${wireType}, which starts no field`);
    }
    if (valueEnd > this.end) throw new WireError(`field ${no} runs past the end of its message`);
    this.no = no;
    this.wireType = wireType;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    this.at = valueEnd;
    return true;
  }

  /** Where the group of field `no` whose body starts here ends: just past its end-group tag. */
  private afterGroup(no: number): number {
    if (this.depth + 1 > MAX_GROUP_DEPTH) throw new WireError("groups nested too deep");
    const body = new FieldCursor(this.bytes, this.at, this.end, this.depth + 1, no);
    while (body.next()) {
      // Each field of the body is only skipped over.
    }
    if (!body.groupEnded) throw new WireError(`group ${no} runs past the end of its message`);
    return body.at;
  }

  /**
   * A tag, read as protobuf-es reads one: at most 5 bytes, within 32 bits. Anything longer names no
   * field protobuf allows, and read here as another field than a decoder would (or none), the bytes
   * sent on as they came would carry what the relay never read.
   */
  private tag(): number {
    const start = this.at;
    const tag = this.varint();
    if (this.at - start > MAX_TAG_BYTES || tag >= 2 ** 32) throw new WireError("a tag is longer than 5 bytes or past 32 bits");
    return tag;
  }

  private varint(): number {
    const bytes = this.bytes;
    let value = 0;
    let shift = 0;
    for (let i = this.at; i < bytes.length && shift < 64; i++) {
      const byte = bytes[i]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        this.at = i + 1;
        return value;
      }
      shift += 7;
    }
    throw new WireError("a varint is cut short or longer than 10 bytes");
  }
}

/**
 * Calls `field` with each field of the message in [start, end): number, wire type, value range, whole
 * field range. `depth`: how deep protobuf-es counts the message, for the groups it may hold.
 */
export function eachField(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: (no: number, wireType: number, value: Range, whole: Range) => void,
  depth = 0,
): void {
  const cursor = new FieldCursor(bytes, start, end, depth);
  while (cursor.next()) {
    field(
      cursor.no,
      cursor.wireType,
      { start: cursor.valueStart, end: cursor.valueEnd },
      { start: cursor.fieldStart, end: cursor.valueEnd },
    );
  }
}

interface ScannedRequest {
  /** Resources with at least one span, each with only its scopes that have spans. */
  resources: ScannedResource[];
  /** Whether a resource or scope without spans was left out: it has nothing to send, but its fields were never read. */
  leftOutEmpty: boolean;
  /** Whether a resource's scopes came as instrumentation_library_spans (see LEGACY_SCOPE_SPANS), where today's decoders do not look. */
  legacyScopes: boolean;
}

/** ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans and ScopeSpans.spans: the lists the scan follows. */
const RESOURCE_SPANS = 1;
const SCOPE_SPANS = 2;
const SPANS = 2;

/**
 * ResourceSpans.instrumentation_library_spans, what scope_spans was before OTLP 1.0 (reserved since),
 * the same message on the wire. The Collector reads a resource's spans there when it has no
 * scope_spans, and so does the scan, so such spans are checked and processed, not passed on unseen.
 */
export const LEGACY_SCOPE_SPANS = 1000;

/**
 * Where every resource, scope and span of an ExportTraceServiceRequest sits, without decoding any
 * of them. Resources and scopes without spans are left out, and unknown top-level fields skipped,
 * as re-encoding the request would drop them; a `resource_spans`, `scope_spans` or `spans` field
 * that is not length-delimited (a decoder ignoring wire types would read a span there that this scan
 * does not see), or broken framing, is a WireError. Each field of a resource or scope besides
 * its list is a range kept until the request is read, and a field may take two bytes: past
 * `maxHeaderFields` of them in all, TooManyHeaderFields.
 */
export function scanRequest(
  bytes: Uint8Array,
  maxSpans = Number.POSITIVE_INFINITY,
  maxHeaderFields = Number.POSITIVE_INFINITY,
): ScannedRequest {
  const resources: ScannedResource[] = [];
  let leftOutEmpty = false;
  let spans = 0;
  let headerFields = 0;
  const addHeader = (header: Range[], field: Range) => {
    if (++headerFields > maxHeaderFields) throw new TooManyHeaderFields(maxHeaderFields);
    header.push(field);
  };
  let legacyScopes = false;
  const addScope = (resource: ScannedResource, value: Range) => {
    const scope: ScannedScope = { header: [], spans: [] };
    eachField(bytes, value.start, value.end, (sNo, sType, sValue, sWhole) => {
      if (sNo !== SPANS) return addHeader(scope.header, sWhole);
      if (sType !== WIRE_LEN) throw new WireError("field 2 (spans) of a scope_spans is not length-delimited");
      if (++spans > maxSpans) throw new TooManySpans(maxSpans);
      scope.spans.push(sValue);
    });
    if (scope.spans.length > 0) resource.scopes.push(scope);
    else leftOutEmpty = true;
  };
  eachField(
    bytes,
    0,
    bytes.length,
    (no, wireType, value) => {
      if (no !== RESOURCE_SPANS) return;
      if (wireType !== WIRE_LEN) throw new WireError("field 1 (resource_spans) is not length-delimited");
      const resource: ScannedResource = { header: [], scopes: [] };
      let hasScopeSpans = false;
      // Each field 1000, by its range as a header field, made only for a resource that has one.
      let legacy: Map<Range, Range> | undefined;
      eachField(bytes, value.start, value.end, (rNo, rType, rValue, rWhole) => {
        if (rNo === LEGACY_SCOPE_SPANS && rType === WIRE_LEN) {
          legacy ??= new Map();
          legacy.set(rWhole, rValue);
        }
        if (rNo !== SCOPE_SPANS) return addHeader(resource.header, rWhole);
        if (rType !== WIRE_LEN) throw new WireError("field 2 (scope_spans) of a resource_spans is not length-delimited");
        hasScopeSpans = true;
        addScope(resource, rValue);
      });
      // Beside scope_spans, the Collector drops them unread; the scan reads none either, and keeps them as unknown fields.
      const scopes = hasScopeSpans ? undefined : legacy;
      if (scopes) {
        legacyScopes = true;
        resource.header = resource.header.filter((field) => !scopes.has(field));
        for (const scope of scopes.values()) addScope(resource, scope);
      }
      if (resource.scopes.length > 0) resources.push(resource);
      else leftOutEmpty = true;
    },
    REQUEST_DEPTH,
  );
  return { resources, leftOutEmpty, legacyScopes };
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) size++;
  return size;
}

/** A message to write: pieces of the original (ranges), new bytes, and nested length-delimited fields. */
export type Piece = Range | Uint8Array | { field: number; pieces: Piece[] };

export function isRange(piece: Piece): piece is Range {
  return "start" in piece;
}

/** The bytes the pieces make once assembled. */
export function sizeOf(pieces: readonly Piece[]): number {
  return measure(pieces, undefined);
}

/** As sizeOf; `sizes` gets each nested field's size, in the order `assemble` writes them. */
function measure(pieces: readonly Piece[], sizes: number[] | undefined): number {
  let size = 0;
  for (const piece of pieces) {
    if (piece instanceof Uint8Array) size += piece.byteLength;
    else if (isRange(piece)) size += piece.end - piece.start;
    else {
      const slot = sizes?.push(0) ?? 0;
      const inner = measure(piece.pieces, sizes);
      if (sizes) sizes[slot - 1] = inner;
      size += varintSize(piece.field * 8 + WIRE_LEN) + varintSize(inner) + inner;
    }
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/**
 * Assembles the pieces into one buffer: sizes first, then a single copy of every byte.
 * `allocate`: where the buffer comes from, a new zeroed one of the size asked for.
 */
export function assemble(source: Uint8Array, pieces: Piece[], allocate: (size: number) => Uint8Array = newBytes): Uint8Array {
  const sizes: number[] = [];
  const out = allocate(measure(pieces, sizes));
  write({ out, source, sizes, nested: 0 }, pieces, 0);
  return out;
}

function newBytes(size: number): Uint8Array {
  return new Uint8Array(size);
}

/** An assembly under way: nested fields' sizes are taken in the order `measure` put them. */
interface Assembly {
  out: Uint8Array;
  source: Uint8Array;
  sizes: number[];
  nested: number;
}

function write(assembly: Assembly, pieces: Piece[], start: number): number {
  const { out, source } = assembly;
  let at = start;
  for (const piece of pieces) {
    if (piece instanceof Uint8Array) {
      out.set(piece, at);
      at += piece.byteLength;
    } else if (isRange(piece)) {
      out.set(source.subarray(piece.start, piece.end), at);
      at += piece.end - piece.start;
    } else {
      at = writeVarint(out, at, piece.field * 8 + WIRE_LEN);
      at = writeVarint(out, at, assembly.sizes[assembly.nested++]!);
      at = write(assembly, piece.pieces, at);
    }
  }
  return at;
}
