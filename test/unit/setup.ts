import { timingSafeEqual } from "node:crypto";

const bytesOf = (data: ArrayBuffer | ArrayBufferView): Uint8Array =>
  ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

// workerd's crypto.subtle has a timingSafeEqual of its own (a Cloudflare extension) that
// src/secrets/compare.ts relies on; Node's has not, so the unit project lends it node:crypto's.
Object.defineProperty(crypto.subtle, "timingSafeEqual", {
  value: (a: ArrayBuffer | ArrayBufferView, b: ArrayBuffer | ArrayBufferView): boolean => timingSafeEqual(bytesOf(a), bytesOf(b)),
});
