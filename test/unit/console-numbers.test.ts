import { describe, expect, it } from "vitest";
import { attr, toProtobuf } from "../../scripts/lib/traces.js";
import { cellText, countText, dollarsText } from "../../src/console/numbers.js";
import { LlmUsageSummary, LlmUsageTable } from "../../src/console/stats-parts.js";
import { usageCounted } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";

describe("numbers on the console", () => {
  it("group counts by thousands, and leave a statistics cell that is no count as it is", () => {
    expect([countText(0), countText(999), countText(12_015), countText(48_211_930)]).toEqual(["0", "999", "12,015", "48,211,930"]);
    expect([cellText(1_000), cellText("-")]).toEqual(["1,000", "-"]);
  });

  it("show dollars to the cent from one up, and to six places below, where one call's cost lies", () => {
    expect([dollarsText(1234.567891), dollarsText(1), dollarsText(0.999999), dollarsText(0.000126), dollarsText(0)]).toEqual([
      "1,234.57",
      "1.00",
      "0.999999",
      "0.000126",
      "0.000000",
    ]);
    // Chosen once rounded: what six places round to a dollar is one, and a cost they round to nothing is still some.
    expect([dollarsText(0.9999996), dollarsText(0.0000004)]).toEqual(["1.00", "<0.000001"]);
  });

  it("read so in the overview's LLM usage", async () => {
    const usage = { "gpt-4o": { calls: 3, prompt_tokens: 40_000_000, completion_tokens: 8_211_930, cost_usd: 1234.567891 } };

    expect(String(await LlmUsageSummary({ usage }))).toContain("$1,234.57 · 48,211,930 tokens");
  });

  it("say how many calls the overview's cost leaves out, of models the gateway gave no cost for", async () => {
    const usage = {
      "gpt-4o": { calls: 1, prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.5 },
      "my-finetune": { calls: 2, prompt_tokens: 30, completion_tokens: 5, cost_usd: 0 },
    };

    expect(String(await LlmUsageSummary({ usage }))).toContain("$0.500000 · 47 tokens · 2 calls unpriced");
    expect(String(await LlmUsageTable({ usage }))).toMatch(
      /my-finetune<\/td>(<td class="num">[\d,]+<\/td>){3}<td class="num"><span class="muted">unpriced<\/span>/,
    );
  });
});

describe("the calls a model's cost leaves out", () => {
  // One model under two of the gateway's accounts, one priced, one not (an account of its own, say): both count as one model.
  function usageOfCalls(costs: number[]) {
    const calls = costs.map((cost, i) =>
      spanWith(`Model: call ${i}`, [
        attr("tfy.span_type", "Model"),
        attr("tfy.model.name", "gpt-4o"),
        attr("tfy.model.metric.input_tokens", 10),
        attr("tfy.model.metric.output_tokens", 2),
        attr("tfy.model.metric.cost_in_usd", cost),
      ]),
    );
    return usageCounted(toProtobuf(requestOf(calls)));
  }

  it("are counted when the gateway priced some of the model's calls and not others, in the overview and in the table", async () => {
    const usage = usageOfCalls([0.5, 0, 0]);

    expect(String(await LlmUsageSummary({ usage }))).toContain("$0.500000 · 36 tokens · 2 calls unpriced");
    expect(String(await LlmUsageTable({ usage }))).toContain("2 unpriced");
  });
});
