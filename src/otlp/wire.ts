/**
 * Just enough of the protobuf wire format to find where each span sits in an
 * ExportTraceServiceRequest and to assemble new requests from those byte ranges, so bytes that
 * did not change are copied, never decoded and encoded again.
 * https://protobuf.dev/programming-guides/encoding/; OTLP's field numbers: docs/otlp-http.md.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;
/** Groups, a proto2 relic: OTLP has none, but an unknown field may be one, and decoders skip it. */
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
/** protobuf-es's own limit on nesting, which bounds groups within groups too. */
const MAX_GROUP_DEPTH = 100;

/** A byte range [start, end) of the original request. */
export interface Range {
  start: number;
  end: number;
}

export interface ScannedScope {
  /** Every field of the ScopeSpans but its spans (scope, schema_url, unknown fields), tags included. */
  header: Range[];
  /** Each span's message bytes, without tag and length. */
  spans: Range[];
}

export interface ScannedResource {
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

function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && shift < 64; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, i + 1];
    shift += 7;
  }
  throw new WireError("a varint is cut short or longer than 10 bytes");
}

/** One field as read: number, wire type, where its value is, and where the field ends. */
interface ReadField {
  no: number;
  wireType: number;
  valueStart: number;
  valueEnd: number;
}

/** The field whose tag is at `at`; a group is followed to its end tag. */
function readField(bytes: Uint8Array, at: number, end: number, depth: number): ReadField {
  const [tag, afterTag] = readVarint(bytes, at);
  const no = Math.floor(tag / 8);
  const wireType = tag & 7;
  if (no === 0) throw new WireError("a field has number 0");
  let valueStart = afterTag;
  let valueEnd: number;
  switch (wireType) {
    case WIRE_VARINT:
      valueEnd = readVarint(bytes, afterTag)[1];
      break;
    case WIRE_I64:
      valueEnd = afterTag + 8;
      break;
    case WIRE_I32:
      valueEnd = afterTag + 4;
      break;
    case WIRE_LEN: {
      const [length, afterLength] = readVarint(bytes, afterTag);
      valueStart = afterLength;
      valueEnd = afterLength + length;
      break;
    }
    case WIRE_START_GROUP:
      valueEnd = afterGroup(bytes, afterTag, end, no, depth + 1);
      break;
    default:
      throw new WireError(`field ${no} has wire type ${wireType}, which starts no field`);
  }
  if (valueEnd > end) throw new WireError(`field ${no} runs past the end of its message`);
  return { no, wireType, valueStart, valueEnd };
}

/** Where the group of field `no` whose fields start at `at` ends: just past its end-group tag. */
function afterGroup(bytes: Uint8Array, at: number, end: number, no: number, depth: number): number {
  if (depth > MAX_GROUP_DEPTH) throw new WireError("groups nested too deep");
  let next = at;
  while (next < end) {
    const [tag, afterTag] = readVarint(bytes, next);
    if ((tag & 7) === WIRE_END_GROUP) {
      if (Math.floor(tag / 8) !== no) throw new WireError(`group ${no} ends with the tag of another field`);
      return afterTag;
    }
    next = readField(bytes, next, end, depth).valueEnd;
  }
  throw new WireError(`group ${no} runs past the end of its message`);
}

/** Calls `field` with each field of the message in [start, end): number, wire type, value range, whole field range. */
export function eachField(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: (no: number, wireType: number, value: Range, whole: Range) => void,
): void {
  let at = start;
  while (at < end) {
    const { no, wireType, valueStart, valueEnd } = readField(bytes, at, end, 0);
    field(no, wireType, { start: valueStart, end: valueEnd }, { start: at, end: valueEnd });
    at = valueEnd;
  }
}

export interface ScannedRequest {
  /** Resources with at least one span, each with only its scopes that have spans. */
  resources: ScannedResource[];
  /** Whether a resource or scope without spans was left out: it has nothing to send, but its fields were never read. */
  leftOutEmpty: boolean;
}

/**
 * Where every resource, scope and span of an ExportTraceServiceRequest sits, without decoding any
 * of them. Resources and scopes without spans are left out, and unknown top-level fields skipped,
 * as re-encoding the request would drop them; a `resource_spans` field that is not
 * length-delimited, or broken framing, is a WireError.
 */
export function scanRequest(bytes: Uint8Array, maxSpans = Number.POSITIVE_INFINITY): ScannedRequest {
  const resources: ScannedResource[] = [];
  let leftOutEmpty = false;
  let spans = 0;
  eachField(bytes, 0, bytes.length, (no, wireType, value) => {
    if (no !== 1) return;
    if (wireType !== WIRE_LEN) throw new WireError("field 1 (resource_spans) is not length-delimited");
    const resource: ScannedResource = { header: [], scopes: [] };
    eachField(bytes, value.start, value.end, (rNo, rType, rValue, rWhole) => {
      if (rNo !== 2 || rType !== WIRE_LEN) return void resource.header.push(rWhole);
      const scope: ScannedScope = { header: [], spans: [] };
      eachField(bytes, rValue.start, rValue.end, (sNo, sType, sValue, sWhole) => {
        if (sNo !== 2 || sType !== WIRE_LEN) return void scope.header.push(sWhole);
        if (++spans > maxSpans) throw new TooManySpans(maxSpans);
        scope.spans.push(sValue);
      });
      if (scope.spans.length > 0) resource.scopes.push(scope);
      else leftOutEmpty = true;
    });
    if (resource.scopes.length > 0) resources.push(resource);
    else leftOutEmpty = true;
  });
  return { resources, leftOutEmpty };
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) size++;
  return size;
}

/** A message to write: pieces of the original (ranges), new bytes, and nested length-delimited fields. */
export type Piece = Range | Uint8Array | { field: number; pieces: Piece[] };

function isRange(piece: Piece): piece is Range {
  return "start" in piece;
}

/** The bytes the pieces make once assembled; `sizes` keeps each nested field's, for writing it. */
export function sizeOf(pieces: readonly Piece[], sizes?: Map<Piece, number>): number {
  let size = 0;
  for (const piece of pieces) {
    if (piece instanceof Uint8Array) size += piece.byteLength;
    else if (isRange(piece)) size += piece.end - piece.start;
    else {
      const inner = sizeOf(piece.pieces, sizes);
      sizes?.set(piece, inner);
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

/** Assembles the pieces into one buffer: sizes first, then a single copy of every byte. */
export function assemble(source: Uint8Array, pieces: Piece[]): Uint8Array {
  const sizes = new Map<Piece, number>();
  const out = new Uint8Array(sizeOf(pieces, sizes));
  const write = (list: Piece[], at: number): number => {
    for (const piece of list) {
      if (piece instanceof Uint8Array) {
        out.set(piece, at);
        at += piece.byteLength;
      } else if (isRange(piece)) {
        out.set(source.subarray(piece.start, piece.end), at);
        at += piece.end - piece.start;
      } else {
        at = writeVarint(out, at, piece.field * 8 + WIRE_LEN);
        at = writeVarint(out, at, sizes.get(piece)!);
        at = write(piece.pieces, at);
      }
    }
    return at;
  };
  write(pieces, 0);
  return out;
}
