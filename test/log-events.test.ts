import { afterEach, describe, expect, it, vi } from "vitest";
import { logEvent } from "../src/log/events.js";

afterEach(() => vi.restoreAllMocks());

function captured(level: "log" | "error"): string[] {
  const lines: string[] = [];
  vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line)));
  return lines;
}

describe("the event log", () => {
  it("writes one JSON line with the event's fields as given", () => {
    const lines = captured("log");
    logEvent({ event: "duplicate_delivery_skipped", tenant: "acme", delivery_id: "d-1", spans: 3 });
    expect(lines).toEqual(['{"event":"duplicate_delivery_skipped","tenant":"acme","delivery_id":"d-1","spans":3}']);
  });

  it("writes failures of the relay itself to the error stream", () => {
    const errors = captured("error");
    const logs = captured("log");
    logEvent({ event: "durable_store_failed", tenant: "acme", delivery_id: "d-1", error: "Error: queue unavailable" });
    expect(errors).toHaveLength(1);
    expect(logs).toEqual([]);
  });

  it("scrubs credentials from text the relay did not write itself", () => {
    const lines = captured("log");
    const token = `tbr_0123456789abcdef_${"A".repeat(43)}`;
    logEvent({
      event: "dead_letter",
      tenant: "acme",
      parent: "project_name:p",
      delivery_id: "d-1",
      spans: 1,
      attempts: 1,
      reason: `Braintrust answered 400: echoed Authorization: Bearer secret-value-1 and key sk-live0123456789 and ${token}`,
    });
    const [line] = lines;
    expect(JSON.parse(line!).reason).toBe(
      "Braintrust answered 400: echoed Authorization: Bearer [redacted] and key [redacted] and [redacted]",
    );
    for (const secret of ["secret-value-1", "sk-live0123456789", token]) expect(line).not.toContain(secret);
  });
});
