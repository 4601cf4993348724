import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BraintrustStandIn } from "../../scripts/lib/braintrust-standin.js";
import { requestOf, spanWith, toProtobuf } from "../support/traces.js";

/** The stand-in's view is one parent's, as each Braintrust project or experiment shows its own. */
describe("the Braintrust stand-in's view", () => {
  const standin = new BraintrustStandIn();
  let url = "";
  beforeAll(async () => {
    url = await standin.start();
  });
  afterAll(() => standin.stop());

  const newKey = async () => ((await (await fetch(`${url}/_standin/keys`, { method: "POST" })).json()) as { key: string }).key;
  const send = (key: string, parent: string, name: string) =>
    fetch(`${url}/otel/v1/traces`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "x-bt-parent": parent, "content-type": "application/x-protobuf" },
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

    expect((await view(key)).status).toBe(409);
    const a = (await (await view(key, "project_name:a")).json()) as { traces: Array<{ root: string }> };
    expect(a.traces.map((t) => t.root)).toEqual(["in a"]);
  });
});
