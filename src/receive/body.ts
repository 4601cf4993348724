import { gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import { concat } from "../encoding/bytes.js";
import { RelayError } from "../http/errors.js";
import type { ContentCoding, RequestBody } from "../otlp/format.js";

export interface BodyLimits {
  /** Bytes on the wire, as sent. */
  maxRequestBytes: number;
  /** Bytes after decompression. */
  maxDecompressedBytes: number;
  /** Whom the limits are for, when not everyone: named in the 413, so the client knows why. */
  appliesTo?: string;
}

/**
 * The body limit, on the wire and decompressed, for requests with a passthrough key Braintrust has
 * not yet accepted: the relay's work on a stranger's request grows with the decompressed bytes, so
 * this bounds it (README, Security).
 */
export const UNTRUSTED_MAX_BODY_BYTES = 1024 * 1024;

export function untrustedBodyLimits(limits: BodyLimits): BodyLimits {
  return {
    maxRequestBytes: Math.min(limits.maxRequestBytes, UNTRUSTED_MAX_BODY_BYTES),
    maxDecompressedBytes: Math.min(limits.maxDecompressedBytes, UNTRUSTED_MAX_BODY_BYTES),
    appliesTo: "an API key Braintrust has not yet accepted",
  };
}

/**
 * Larger limits a body over the first ones may be read under, once `ask` says so (for a passthrough
 * key, once Braintrust has answered that it takes it). Asked at most once, and never for a body
 * known to be over these too.
 */
interface LargerLimits {
  limits: BodyLimits;
  ask: () => Promise<boolean>;
}

/** The limits a body is read under: the first ones, then the larger ones once they are granted. */
class RaisableLimits {
  private asked = false;

  constructor(
    public current: BodyLimits,
    private readonly larger?: LargerLimits,
  ) {}

  /**
   * Over the limit `pick` reads, at `size` bytes when known: the larger limits, once granted, else
   * the refusal. A size over the larger limits too is refused by them, without asking.
   */
  async beyond(what: string, pick: (limits: BodyLimits) => number, size?: number): Promise<BodyLimits> {
    const larger = this.larger;
    if (larger && size !== undefined && size > pick(larger.limits)) throw tooLarge(what, pick(larger.limits), larger.limits);
    const granted = larger !== undefined && !this.asked && (await larger.ask());
    this.asked = true;
    if (!granted) throw tooLarge(what, pick(this.current), this.current);
    this.current = larger.limits;
    return larger.limits;
  }
}

const wireLimit = (limits: BodyLimits) => limits.maxRequestBytes;
const decompressedLimit = (limits: BodyLimits) => limits.maxDecompressedBytes;

/**
 * Reads and decompresses a request body without ever holding more than the limits allow: the
 * read stops at the first byte past a limit, so a gzip bomb costs no more than the limit. `larger`:
 * asked for once, when the body is over `limits` (see LargerLimits); a body declared larger is not
 * read before the answer.
 */
export async function readBody(request: Request, coding: ContentCoding, limits: BodyLimits, larger?: LargerLimits): Promise<RequestBody> {
  const raisable = new RaisableLimits(limits, larger);
  const declared = request.headers.get("content-length");
  const declaredLength = declared === null ? undefined : Number(declared);
  if (declaredLength !== undefined && declaredLength > raisable.current.maxRequestBytes)
    await raisable.beyond("request body", wireLimit, declaredLength);
  const wire = await readWire(request, declaredLength, raisable);
  // No bytes are no spans, whatever coding a client names on every request (an empty gzip stream is
  // no gzip data): the empty request's 200, not a 400.
  if (coding === "identity" || wire.byteLength === 0) return { wire, coding: "identity", bytes: wire };
  const inflated = await decompressWithin(wire, coding, raisable);
  // A client and a proxy both compressing name one coding: said so, where the reader would say none was named.
  if (isGzipped(inflated.bytes))
    throw new RelayError(
      "malformed",
      `request body is compressed twice: decompressed as its Content-Encoding ${coding} says, it is gzip still`,
    );
  return { wire, coding, ...inflated };
}

/** Whether bytes open as gzip does (RFC 1952's ID1 and ID2): no OTLP body does (in protobuf 0x1f is field 3 of wire type 7, which does not exist). */
export function isGzipped(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function tooLarge(what: string, limit: number, { appliesTo }: BodyLimits): RelayError {
  return new RelayError("too_large", `${what} is larger than the limit of ${limit} bytes${appliesTo ? ` for ${appliesTo}` : ""}`);
}

/**
 * A body with a declared length, already checked against the limit, is framed by that length, so
 * workerd reads it in one native call; chunk by chunk through a stream reader costs several times
 * the CPU. A body without one is read chunk by chunk and stopped at the first byte past the limit.
 */
async function readWire(request: Request, declaredLength: number | undefined, limits: RaisableLimits): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  if (declaredLength === undefined || !Number.isSafeInteger(declaredLength)) return readLimited(request.body, limits);
  const wire = new Uint8Array(await untilEndedEarly(request.arrayBuffer()));
  // Checked again once read: the limit holds whatever framed the body.
  if (wire.byteLength > limits.current.maxRequestBytes) throw tooLarge("request body", limits.current.maxRequestBytes, limits.current);
  // Bytes short of the declared length are a body cut off: a protobuf body cut between two fields
  // decodes as a smaller request, whose client would hear 200 for spans that never came.
  if (wire.byteLength < declaredLength)
    throw endedEarly(`after ${wire.byteLength} of the ${declaredLength} bytes its Content-Length declares`);
  return wire;
}

/**
 * A body whose upload failed midway (the client's connection reset, a proxy cutting it off) is the
 * client's failure, not the relay's: a 400, not a 500 and a log line filed as a relay bug. The
 * runtime's reason goes with it, so a failure of the relay's own (a body read twice) still says so.
 */
async function untilEndedEarly<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    throw endedEarly(`before it was read whole: the upload failed (${err instanceof Error ? err.message : String(err)})`);
  }
}

