import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Span_EventSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { BraintrustStandIn } from "../../scripts/lib/braintrust-standin.js";
import { braintrustView } from "../../scripts/lib/braintrust-view.js";
import { attr, toProtobuf } from "../../scripts/lib/traces.js";
import { requestOf, spanWith } from "../support/traces.js";

/** The stand-in over HTTP: its view is one parent's, as each Braintrust project or experiment shows its own. */
describe("the Braintrust stand-in", () => {
  const standin = new BraintrustStandIn();
  let url = "";
  beforeAll(async () => {
    url = await standin.start();
  });
  afterAll(() => standin.stop());

  const newKey = async () => ((await (await fetch(`${url}/_standin/keys`, { method: "POST" })).json()) as { key: string }).key;
  const send = (key: string, parent: string, name: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/otel/v1/traces`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "x-bt-parent": parent, "content-type": "application/x-protobuf", ...headers },
      body: toProtobuf(requestOf([spanWith(name, [])])),
    });
  const view = (key: string, parent?: string) =>
    fetch(`${url}/_standin/view?${new URLSearchParams({ key, ...(parent ? { parent } : {}) })}`);

  it("is empty for a key that has received nothing", async () => {
    const response = await view(await newKey());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ traces: [], unlisted: 0 });
  });

  it("never merges two parents: it asks which, and shows each apart", async () => {
    const key = await newKey();
    expect((await send(key, "project_name:a", "in a")).status).toBe(200);
    expect((await send(key, "project_name:b", "in b")).status).toBe(200);

    const asked = await view(key);
    expect(asked.status).toBe(409);
    // Named, so a user of the stand-in need not guess which parents the relay chose.
    expect(await asked.json()).toEqual({
      error: 'spans went to 2 parents, "project_name:a" and "project_name:b": ask for one with &parent=',
    });
    const a = (await (await view(key, "project_name:a")).json()) as { traces: Array<{ root: string }> };
    expect(a.traces.map((t) => t.root)).toEqual(["in a"]);
  });

  it("answers a failure scripted for one parent only to requests for that parent, as Braintrust refuses a project the key may not write to", async () => {
    const key = await newKey();
    const steps = [{ parent: "project_name:locked", status: 403, body: "Forbidden" }];
    await fetch(`${url}/_standin/faults?key=${key}`, { method: "POST", body: JSON.stringify(steps) });

    expect((await send(key, "project_name:open", "passes")).status).toBe(200);
    expect((await send(key, "project_name:locked", "refused")).status).toBe(403);
    expect((await send(key, "project_name:locked", "once only")).status).toBe(200);
  });

  it("checks a request before it answers a scripted failure: one Braintrust would refuse for good is refused, and the failure waits", async () => {
    const key = await newKey();
    const script = (steps: unknown[]) => fetch(`${url}/_standin/faults?key=${key}`, { method: "POST", body: JSON.stringify(steps) });
    await script([{ status: 503 }]);

    // A body labelled gzip that is not: the relay sending one would fail its test, whatever outage it scripts.
    expect((await send(key, "project_name:p", "s", { "content-encoding": "gzip" })).status).toBe(400);
    expect((await send(key, "not a parent", "s")).status).toBe(400);
    expect((await send(key, "project_name:p", "s")).status).toBe(503);
    // An upstream scripted to answer first answers whatever it is sent.
    await script([{ status: 503, beforeChecks: true }]);
    expect((await send(key, "not a parent", "s")).status).toBe(503);
  });

  it("keeps the spans of a request scripted to lose its answer, then drops the connection: stored, though the client hears nothing", async () => {
    const key = await newKey();
    await fetch(`${url}/_standin/faults?key=${key}`, { method: "POST", body: JSON.stringify([{ dropAnswer: true }]) });

    await expect(send(key, "project_name:p", "stored")).rejects.toThrow();

    const stored = (await (await view(key)).json()) as { traces: Array<{ root: string }> };
    expect(stored.traces.map((t) => t.root)).toEqual(["stored"]);
    const attempts = (await (await fetch(`${url}/_standin/attempts?key=${key}`)).json()) as Array<{ status: number }>;
    expect(attempts.map((a) => a.status)).toEqual([0]);
  });

  it("refuses a body labelled with a content coding other than gzip, which it would not read as sent", async () => {
    const key = await newKey();
    for (const coding of ["deflate", "br", "gzip, br"]) {
      expect((await send(key, "project_name:p", "s", { "content-encoding": coding })).status).toBe(415);
    }
  });
});

/** The view's reading of `braintrust.*` attributes: only those Braintrust maps are consumed. */
describe("the Braintrust stand-in's view of braintrust.* attributes", () => {
  const viewOf = (attributes: Parameters<typeof spanWith>[1]) =>
    braintrustView([requestOf([spanWith("span", attributes)])]).traces[0]!.tree;

  it("shows braintrust.metadata.<key> as metadata.<key>, as Braintrust maps it", () => {
    expect(viewOf([attr("braintrust.metadata.run_output", "the answer")]).metadata).toEqual({ run_output: "the answer" });
  });

  it("keeps in metadata a braintrust.* key Braintrust does not map, so a misspelt one is seen", () => {
    const span = viewOf([attr("braintrust.output_jsno", '["x"]')]);
    expect(span.metadata).toEqual({ "braintrust.output_jsno": '["x"]' });
    expect(span).not.toHaveProperty("output");
  });

  it("keeps in metadata braintrust.tags that are no list, and takes a list as the tags", () => {
    expect(viewOf([attr("braintrust.tags", '["prod"]')])).toMatchObject({ tags: [], metadata: { "braintrust.tags": '["prod"]' } });
    expect(viewOf([attr("braintrust.tags", ["prod"])])).toMatchObject({ tags: ["prod"], metadata: {} });
  });
});

describe("the Braintrust stand-in's view of GenAI message events", () => {
  it("lists the message events Braintrust reads as messages, and no other event", () => {
    const span = spanWith("chatCompletions", []);
    span.events = ["gen_ai.user.message", "gen_ai.choice", "exception", "gen_ai.user.message.extra"].map((name) =>
      create(Span_EventSchema, { name, attributes: [attr("content", name)] }),
    );
    expect(braintrustView([requestOf([span])]).traces[0]!.tree.messageEvents).toEqual([
      { name: "gen_ai.user.message", attributes: { content: "gen_ai.user.message" } },
      { name: "gen_ai.choice", attributes: { content: "gen_ai.choice" } },
    ]);
    expect(braintrustView([requestOf([spanWith("call", [])])]).traces[0]!.tree).not.toHaveProperty("messageEvents");
  });
});

describe("the Braintrust stand-in's view of cost", () => {
  const costOf = (model: string) =>
    braintrustView([
      requestOf([
        spanWith("call", [
          attr("braintrust.metadata", JSON.stringify({ model })),
          attr("braintrust.metrics", JSON.stringify({ prompt_tokens: 10, completion_tokens: 2 })),
        ]),
      ]),
    ]).traces[0]!.tree.cost;

  it("prices a span by its model's exact name only, as Braintrust looks it up", () => {
    expect(costOf("gpt-4o-mini")).toBe("priced by model name");
    expect(costOf("claude-sonnet-4-5")).toBe("priced by model name");
    // A provider answers with a dated snapshot, which Braintrust's model list prices as its model.
    for (const name of [
      "claude-sonnet-4-5-20250929",
      "gpt-4o-2024-08-06",
      "gpt-4.1-mini-2025-04-14",
      "o3-2025-04-16",
      "o4-mini-2025-04-16",
    ])
      expect(costOf(name)).toBe("priced by model name");
    for (const name of ["gpt-4o-prod", "claude-sonnet", "gpt-4o-mini-openai-main", "openai-main/gpt-4o", "GPT-4o"]) {
      expect(costOf(name)).toBeNull();
    }
  });
});
