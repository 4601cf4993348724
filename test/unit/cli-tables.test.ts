import { describe, expect, it } from "vitest";
import { lastErrorText } from "../../scripts/lib/stats-table.js";

describe("the CLI's tables", () => {
  it("show an upstream's last error whole and on one line: its own words, at the end, tell one refusal from another", () => {
    const reason = 'Braintrust answered 400: {"error": "Project archived",\n  "detail": "restore it to send spans before 2026-12-31"}';

    expect(lastErrorText({ at: "2026-12-03T09:00:00.000Z", status: 400, reason })).toBe(
      '2026-12-03T09:00:00.000Z 400: Braintrust answered 400: {"error": "Project archived", "detail": "restore it to send spans before 2026-12-31"}',
    );
    expect(lastErrorText(null)).toBe("none");
    // Nor a terminal's control codes: the words are an upstream's.
    expect(lastErrorText({ at: "2026-12-03T09:00:00.000Z", status: 400, reason: "\u001b[31mred\u001b[0m" })).toBe(
      "2026-12-03T09:00:00.000Z 400: \ufffd[31mred\ufffd[0m",
    );
  });
});