function endedEarly(when: string): RelayError {
  return new RelayError("malformed", `request body ended ${when}`);
}

async function readLimited(stream: ReadableStream<Uint8Array>, limits: RaisableLimits): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await untilEndedEarly(reader.read());
    if (done) break;
    total += value.byteLength;
    if (total > limits.current.maxRequestBytes) {
      // Raised, the read goes on where it stopped; refused, the rest is never read.
      await limits.beyond("request body", wireLimit, total).catch(async (refusal: unknown) => {
        await reader.cancel().catch(() => undefined);
        throw refusal;
      });
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concat(chunks);
}

type Inflated = Required<Pick<RequestBody, "bytes" | "inflatedFrom">>;

/** What zlib's synchronous calls answer when asked for `info`. */
interface InflatedWithInfo {
  buffer: Uint8Array;
  engine: { bytesWritten: number };
}

/** The smallest output chunk zlib takes. */
const MIN_CHUNK_BYTES = 64;
/** Deflate's densest coding: 258 bytes per 2 bits, about 1032 bytes out per byte in. */
const MAX_DEFLATE_RATIO = 1032;
/** The most one chunk asks for up front, whatever a body's trailer claims: more comes chunk by chunk. */
const MAX_CHUNK_BYTES = 1024 * 1024;

/**
 * The size of zlib's output chunks. zlib writes into chunks of 16 KiB and joins them at the end: a
 * 100 KB gateway batch costs seven allocations and a copy, about half the CPU of its decompression.
 * A gzip body's trailer says its decompressed size (RFC 1952's ISIZE, mod 2^32), so one chunk a byte
 * larger takes it whole. The trailer is the client's word: the chunk is held to what the wire could
 * inflate to and to a MiB, so a small body claiming a huge size costs no more memory than one that is
 * that size. A chunk too small for a body (several members, a false trailer) only means more chunks.
 * Deflate says no size: zlib's own chunk.
 */
function outputChunkBytes(wire: Uint8Array, coding: ContentCoding, maxBytes: number): number | undefined {
  if (coding !== "gzip" || wire.byteLength < 4) return undefined;
  const claimed = new DataView(wire.buffer, wire.byteOffset, wire.byteLength).getUint32(wire.byteLength - 4, true);
  const bound = Math.min(claimed + 1, maxBytes + 1, wire.byteLength * MAX_DEFLATE_RATIO, MAX_CHUNK_BYTES);
  return Math.max(MIN_CHUNK_BYTES, bound);
}

/** HTTP's `deflate` is zlib-wrapped (RFC 9110 §8.4.1.2), but some clients send raw deflate. */
function isZlibWrapped(bytes: Uint8Array): boolean {
  const [cmf = 0, flg = 0] = bytes;
  return (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
}

/** The body decompressed within the limit, raised once if it is over it (see RaisableLimits). */
async function decompressWithin(wire: Uint8Array, coding: Exclude<ContentCoding, "identity">, limits: RaisableLimits): Promise<Inflated> {
  const inflated = decompress(wire, coding, limits.current.maxDecompressedBytes);
  if (inflated) return inflated;
  const raised = await limits.beyond("decompressed request body", decompressedLimit);
  const whole = decompress(wire, coding, raised.maxDecompressedBytes);
  if (!whole) throw tooLarge("decompressed request body", raised.maxDecompressedBytes, raised);
  return whole;
}

/**
 * workerd's native zlib in one synchronous call: about half the CPU of a DecompressionStream on its
 * own, and far less under load, where the stream's per-chunk promises interleave with other
 * requests. `maxOutputLength` stops at the limit: undefined when the body is over it.
 */
function decompress(wire: Uint8Array, coding: Exclude<ContentCoding, "identity">, maxBytes: number): Inflated | undefined {
  const inflate = coding === "gzip" ? gunzipSync : isZlibWrapped(wire) ? inflateSync : inflateRawSync;
  try {
    // With `info`, zlib answers with its engine too, which counts the bytes it read.
    const options = { maxOutputLength: maxBytes, info: true, chunkSize: outputChunkBytes(wire, coding, maxBytes) };
    const { buffer, engine } = inflate(wire, options) as unknown as InflatedWithInfo;
    return { bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), inflatedFrom: engine.bytesWritten };
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw new RelayError("malformed", `request body is not valid ${coding} data`);
  }
}
