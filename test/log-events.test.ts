import { afterEach, describe, expect, it, vi } from "vitest";
import { errorText, logEvent } from "../src/log/events.js";

afterEach(() => vi.restoreAllMocks());

function captured(level: "log" | "error"): string[] {
  const lines: string[] = [];
  vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line)));
  return lines;
}

const KEY = "sk-live0123456789abcdefghij";
const TOKEN = `tbr_0123456789abcdef_${"A".repeat(43)}`;

function loggedReason(reason: string): string {
  const lines = captured("log");
  logEvent({ event: "dead_letter", tenant: "acme", parent: "project_name:p", delivery_id: "d-1", spans: 1, attempts: 1, reason });
  return JSON.parse(lines[0]!).reason;
}

describe("the event log", () => {
  it("writes one JSON line with the event's fields as given", () => {
    const lines = captured("log");
    logEvent({ event: "duplicate_delivery_skipped", tenant: "acme", delivery_id: "d-1", spans: 3, why: "its spans were delivered" });
    expect(lines).toEqual([
      '{"event":"duplicate_delivery_skipped","tenant":"acme","delivery_id":"d-1","spans":3,"why":"its spans were delivered"}',
    ]);
  });

  it("writes failures of the relay itself to the error stream", () => {
    const errors = captured("error");
    const logs = captured("log");
    logEvent({ event: "durable_store_failed", tenant: "acme", delivery_id: "d-1", error: "queue unavailable" });
    expect(errors).toEqual(['{"event":"durable_store_failed","tenant":"acme","delivery_id":"d-1","error":"queue unavailable"}']);
    expect(logs).toEqual([]);
  });

  it("scrubs credentials from text the relay did not write itself", () => {
    const reason = loggedReason(
      `Braintrust answered 400: echoed Authorization: Bearer ${KEY.slice(3)} and key ${KEY} and ${TOKEN}, key_${KEY}`,
    );
    expect(reason).toBe(
      "Braintrust answered 400: echoed Authorization: Bearer [redacted] and key [redacted] and [redacted], key_[redacted]",
    );
  });

  it("scrubs credentials from an exception's text in an error line", () => {
    const errors = captured("error");
    logEvent({ event: "unhandled_error", error: `TypeError: fetch failed for key ${KEY} with Bearer ${TOKEN}` });
    expect(JSON.parse(errors[0]!).error).toBe("TypeError: fetch failed for key [redacted] with Bearer [redacted]");
  });

  it("scrubs a bearer credential of 16 characters, the shortest it takes for one", () => {
    expect(loggedReason(`Authorization: Bearer ${"a".repeat(16)}`)).toBe("Authorization: Bearer [redacted]");
    expect(loggedReason(`Authorization: Bearer ${"a".repeat(15)}`)).toBe(`Authorization: Bearer ${"a".repeat(15)}`);
  });

  it("leaves prose, ids and JSON around a credential alone", () => {
    expect(loggedReason("missing bearer token; Bearer realm")).toBe("missing bearer token; Bearer realm");
    expect(loggedReason('{"authorization":"Bearer abcdefghijklmnopqrstu","next":1}')).toBe(
      '{"authorization":"Bearer [redacted]","next":1}',
    );
    expect(loggedReason("project sk-learn-evals is archived")).toBe("project sk-learn-evals is archived");
  });

  it("scrubs only free text: a parent or tenant that looks like a key is logged as it is", () => {
    const lines = captured("log");
    logEvent({
      event: "dead_letter",
      tenant: "acme",
      parent: `project_name:${KEY}`,
      delivery_id: "d-1",
      spans: 1,
      attempts: 1,
      reason: "r",
    });
    expect(JSON.parse(lines[0]!).parent).toBe(`project_name:${KEY}`);
  });

  it("names an exception's kind unless it is a plain Error", () => {
    expect(errorText(new Error("KV GET failed"))).toBe("KV GET failed");
    expect(errorText(new TypeError("x is undefined"))).toBe("TypeError: x is undefined");
    expect(errorText("thrown text")).toBe("thrown text");
  });
});
