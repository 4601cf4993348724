import { describe, expect, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { recordingQueue } from "./support/bindings.js";
import { deadLettersOf, waitForDeadLetters } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import { consume } from "./support/queue.js";
import { admin, createTenant, sendTraces, sendTracesWith } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, requestOf, spanIdsOf, spanWith } from "./support/traces.js";

describe.concurrent("retries through the delivery queue", () => {
  it("503 three times, then 200: the client hears 200 at once and every span arrives once", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ status: 503 }, { status: 503 }, { status: 503 }]);

    const response = await sendTraces(tenant, toProtobuf(trace));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([503, 503, 503, 200]);
  });

  it("429 with Retry-After: 2 is queued to be tried again two seconds later, and then arrives once", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ status: 429, headers: { "retry-after": "2" } }]);
    const queue = recordingQueue<DeliveryMessage>();

    expect((await sendTracesWith(tenant, toProtobuf(trace), { DELIVERY_QUEUE: queue })).status).toBe(200);
    expect(queue.sent.map((m) => [m.body.attempts, m.delaySeconds])).toEqual([[1, 2]]);
    expect(await consume("tfy-relay-deliveries", [queue.sent[0]!.body])).toEqual({
      acked: [queue.sent[0]!.body.id],
      retried: [],
      threw: undefined,
    });

    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([429, 200]);
  });

  it("an upstream that hangs past the timeout is tried again later", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    // Answered long after the timeout, however late a loaded machine runs the relay's timer, and with
    // a failure: the spans that arrive are the retry's, not the abandoned attempt's.
    await standin.script(tenant.apiKey, [{ delayMs: 10_000, status: 503 }]);
    const { result: response, events } = await loggedWhile(() =>
      sendTracesWith(tenant, toProtobuf(trace), { UPSTREAM_TIMEOUT_MS: "1000" }),
    );

    expect(response.status).toBe(200);
    const attempt = events.find((entry) => entry.tenant === tenant.id);
    expect(attempt).toMatchObject({ event: "delivery_attempt", outcome: "retryable", next: "retry", upstream_status: null });
    expect(attempt?.reason).toBe("Braintrust did not answer within 1000 ms");

    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
  });

  it("an upstream that is down (connection refused) gets the spans once it is back", async () => {
    const port = await standin.openListener();
    await standin.closeListener(port);
    const tenant = await createTenant({ apiUrl: `http://127.0.0.1:${port}` });
    const trace = trueFoundryTrace();

    const response = await sendTraces(tenant, toProtobuf(trace));
    await standin.openListener(port);

    try {
      expect(response.status).toBe(200);
      const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
      expect(arrival.missing).toEqual([]);
      expect(arrival.duplicates).toBe(0);
    } finally {
      await standin.closeListener(port);
    }
  });

  it("a connection Braintrust drops mid-request is retried", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ reset: true }]);

    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);

    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    // The dropped attempt (the stand-in records it as status 0), then the retry.
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([0, 200]);
  });

  it("spans Braintrust stored before the connection dropped, unanswered, are sent again: none is lost, each arrives twice (at least once)", async ({
    expect,
  }) => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ dropAnswer: true }]);

    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);

    // Told apart from a request that never arrived by nothing the relay sees, so it is retried as one:
    // the README's "an attempt that timed out after Braintrust had stored its spans is retried".
    const ids = spanIdsOf(trace);
    await expect
      .poll(async () => (await standin.attempts(tenant.apiKey)).map((a) => a.status), { timeout: 30_000, interval: 200 })
      .toEqual([0, 200]);
    const arrival = await standin.waitForSpans(tenant.apiKey, ids);
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(ids.length);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("Braintrust's 500 is retried a bounded number of times (3), then dead-lettered", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);

    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);

    const deadLetters = await waitForDeadLetters(tenant.id, (list) => list.length > 0);
    expect(deadLetters).toEqual([
      expect.objectContaining({
        attempts: 4,
        spans: 3,
        reason: expect.stringMatching(/^Braintrust kept failing with 500 or 520 \(4 times\)/),
      }),
    ]);
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([500, 500, 500, 500]);
    expect(await standin.received(tenant.apiKey)).toEqual([]);
  });

  it("a single span Braintrust answers 413 uncompressed is sent again from the queue, compressed, not dead-lettered", async () => {
    const tenant = await createTenant();
    const request = requestOf([spanWith("one span", [])]);
    await standin.script(tenant.apiKey, [{ status: 413 }]);

    const response = await sendTraces(tenant, toProtobuf(request));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(request));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect((await standin.attempts(tenant.apiKey)).map((a) => [a.status, a.contentEncoding])).toEqual([
      [413, ""],
      [200, "gzip"],
    ]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("a stored key rotated while a retry is pending is the key the retry uses", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ status: 503, headers: { "retry-after": "3" } }]);
    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);

    const rotated = await standin.issueKey();
    await standin.revokeKey(tenant.apiKey);
    await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: standin.url, api_key: rotated } });

    const arrival = await standin.waitForSpans(rotated, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(await standin.received(tenant.apiKey)).toEqual([]);
  });

  it("a passthrough client's key travels with the queued spans and is used for the retry", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const trace = trueFoundryTrace();
    // Only a key Braintrust has accepted has its spans queued (passthrough-trust.test.ts).
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    await standin.script(tenant.apiKey, [{ status: 502 }]);

    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);

    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
  });
});

// The worker project's backoff starts at 1 s (RETRY_BASE_DELAY_SECONDS), so a retry scheduled
// for Braintrust's Retry-After is told apart from the backoff by its delay, not by a clock.
describe.concurrent("Braintrust's Retry-After, longer than the backoff", () => {
  it("is the delay the first attempt's retry is queued with", async () => {
    const tenant = await createTenant();
    const queue = recordingQueue<DeliveryMessage>();
    await standin.script(tenant.apiKey, [{ status: 429, headers: { "retry-after": "30" } }]);

    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { DELIVERY_QUEUE: queue })).status).toBe(200);

    expect(queue.sent.map((m) => [m.body.attempts, m.delaySeconds])).toEqual([[1, 30]]);
  });

  it("is the delay a queued attempt's retry is queued with", async () => {
    const tenant = await createTenant();
    const queue = recordingQueue<DeliveryMessage>();
    await standin.script(tenant.apiKey, [{ status: 503 }, { status: 503, headers: { "retry-after": "45" } }]);
    await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { DELIVERY_QUEUE: queue });
    const [first] = queue.sent.splice(0);
    expect(first!.delaySeconds).toBeLessThanOrEqual(1);

    const consumed = await consume("tfy-relay-deliveries", [first!.body], { DELIVERY_QUEUE: queue });

    expect(consumed.acked).toEqual([first!.body.id]);
    expect(queue.sent.map((m) => [m.body.attempts, m.delaySeconds])).toEqual([[2, 45]]);
  });
});
