import { describe, expect, it } from "vitest";
import { braintrustView } from "../../scripts/lib/braintrust-view.js";
import { relayed } from "../../scripts/lib/pipeline.js";
import { attr, requestOf, spanWith } from "../../scripts/lib/traces.js";

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
  it.each([10, 49_975, 49_985, 49_990])("shows its scalar settings and its error as they came, with %i tools", (tools) => {
    const shown = shownModelCall(tools);

    expect([shown.metadata.tool_choice, shown.metadata.temperature, shown.error]).toEqual(["auto", 0.7, "context length exceeded"]);
  });
});
