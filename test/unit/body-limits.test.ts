import { deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { concat } from "../../src/encoding/bytes.js";
import { RelayError } from "../../src/http/errors.js";
import type { ContentCoding } from "../../src/otlp/format.js";
import { readBody, UNTRUSTED_MAX_BODY_BYTES, untrustedBodyLimits } from "../../src/receive/body.js";

const LIMITS = { maxRequestBytes: 100, maxDecompressedBytes: 1_000 };
/** For compressed bodies: room on the wire, the decompressed limit as above. */
const COMPRESSED_LIMITS = { maxRequestBytes: 10_000, maxDecompressedBytes: 1_000 };

/** Bytes 0, 1, 2… of this length, so a reordered or dropped chunk shows. */
function counting(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => i % 251);
}

/** A request whose body has a declared length (`content-length`), as most clients send it. */
function declared(body: Uint8Array, contentLength = String(body.byteLength)): Request {
  return new Request("https://relay.test/", { method: "POST", body, headers: { "content-length": contentLength } });
}

/** A request whose body arrives in these chunks without a declared length; `read` counts what the relay pulled. */
function streamed(
  chunks: Uint8Array[],
  headers: Record<string, string> = {},
): { request: Request; read: () => number; cancelled: () => boolean } {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[pulled++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return {
    request: new Request("https://relay.test/", { method: "POST", body, headers, duplex: "half" } as RequestInit),
    read: () => pulled,
    cancelled: () => cancelled,
  };
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RelayError)) throw new Error(`expected a RelayError, got ${String(err)}`);
  return { status: err.status, message: err.message };
}

const overWire = { status: 413, message: "request body is larger than the limit of 100 bytes" };
const overDecompressed = { status: 413, message: "decompressed request body is larger than the limit of 1000 bytes" };

describe("the wire limit, with a declared length", () => {
  it("takes a body of exactly the limit, as it came", async () => {
    const body = counting(100);

    const read = await readBody(declared(body), "identity", LIMITS);

    expect(read.wire).toEqual(body);
    expect(read.bytes).toBe(read.wire);
    expect(read.coding).toBe("identity");
  });

  it("refuses a declared length one byte over without reading the body", async () => {
    const { request, read } = streamed([counting(51), counting(50)], { "content-length": "101" });

    expect(await refusal(readBody(request, "identity", LIMITS))).toEqual(overWire);
    // At most the first chunk, which the stream queues on its own.
    expect(read()).toBeLessThan(2);
  });

  it("refuses a body longer than its declared length once read past the limit", async () => {
    expect(await refusal(readBody(declared(counting(101), "10"), "identity", LIMITS))).toEqual(overWire);
  });

  it("reads a body without one as an empty body", async () => {
    const read = await readBody(new Request("https://relay.test/", { method: "POST" }), "identity", LIMITS);

    expect(read.wire).toEqual(new Uint8Array());
  });
});

describe("the wire limit, without a declared length", () => {
  it("joins the chunks in order up to exactly the limit", async () => {
    const body = counting(100);

    const read = await readBody(streamed([body.slice(0, 30), body.slice(30, 31), body.slice(31)]).request, "identity", LIMITS);

    expect(read.wire).toEqual(body);
  });

  it("stops at the chunk that crosses the limit by one byte, and lets go of the rest", async () => {
    const { request, read, cancelled } = streamed([counting(60), counting(41), counting(50), counting(50)]);

    expect(await refusal(readBody(request, "identity", LIMITS))).toEqual(overWire);
    // The two chunks read, and at most one the stream queued ahead; never the last.
    expect(read()).toBeLessThanOrEqual(3);
    expect(cancelled()).toBe(true);
  });

  it("reads a length that is not a number as no length at all", async () => {
    const { request } = streamed([counting(60), counting(41)], { "content-length": "sixty" });

    expect(await refusal(readBody(request, "identity", LIMITS))).toEqual(overWire);
  });
});

