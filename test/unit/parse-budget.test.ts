import { describe, expect, it } from "vitest";
import { braintrustView } from "../../scripts/lib/braintrust-view.js";
import { attr } from "../../scripts/lib/traces.js";
import { MAX_PARSED_ENTRIES_PER_SPAN } from "../../src/process/raw-json.js";
import { relayed } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";
import { responsesApiAnswer, translated } from "../support/translation.js";

/**
 * A model call whose `tools` setting spends nearly all of its span's parse budget (process/raw-json.ts):
 * what is parsed after it, the other settings and the answer's error body, still shows as it came.
 */
function shownModelCall(tools: number) {
  const body = {
    model: "openai-main/gpt-4o",
    messages: [{ role: "user", content: "hi" }],
    tools: Array.from({ length: tools }, () => ({})),
    tool_choice: "auto",
    temperature: 0.7,
  };
  // An OpenAI-compatible server's error body (vLLM's).
  const answer = { object: "error", message: "context length exceeded", code: 400 };
  const span = spanWith("Model: x", [
    attr("tfy.span_type", "Model"),
    attr("tfy.model.name", "gpt-4o"),
    attr("tfy.input", JSON.stringify(body)),
    attr("tfy.output", JSON.stringify(answer)),
  ]);
  return braintrustView(relayed(requestOf([span]), {}).requests.map((r) => r.request)).traces[0]!.tree;
}

describe("a span whose lists spend its parse budget", () => {
  // Each `{}` two entries: these leave 50, 30 and 20 of the budget to what is parsed after.
  const nearlyAll = (left: number) => (MAX_PARSED_ENTRIES_PER_SPAN - left) / 2;
  it.each([10, nearlyAll(50), nearlyAll(30), nearlyAll(20)])(
    "shows its scalar settings and its error as they came, with %i tools",
    (tools) => {
      const shown = shownModelCall(tools);

      expect([shown.metadata.tool_choice, shown.metadata.temperature, shown.error]).toEqual(["auto", 0.7, "context length exceeded"]);
    },
  );
});

describe("a Responses API call whose tools fill much of the span's parse budget", () => {
  it("still drops the answer's echo of them from metadata.response", () => {
    const property = { type: "string", enum: ["a", "b", "c", "d"], description: "one of four" };
    const tool = (i: number) => ({
      type: "function",
      name: `tool_${i}`,
      parameters: { type: "object", properties: Object.fromEntries(Array.from({ length: 20 }, (_, p) => [`p${p}`, property])) },
    });
    const tools = Array.from({ length: 500 }, (_, i) => tool(i));
    const request = { model: "openai-main/gpt-4.1", input: "Which tool?", tools };
    const response = responsesApiAnswer("none", { tools, usage: { input_tokens: 10, output_tokens: 1, total_tokens: 11 } });
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.name", "gpt-4.1"),
      attr("tfy.input", JSON.stringify(request)),
      attr("tfy.output", JSON.stringify(response)),
    ]);

    const shown = braintrustView(relayed(requestOf([span]), {}).requests.map((r) => r.request)).traces[0]!.tree;

    expect(shown.metadata.tools).toHaveLength(500);
    expect(shown.metadata.response).not.toHaveProperty("tools");
  });
});

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
