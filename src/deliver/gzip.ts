import { gzipSync } from "node:zlib";

/** workerd's native zlib in one call: far less CPU than a CompressionStream's chunk-by-chunk promises. */
export function gzip(bytes: Uint8Array): Uint8Array {
  const compressed = gzipSync(bytes);
  return new Uint8Array(compressed.buffer, compressed.byteOffset, compressed.byteLength);
}

/** A gzip member's smallest size: a 10-byte header, an empty deflate block, an 8-byte trailer. */
const MIN_GZIP_BYTES = 20;

/**
 * Whether `wire` is one gzip member holding exactly `inflatedLength` bytes and nothing after it: its
 * trailer's size field (RFC 1952's ISIZE, the length mod 2^32, in the last 4 bytes) is theirs. zlib
 * reads past a member (zero padding, a second member) where stricter decoders refuse, so a body with
 * anything after its member is not forwarded as it came, but compressed anew.
 */
export function isWholeGzipOf(wire: Uint8Array, inflatedLength: number): boolean {
  if (wire.byteLength < MIN_GZIP_BYTES) return false;
  const size = new DataView(wire.buffer, wire.byteOffset, wire.byteLength).getUint32(wire.byteLength - 4, true);
  return size === inflatedLength % 2 ** 32;
}
