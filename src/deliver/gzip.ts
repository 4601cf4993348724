import { constants, gzipSync, inflateRawSync } from "node:zlib";
import type { RequestBody } from "../otlp/format.js";

/** workerd's native zlib in one call: far less CPU than a CompressionStream's chunk-by-chunk promises. */
export function gzip(bytes: Uint8Array): Uint8Array {
  const compressed = gzipSync(bytes);
  return new Uint8Array(compressed.buffer, compressed.byteOffset, compressed.byteLength);
}

/** A gzip member's smallest size: a 10-byte header, an empty deflate block, an 8-byte trailer. */
const MIN_GZIP_BYTES = 20;

/**
 * Whether a gzip body is one gzip member holding exactly its decompressed bytes and nothing after
 * it, so it may be forwarded as it came. zlib reads on past a member (a second member), or stops and
 * leaves what follows unread (zero padding), where stricter decoders refuse, or read one member only;
 * such a body's spans are sent as a changed body's are. zlib read all of it, then, and the trailer's
 * size field (RFC 1952's ISIZE, the length mod 2^32, in the last 4 bytes) of a body far under 4 GiB
 * is the whole body's only for one member, or for one after members that hold nothing, in which a
 * decoder reading one member would find no spans: the first member must hold bytes too.
 */
export function isWholeGzipOf({ wire, bytes, inflatedFrom }: RequestBody): boolean {
  if (wire.byteLength < MIN_GZIP_BYTES || inflatedFrom !== wire.byteLength) return false;
  const size = new DataView(wire.buffer, wire.byteOffset, wire.byteLength).getUint32(wire.byteLength - 4, true);
  return size === bytes.byteLength % 2 ** 32 && firstMemberHoldsBytes(wire);
}

/**
 * Whether the first member of a gzip body, one zlib read whole, holds any bytes: its deflate data's
 * first bytes are inflated, enough for any block's header (a dynamic one's is under 300 bytes) and
 * what follows it. False too for a member that opens with empty blocks for longer than that, whose
 * spans then go as those of one holding nothing do.
 */
function firstMemberHoldsBytes(wire: Uint8Array): boolean {
  const start = deflateStart(wire);
  if (start === undefined) return false;
  try {
    const opening = inflateRawSync(wire.subarray(start, start + OPENING_BYTES), {
      finishFlush: constants.Z_SYNC_FLUSH,
      maxOutputLength: MAX_OPENING_OUTPUT,
    });
    return opening.byteLength > 0;
  } catch (err) {
    // More than asked for: it holds bytes.
    return err instanceof RangeError;
  }
}

const OPENING_BYTES = 1024;
/** What most openings inflate to within (an exception costs more than the inflating); more is a RangeError. */
const MAX_OPENING_OUTPUT = 64 * 1024;

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** Where a gzip member's deflate data starts: after its header and the optional fields its flags name (RFC 1952 §2.3). */
function deflateStart(wire: Uint8Array): number | undefined {
  const flags = wire[3]!;
  let at = 10;
  if (flags & FEXTRA) at += 2 + (wire[at]! | (wire[at + 1]! << 8));
  for (const field of [FNAME, FCOMMENT]) {
    if (!(flags & field)) continue;
    const end = wire.indexOf(0, at);
    if (end === -1) return undefined;
    at = end + 1;
  }
  if (flags & FHCRC) at += 2;
  return at < wire.byteLength ? at : undefined;
}
