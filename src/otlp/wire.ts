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

/** Calls `field` with each field of the message in [start, end): number, wire type, value range, whole field range. */
export function eachField(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: (no: number, wireType: number, value: Range, whole: Range) => void,
): void {
  let at = start;
  while (at < end) {
    const fieldStart = at;
    const [tag, afterTag] = readVarint(bytes, at);
    const no = Math.floor(tag / 8);
    const wireType = tag & 7;
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
      default:
        throw new WireError(`field ${no} has wire type ${wireType}, which is not one of 0, 1, 2 and 5`);
    }
    if (no === 0) throw new WireError("a field has number 0");
    if (valueEnd > end) throw new WireError(`field ${no} runs past the end of its message`);
    field(no, wireType, { start: valueStart, end: valueEnd }, { start: fieldStart, end: valueEnd });
    at = valueEnd;
  }
}

/**
 * Where every resource, scope and span of an ExportTraceServiceRequest sits, without decoding any
 * of them. Unknown top-level fields are skipped, as re-encoding the request would drop them; a
 * `resource_spans` field that is not length-delimited, or broken framing, is a WireError.
 */
export function scanRequest(bytes: Uint8Array, maxSpans = Number.POSITIVE_INFINITY): ScannedResource[] {
  const resources: ScannedResource[] = [];
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
      resource.scopes.push(scope);
    });
    resources.push(resource);
  });
  return resources;
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

function sizeOf(pieces: Piece[], sizes: Map<Piece, number>): number {
  let size = 0;
  for (const piece of pieces) {
    if (piece instanceof Uint8Array) size += piece.byteLength;
    else if (isRange(piece)) size += piece.end - piece.start;
    else {
      const inner = sizeOf(piece.pieces, sizes);
      sizes.set(piece, inner);
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
