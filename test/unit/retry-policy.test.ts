import { describe, expect, it } from "vitest";
import { type AttemptState, nextStep } from "../../src/deliver/next-step.js";
import type { DeliveryOutcome } from "../../src/deliver/outcome.js";
import { classifyStatus } from "../../src/deliver/outcome.js";
import { retryDelaySeconds } from "../../src/deliver/retry-policy.js";
import { type RetryPolicy, relayConfig } from "../../src/env.js";
import { parseRetryAfter } from "../../src/http/retry-after.js";

const policy: RetryPolicy = { baseDelaySeconds: 5, maxDelaySeconds: 1800, maxRetries: 20, maxServerErrorRetries: 3 };
const state: AttemptState = { attempts: 1, serverErrors: 0, spans: 3, mode: "stored_key", trusted: true, compressed: true };
const unavailable: DeliveryOutcome = { kind: "retryable", status: 503, reason: "Braintrust answered 503" };

describe("retry delays", () => {
  it("grow exponentially from the base, half fixed and half jitter", () => {
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(policy, n, undefined, () => 0))).toEqual([3, 5, 10, 20]);
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(policy, n, undefined, () => 1))).toEqual([5, 10, 20, 40]);
  });

  it("take the jitter from the random draw, rounded up to whole seconds", () => {
    expect(retryDelaySeconds(policy, 2, undefined, () => 0.5)).toBe(8);
    expect(retryDelaySeconds({ ...policy, baseDelaySeconds: 1 }, 1, undefined, () => 0)).toBe(1);
  });

  it("stop growing at the cap", () => {
    expect(retryDelaySeconds(policy, 30, undefined, () => 1)).toBe(1800);
    expect(retryDelaySeconds(policy, 30, undefined, () => 0)).toBe(900);
  });

  it("wait for a longer Retry-After, but never past the queue's 12 hours", () => {
    expect(retryDelaySeconds(policy, 1, 120, () => 0)).toBe(120);
    expect(retryDelaySeconds(policy, 6, 2, () => 0)).toBe(80);
    expect(retryDelaySeconds(policy, 1, 7 * 24 * 3600, () => 0)).toBe(43_200);
  });

  it("with the default vars, add up to the README's 3.1-6.2 hours (4.7 on average) before a dead letter, each past the tenth 15-30 min", () => {
    const defaults = relayConfig({} as Env).retry;
    const hours = (random: () => number) => {
      let seconds = 0;
      for (let retry = 1; retry <= defaults.maxRetries; retry++) seconds += retryDelaySeconds(defaults, retry, undefined, random);
      return seconds / 3600;
    };
    expect([hours(() => 0), hours(() => 0.5), hours(() => 1)].map((h) => h.toFixed(1))).toEqual(["3.1", "4.7", "6.2"]);
    expect([retryDelaySeconds(defaults, 11, undefined, () => 0), retryDelaySeconds(defaults, 11, undefined, () => 1)]).toEqual([900, 1800]);
  });
});

