import { describe, expect, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { requestOfSpans, WORST_SHAPES } from "../scripts/lib/worst-shapes.js";
import type { OtlpFormat } from "../src/otlp/format.js";
import { createTenant, sendTraces, type TestTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";

/** A tenant whose every attribute is removed, so what it sends is small and reaches Braintrust as soon as it is sent. */
function tenantSendingLittle() {
  return createTenant({ config: { redact: { keys: [{ pattern: "*" }] } } });
}

/**
 * Spans of 20,000 empty attributes each, the costliest bytes a request may hold: about 3 MiB of
 * JSON, 8 MiB of protobuf (cheaper by the byte), a second or more of CPU either way.
 */
function heavyRequest(format: OtlpFormat = "json"): Uint8Array {
  const heavy = requestOfSpans(
    WORST_SHAPES[format === "json" ? "tiny attributes, JSON" : "tiny attributes"]!,
    format === "json" ? 75 : 200,
  );
  expect(heavy.byteLength).toBeGreaterThan(3_000_000);
  return heavy;
}

/**
 * Sends the request as a stream, with `read`: when the relay has read the last of it, so has begun
 * to read its spans. The tests run in the relay's isolate, whose timers wait while it reads through.
 */
function sendStreamed(
  tenant: TestTenant,
  body: Uint8Array,
  format: OtlpFormat = "json",
): { answered: Promise<Response>; read: Promise<void> } {
  const { promise: read, resolve: readToTheEnd } = Promise.withResolvers<void>();
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent === body.byteLength) {
          controller.close();
          readToTheEnd();
          return;
        }
        controller.enqueue(body.slice(sent, sent + 65_536));
        sent = Math.min(body.byteLength, sent + 65_536);
      },
    },
    { highWaterMark: 0 },
  );
  return { answered: sendTraces(tenant, stream, { contentType: format === "json" ? "application/json" : "application/x-protobuf" }), read };
}

/**
 * Once the relay has read a costly request whole, and a little while after: into its spans, taking
 * turns or not, with most of them still to read.
 */
async function wellUnderWay(read: Promise<void>): Promise<void> {
  await read;
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("a costly request shares its isolate", () => {
  it.each(["json", "protobuf"] as const)(
    "lets another tenant's export through while it is read (%s), rather than holding it until it is done",
    async (format) => {
      const costly = await tenantSendingLittle();
      const other = await createTenant();

      const heavy = sendStreamed(costly, heavyRequest(format), format);
      await wellUnderWay(heavy.read);
      const otherAnswer = await sendTraces(other, toProtobuf(trueFoundryTrace()));
      expect(otherAnswer.status).toBe(200);
      expect((await heavy.answered).status).toBe(200);

      const [otherAttempt] = await standin.attempts(other.apiKey);
      const costlyAttempts = await standin.attempts(costly.apiKey);
      expect(otherAttempt?.status).toBe(200);
      expect(costlyAttempts.map((a) => a.status)).toEqual([200]);
      // Braintrust heard from the other tenant before the costly request had been read to its end (its
      // small request sent the moment it was): read through at once, it would have held the other back.
      expect(otherAttempt!.arrivedAt).toBeLessThan(costlyAttempts[0]!.arrivedAt);
    },
  );

  it("reads a second costly request through while the first is paused part way, so that no two are held half done", async () => {
    const first = await tenantSendingLittle();
    const second = await tenantSendingLittle();

    const firstSent = sendStreamed(first, heavyRequest());
    await wellUnderWay(firstSent.read);
    // Sent whole, so that it is read at once rather than a piece a turn.
    const secondAnswered = sendTraces(second, heavyRequest(), { contentType: "application/json" });
    expect((await firstSent.answered).status).toBe(200);
    expect((await secondAnswered).status).toBe(200);

    const [firstAttempt] = await standin.attempts(first.apiKey);
    const [secondAttempt] = await standin.attempts(second.apiKey);
    // Taking turns, the first, with less left to read, would have been done first.
    expect(secondAttempt!.arrivedAt).toBeLessThan(firstAttempt!.arrivedAt);
  });
});
