import { describe, expect, it } from "vitest";
import { attr } from "../../scripts/lib/traces.js";
import { MAX_PARSED_ENTRIES_PER_SPAN } from "../../src/process/raw-json.js";
import { translated } from "../support/translation.js";

/** The parse budget (process/raw-json.ts) is each span's own: what one span parsed costs the next nothing. */
describe("a span translated after one whose lists spent most of the parse budget", () => {
  it("shows its own settings as parsed, as the first span did", () => {
    // Each `{}` two entries: each span's tools take 60% of the budget, two of them more than all of it.
    const tools = Array.from({ length: (MAX_PARSED_ENTRIES_PER_SPAN * 0.6) / 2 }, () => ({}));
    const call = () => [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], tools, temperature: 0.7 })),
    ];
    const first = translated(call());
    const second = translated(call());

    expect(first["braintrust.metadata"]).toEqual({ model: "gpt-4o", tools, temperature: 0.7 });
    expect(second).toEqual(first);
  });
});