describe("the decompressed limit", () => {
  const encoders: Record<Exclude<ContentCoding, "identity">, Array<[string, (bytes: Uint8Array) => Uint8Array]>> = {
    gzip: [["gzip", gzipSync]],
    deflate: [
      ["zlib-wrapped deflate", deflateSync],
      ["raw deflate", deflateRawSync],
    ],
  };
  const cases = Object.entries(encoders).flatMap(([coding, list]) =>
    list.map(([name, encode]) => [name, coding as Exclude<ContentCoding, "identity">, encode] as const),
  );

  it.each(cases)("decompresses %s up to exactly the limit", async (_name, coding, encode) => {
    const body = counting(1_000);
    const wire = new Uint8Array(encode(body));

    const read = await readBody(declared(wire), coding, COMPRESSED_LIMITS);

    expect(read.bytes).toEqual(body);
    expect(read.wire).toEqual(wire);
    expect(read.coding).toBe(coding);
  });

  it.each(cases)("refuses %s one byte past the limit", async (_name, coding, encode) => {
    expect(await refusal(readBody(declared(encode(counting(1_001))), coding, COMPRESSED_LIMITS))).toEqual(overDecompressed);
  });

  it("refuses a gzip bomb at the limit, however far it would inflate", async () => {
    expect(await refusal(readBody(declared(gzipSync(new Uint8Array(10_000_000))), "gzip", COMPRESSED_LIMITS))).toEqual(overDecompressed);
  });

  it("decompresses gzip of several members whole, though the trailer gives only the last one's size", async () => {
    const [first, last] = [counting(900), counting(100)];
    const wire = concat([gzipSync(first), gzipSync(last)]);

    expect((await readBody(declared(wire), "gzip", COMPRESSED_LIMITS)).bytes).toEqual(concat([first, last]));
  });

  it("refuses gzip whose trailer claims a size other than its own, larger or smaller", async () => {
    const withClaimedSize = (size: number) => {
      const wire = new Uint8Array(gzipSync(counting(1_000)));
      new DataView(wire.buffer).setUint32(wire.byteLength - 4, size, true);
      return wire;
    };

    for (const size of [0, 999, 1_001, 2 ** 32 - 1]) {
      expect(await refusal(readBody(declared(withClaimedSize(size)), "gzip", COMPRESSED_LIMITS))).toEqual({
        status: 400,
        message: "request body is not valid gzip data",
      });
    }
  });

  it("tells raw deflate from zlib by the method and the header checksum together", async () => {
    // Raw deflate whose first two bytes pass the zlib checksum, though not its method nibble.
    const checksumAlike = new Uint8Array(deflateRawSync(new Uint8Array([0, 104, 0x7b, 0x7d])));
    expect([((checksumAlike[0]! << 8) | checksumAlike[1]!) % 31, checksumAlike[0]! & 0x0f]).toEqual([0, 3]);
    // Raw deflate (a stored block holding "A", then an empty last one) whose method nibble is zlib's, though not its checksum.
    const methodAlike = new Uint8Array([0x08, 0x01, 0x00, 0xfe, 0xff, 0x41, 0x01, 0x00, 0x00, 0xff, 0xff]);

    expect((await readBody(declared(checksumAlike), "deflate", COMPRESSED_LIMITS)).bytes).toEqual(new Uint8Array([0, 104, 0x7b, 0x7d]));
    expect((await readBody(declared(methodAlike), "deflate", COMPRESSED_LIMITS)).bytes).toEqual(new Uint8Array([0x41]));
  });

  it("refuses bytes that are not the coding they claim with 400", async () => {
    expect(await refusal(readBody(declared(counting(50)), "gzip", LIMITS))).toEqual({
      status: 400,
      message: "request body is not valid gzip data",
    });
    expect(await refusal(readBody(declared(gzipSync(counting(50))), "deflate", LIMITS))).toEqual({
      status: 400,
      message: "request body is not valid deflate data",
    });
  });
});

