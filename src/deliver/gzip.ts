import { gzipSync } from "node:zlib";

/** workerd's native zlib in one call: far less CPU than a CompressionStream's chunk-by-chunk promises. */
export function gzip(bytes: Uint8Array): Uint8Array {
  const compressed = gzipSync(bytes);
  return new Uint8Array(compressed.buffer, compressed.byteOffset, compressed.byteLength);
}
