/** Hand-made protobuf wire bytes, for requests no well-behaved encoder would produce. */

export function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return bytes;
}

/** A length-delimited field, in one buffer: for payloads of megabytes, which a list of numbers would hold eight times over. */
export function lengthDelimitedBytes(field: number, payload: Uint8Array): Uint8Array {
  const prefix = [...varint((field << 3) | 2), ...varint(payload.byteLength)];
  const out = new Uint8Array(prefix.length + payload.byteLength);
  out.set(prefix);
  out.set(payload, prefix.length);
  return out;
}

/** `bytes` written `times` times over (rounded down), in one buffer. */
export function repeatedBytes(bytes: number[], times: number): Uint8Array {
  const out = new Uint8Array(Math.floor(times) * bytes.length);
  for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length]!;
  return out;
}