describe("the body limits of a passthrough key Braintrust has not yet accepted", () => {
  const MiB = 1024 * 1024;

  it("are 1 MiB on the wire and decompressed, or the relay's own limits where those are smaller", () => {
    expect(UNTRUSTED_MAX_BODY_BYTES).toBe(1_048_576);
    expect(untrustedBodyLimits({ maxRequestBytes: 16 * MiB, maxDecompressedBytes: 16 * MiB })).toMatchObject({
      maxRequestBytes: MiB,
      maxDecompressedBytes: MiB,
    });
    expect(untrustedBodyLimits({ maxRequestBytes: 1_000, maxDecompressedBytes: 2_000 })).toMatchObject({
      maxRequestBytes: 1_000,
      maxDecompressedBytes: 2_000,
    });
  });

  it("are named in the 413, so a client knows the limit is about its key", async () => {
    const limits = untrustedBodyLimits({ maxRequestBytes: 16 * MiB, maxDecompressedBytes: 16 * MiB });
    const err = await readBody(declared(counting(MiB + 1)), "identity", limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).message).toBe(
      "request body is larger than the limit of 1048576 bytes for an API key Braintrust has not yet accepted",
    );
    expect((await readBody(declared(counting(MiB)), "identity", limits)).bytes.byteLength).toBe(MiB);
  });
});

describe("larger limits, asked for once when the body is over the first ones", () => {
  const RAISED = { maxRequestBytes: 10_000, maxDecompressedBytes: 10_000 };
  /** Larger limits whose `ask` answers `grants`, counting its calls. */
  const larger = (grants: boolean) => {
    const calls: number[] = [];
    return {
      calls,
      larger: {
        limits: RAISED,
        ask: async () => {
          calls.push(calls.length);
          return grants;
        },
      },
    };
  };

  it("asks before reading a body declared larger, then reads it whole", async () => {
    const body = counting(5_000);
    const { calls, larger: raise } = larger(true);
    expect((await readBody(declared(body), "identity", LIMITS, raise)).bytes).toEqual(body);
    expect(calls).toHaveLength(1);
  });

  it("reads on where it stopped, without a declared length", async () => {
    const body = counting(300);
    const stream = streamed([body.slice(0, 80), body.slice(80, 160), body.slice(160)]);
    const { calls, larger: raise } = larger(true);
    expect((await readBody(stream.request, "identity", LIMITS, raise)).bytes).toEqual(body);
    expect(calls).toHaveLength(1);
  });

  it("decompresses again under the larger limit", async () => {
    const body = counting(5_000);
    const { calls, larger: raise } = larger(true);
    expect((await readBody(declared(gzipSync(body)), "gzip", COMPRESSED_LIMITS, raise)).bytes).toEqual(body);
    expect(calls).toHaveLength(1);
  });

  it("keeps the refusal when they are not granted, and asks once", async () => {
    const declaredOver = larger(false);
    expect(await refusal(readBody(declared(counting(101)), "identity", LIMITS, declaredOver.larger))).toEqual(overWire);
    const stream = streamed([counting(60), counting(41), counting(50), counting(50)]);
    const streamedOver = larger(false);
    expect(await refusal(readBody(stream.request, "identity", LIMITS, streamedOver.larger))).toEqual(overWire);
    expect(stream.read()).toBeLessThanOrEqual(3);
    expect(stream.cancelled()).toBe(true);
    expect([declaredOver.calls.length, streamedOver.calls.length]).toEqual([1, 1]);
  });

  it("refuses a body over the larger limits too by them, without asking when its size says so", async () => {
    const overLarger = { status: 413, message: "request body is larger than the limit of 10000 bytes" };
    const declaredOver = larger(true);
    expect(await refusal(readBody(declared(counting(10_001)), "identity", LIMITS, declaredOver.larger))).toEqual(overLarger);
    const streamedOver = larger(true);
    expect(await refusal(readBody(streamed([counting(10_001)]).request, "identity", LIMITS, streamedOver.larger))).toEqual(overLarger);
    expect([declaredOver.calls.length, streamedOver.calls.length]).toEqual([0, 0]);
    // Decompressed, the size is known only by inflating: asked, then refused by the larger limit.
    const bomb = larger(true);
    expect(await refusal(readBody(declared(gzipSync(new Uint8Array(20_000))), "gzip", COMPRESSED_LIMITS, bomb.larger))).toEqual({
      status: 413,
      message: "decompressed request body is larger than the limit of 10000 bytes",
    });
    expect(bomb.calls).toHaveLength(1);
  });
});