describe("Retry-After", () => {
  it("reads seconds and HTTP dates", () => {
    const now = Date.parse("2026-11-27T10:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7);
    expect(parseRetryAfter(" 120 ", now)).toBe(120);
    expect(parseRetryAfter("Fri, 27 Nov 2026 10:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("Fri, 27 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("rounds what is left until a date up to whole seconds, so a retry never comes early", () => {
    const now = Date.parse("2026-11-27T10:00:00.400Z");
    expect(parseRetryAfter("Fri, 27 Nov 2026 10:00:02 GMT", now)).toBe(2);
  });

  it("takes only whole digits as seconds: text around them is not a delay", () => {
    const now = Date.parse("2026-11-27T10:00:00Z");
    expect(parseRetryAfter("12x", now)).toBeUndefined();
    expect(parseRetryAfter("x12", now)).toBeUndefined();
  });

  it("reads no date into seconds with a fraction: 2400.5 is no year 2400, which would wait the queue's 12 hours", () => {
    const now = Date.parse("2026-11-27T10:00:00Z");
    for (const header of ["2400.5", "3600.0", "2100.1", "120.5", "1.5", "-5", "2026-11-27T10:01:30Z"]) {
      expect(parseRetryAfter(header, now), header).toBeUndefined();
    }
  });

  it("reads an HTTP date in each of the three forms a recipient must take (RFC 9110, section 5.6.7)", () => {
    const now = Date.parse("2026-11-27T10:00:00Z");
    expect(parseRetryAfter("Fri, 27 Nov 2026 10:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("Friday, 27-Nov-26 10:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("Fri Nov 27 10:01:30 2026", now)).toBe(90);
    // As servers write them, one-digit days and UTC too.
    expect(parseRetryAfter("Sat, 28 Nov 2026 10:00:00 UTC", now)).toBe(86_400);
    expect(parseRetryAfter("Tue, 1 Dec 2026 10:00:00 GMT", now)).toBe(4 * 86_400);
  });
});

describe("classifying Braintrust's answers", () => {
  it.each([
    [200, "delivered"],
    [202, "delivered"],
    [408, "retryable"],
    [429, "retryable"],
    [500, "retryable"],
    [502, "retryable"],
    [503, "retryable"],
    [504, "retryable"],
    [520, "retryable"],
    [522, "retryable"],
    [524, "retryable"],
    [525, "rejected"],
    [530, "retryable"],
    [400, "rejected"],
    [401, "rejected"],
    [403, "rejected"],
    [404, "rejected"],
    [413, "rejected"],
    [422, "rejected"],
    [501, "rejected"],
  ])("%i is %s", (status, kind) => {
    expect(classifyStatus(status, "").kind).toBe(kind);
  });

  it.each([
    [401, "credentials"],
    [403, "credentials"],
    [413, "too_large"],
    [400, "data"],
    [405, "data"],
    [422, "data"],
    [499, "data"],
    [404, "config"],
    [199, "config"],
    [300, "config"],
    [399, "config"],
    [501, "config"],
    [505, "config"],
  ])("blames a rejected %i on %s", (status, fault) => {
    expect(classifyStatus(status, "why")).toEqual({ kind: "rejected", status, fault, reason: "why" });
  });

  it("keeps Braintrust's Retry-After on a retryable answer only", () => {
    expect(classifyStatus(429, "busy", 30)).toEqual({ kind: "retryable", status: 429, reason: "busy", retryAfterSeconds: 30 });
    expect(classifyStatus(503, "down")).toStrictEqual({ kind: "retryable", status: 503, reason: "down" });
    expect(classifyStatus(200, "", 30)).toStrictEqual({ kind: "delivered", status: 200 });
    expect(classifyStatus(299, "")).toStrictEqual({ kind: "delivered", status: 299 });
  });
});

describe("what follows an attempt", () => {
  it("retries retryable failures until max_retries, then dead-letters", () => {
    expect(nextStep(unavailable, { ...state, attempts: 20 }, policy)).toMatchObject({ step: "retry" });
    expect(nextStep(unavailable, { ...state, attempts: 21 }, policy)).toEqual({
      step: "dead_letter",
      reason: "gave up after 21 attempts: Braintrust answered 503",
    });
  });

  it("counts 500s separately and gives up on them sooner", () => {
    const serverError: DeliveryOutcome = { kind: "retryable", status: 500, reason: "Braintrust answered 500" };
    expect(nextStep(serverError, { ...state, serverErrors: 2 }, policy)).toMatchObject({ step: "retry", serverErrors: 3 });
    expect(nextStep(serverError, { ...state, serverErrors: 3 }, policy)).toMatchObject({ step: "dead_letter" });
    expect(nextStep(unavailable, { ...state, serverErrors: 3 }, policy)).toMatchObject({ step: "retry", serverErrors: 3 });
  });

  it("splits on 413 while there is more than one span", () => {
    const tooLarge: DeliveryOutcome = { kind: "rejected", status: 413, fault: "too_large", reason: "413" };
    expect(nextStep(tooLarge, state, policy)).toEqual({ step: "split" });
    expect(nextStep(tooLarge, { ...state, compressed: false }, policy)).toEqual({ step: "split" });
    expect(nextStep(tooLarge, { ...state, spans: 1 }, policy)).toEqual({
      step: "dead_letter",
      reason: "a single span is over Braintrust's request limit: 413",
    });
  });

  it("sends a single span refused with 413 again compressed, at once, before giving up on it", () => {
    const tooLarge: DeliveryOutcome = { kind: "rejected", status: 413, fault: "too_large", reason: "413" };
    const uncompressed = { ...state, spans: 1, compressed: false };
    expect(nextStep(tooLarge, uncompressed, policy)).toEqual({ step: "retry", delaySeconds: 0, serverErrors: 0 });
    expect(nextStep(tooLarge, { ...uncompressed, serverErrors: 2 }, policy)).toEqual({ step: "retry", delaySeconds: 0, serverErrors: 2 });
    expect(nextStep(tooLarge, { ...uncompressed, compressed: true }, policy)).toMatchObject({ step: "dead_letter" });
  });

  it("refuses a passthrough client's key wherever Braintrust refuses it; keeps the spans of a refused stored key", () => {
    const refused: DeliveryOutcome = { kind: "rejected", status: 401, fault: "credentials", reason: "401" };
    expect(nextStep(refused, { ...state, mode: "passthrough" }, policy)).toEqual({ step: "refuse_client" });
    expect(nextStep(refused, { ...state, mode: "passthrough", trusted: false }, policy)).toEqual({ step: "refuse_client" });
    expect(nextStep(refused, state, policy)).toEqual({
      step: "dead_letter",
      reason: "Braintrust refused the tenant's stored API key: 401",
    });
  });

  it("keeps nothing for a key Braintrust has not accepted yet: what a retry could deliver goes back to the client, a 413 is halved or compressed, the rest is rejected", () => {
    const untrusted = { ...state, mode: "passthrough", trusted: false } as const;
    const limited: DeliveryOutcome = { kind: "retryable", status: 429, retryAfterSeconds: 60, reason: "Braintrust answered 429" };
    const invalid: DeliveryOutcome = { kind: "rejected", status: 400, fault: "data", reason: "Braintrust answered 400" };
    // Soon enough for an exporter to send again within its export timeout, whatever the queue's backoff; later only when Braintrust asks.
    const slowQueue = { ...policy, baseDelaySeconds: 60 };
    expect(nextStep(unavailable, untrusted, slowQueue)).toEqual({
      step: "hand_back",
      retryAfterSeconds: 2,
      reason: "Braintrust answered 503",
    });
    expect(nextStep({ ...limited, retryAfterSeconds: 0 }, untrusted, slowQueue)).toMatchObject({ retryAfterSeconds: 2 });
    expect(nextStep(limited, untrusted, policy)).toEqual({ step: "hand_back", retryAfterSeconds: 60, reason: "Braintrust answered 429" });
    expect(nextStep({ ...limited, retryAfterSeconds: 86_400 }, untrusted, policy)).toMatchObject({ retryAfterSeconds: 43_200 });
    expect(nextStep(invalid, untrusted, policy)).toEqual({ step: "reject", reason: "Braintrust answered 400" });
    const tooLarge: DeliveryOutcome = { kind: "rejected", status: 413, fault: "too_large", reason: "Braintrust answered 413" };
    // While the client waits, where a 413 may be answered at once (during-request.ts); rejected where not.
    const atOnce = { ...untrusted, resendAtOnce: true };
    expect(nextStep(tooLarge, { ...atOnce, spans: 2 }, policy)).toEqual({ step: "split" });
    expect(nextStep(tooLarge, { ...atOnce, spans: 1, compressed: false }, policy)).toEqual({
      step: "retry",
      delaySeconds: 0,
      serverErrors: 0,
    });
    expect(nextStep(tooLarge, { ...untrusted, spans: 2 }, policy)).toEqual({ step: "reject", reason: "Braintrust answered 413" });
    // Only a 413 is: spans refused, or a wrong URL, are rejected while the client waits too, never dead-lettered.
    const wrongUrl: DeliveryOutcome = { kind: "rejected", status: 404, fault: "config", reason: "Braintrust answered 404" };
    expect(nextStep(invalid, atOnce, policy)).toEqual({ step: "reject", reason: "Braintrust answered 400" });
    expect(nextStep(wrongUrl, atOnce, policy)).toEqual({ step: "reject", reason: "Braintrust answered 404" });
    expect(nextStep(tooLarge, { ...atOnce, spans: 1, compressed: true }, policy)).toEqual({
      step: "reject",
      reason: "Braintrust answered 413",
    });
    expect(nextStep({ kind: "delivered", status: 200 }, untrusted, policy)).toEqual({ step: "done" });
  });

  it("is done once delivered, whatever came before", () => {
    expect(nextStep({ kind: "delivered", status: 200 }, { ...state, attempts: 99, serverErrors: 9 }, policy)).toEqual({ step: "done" });
  });

  it("keeps spans Braintrust refused, or a wrong URL, as a dead letter with Braintrust's reason", () => {
    expect(nextStep({ kind: "rejected", status: 400, fault: "data", reason: "bad spans" }, state, policy)).toEqual({
      step: "dead_letter",
      reason: "bad spans",
    });
    expect(nextStep({ kind: "rejected", status: 404, fault: "config", reason: "no such route" }, state, policy)).toEqual({
      step: "dead_letter",
      reason: "no such route",
    });
  });

  it("dead-letters a single span still over Braintrust's limit, saying so", () => {
    const tooLarge: DeliveryOutcome = { kind: "rejected", status: 413, fault: "too_large", reason: "413 too large" };
    expect(nextStep(tooLarge, { ...state, spans: 2 }, policy)).toEqual({ step: "split" });
    expect(nextStep(tooLarge, { ...state, spans: 1 }, policy)).toEqual({
      step: "dead_letter",
      reason: "a single span is over Braintrust's request limit: 413 too large",
    });
  });

  it("says how many 500s it took when it gives up on them, counting Cloudflare's 520 (an origin's crash) among them", () => {
    const serverError: DeliveryOutcome = { kind: "retryable", status: 500, reason: "Braintrust answered 500" };
    expect(nextStep(serverError, { ...state, serverErrors: 3 }, policy)).toEqual({
      step: "dead_letter",
      reason: "Braintrust kept failing with 500 or 520 (4 times): Braintrust answered 500",
    });
    const crashed: DeliveryOutcome = { kind: "retryable", status: 520, reason: "Braintrust answered 520" };
    expect(nextStep(crashed, { ...state, serverErrors: 3 }, policy)).toMatchObject({ step: "dead_letter" });
    expect(nextStep(crashed, { ...state, serverErrors: 0 }, policy)).toMatchObject({ step: "retry", serverErrors: 1 });
    const away: DeliveryOutcome = { kind: "retryable", status: 522, reason: "Braintrust answered 522" };
    expect(nextStep(away, { ...state, serverErrors: 3 }, policy)).toMatchObject({ step: "retry", serverErrors: 3 });
    expect(nextStep(serverError, { ...state, serverErrors: 0 }, { ...policy, maxServerErrorRetries: 0 })).toMatchObject({
      step: "dead_letter",
    });
  });

  it("does not count timeouts and connection errors as 500s", () => {
    const timeout: DeliveryOutcome = { kind: "retryable", reason: "Braintrust did not answer within 5000 ms" };
    expect(nextStep(timeout, { ...state, serverErrors: 3 }, policy)).toMatchObject({ step: "retry", serverErrors: 3 });
  });

  it("waits the backoff of the retry's number, or Braintrust's Retry-After when that is longer", () => {
    // Retry 3 of base 5: 20 s, of which half is jitter.
    const third = nextStep(unavailable, { ...state, attempts: 3 }, policy);
    expect(third).toMatchObject({ step: "retry", serverErrors: 0 });
    expect(third.step === "retry" && third.delaySeconds >= 10 && third.delaySeconds <= 20).toBe(true);
    expect(nextStep({ ...unavailable, retryAfterSeconds: 600 }, { ...state, attempts: 3 }, policy)).toEqual({
      step: "retry",
      delaySeconds: 600,
      serverErrors: 0,
    });
  });
});
