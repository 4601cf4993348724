import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { attr } from "../../scripts/lib/traces.js";
import { attributesOf, spanWith } from "../support/traces.js";
import { DROP, KEEP, keptKeys, translated, translateInPlace } from "../support/translation.js";

/** What a span shows as metadata and tags, the caller's request metadata among them. */
describe("metadata", () => {
  it("restates no attribute that stays on the span, so nothing shows twice", () => {
    expect(
      translated([
        attr("tfy.model.fqn", "truefoundry:openai/gpt-4.1-mini"),
        attr("tfy.model.streaming", true),
        attr("tfy.request.created_by_subject", "user:alice"),
        attr("tfy.error_message", "rate limited"),
      ]),
    ).not.toHaveProperty("braintrust.metadata");
  });

  it("leaves the conventions' keys the relay's metadata would restate on a span with metadata of its own, which is not written", () => {
    const call = [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }], temperature: 0.2 })),
      attr("gen_ai.request.model", "gpt-4o"),
      attr("gen_ai.request.temperature", 0.2),
    ];

    expect(keptKeys(call)).toEqual(["tfy.span_type"]);
    expect(keptKeys([...call, attr("braintrust.metadata", JSON.stringify({ team: "search" }))])).toEqual([
      "tfy.span_type",
      // Its temperature shows nowhere else.
      "tfy.input",
      "gen_ai.request.model",
      "gen_ai.request.temperature",
    ]);
  });
});

describe("tags", () => {
  it("come from the request metadata's tags, a comma-separated string or a list of strings", () => {
    const tags = (value: unknown) => translated([attr("tfy.request.metadata", JSON.stringify({ tags: value }))])["braintrust.tags"];

    expect(tags(" a , b,,c ")).toEqual(["a", "b", "c"]);
    // A tag given twice is one tag.
    expect(tags("a, b, a")).toEqual(["a", "b"]);
    expect(tags(["a", "a"])).toEqual(["a"]);
    // A caller's JSON.stringify(tags) in a header that takes strings only.
    expect(tags('["a", "b,c", 3]')).toEqual(["a", "b,c"]);
    // Space before the list, as a header value written by hand may have, is no part of a tag.
    expect(tags(' \t["prod", "checkout"]')).toEqual(["prod", "checkout"]);
    expect(tags("[a, b")).toEqual(["[a", "b"]);
    expect(tags(["a", 1, "", "b"])).toEqual(["a", "b"]);
    expect(tags(7)).toBeUndefined();
    expect(tags([])).toBeUndefined();
    expect(translated([attr("tfy.request.metadata", "not json")])).not.toHaveProperty("braintrust.tags");
  });

  it("are trimmed in a list as in a comma-separated string: ' prod' is the tag prod, once, and a blank one none", () => {
    const tags = (value: unknown) => translated([attr("tfy.request.metadata", JSON.stringify({ tags: value }))])["braintrust.tags"];

    expect(tags([" prod ", "checkout\t", "prod", "  "])).toEqual(["prod", "checkout"]);
    expect(tags('[" prod", "checkout "]')).toEqual(["prod", "checkout"]);
    expect(translated([attr("tfy.request.metadata", { tags: [" prod", "prod "] })])["braintrust.tags"]).toEqual(["prod"]);
    expect(translated([attr("tfy.request.metadata.tags", [" x ", " "])])["braintrust.tags"]).toEqual(["x"]);
    expect(tags([" ", ""])).toBeUndefined();
  });

  it("are read from a key-value list and from flattened tfy.request.metadata.<key> attributes", () => {
    expect(translated([attr("tfy.request.metadata", { env: "prod", tags: "a,b" })])["braintrust.tags"]).toEqual(["a", "b"]);
    expect(
      translated([attr("tfy.request.metadata.tags", "2024,b"), attr("tfy.request.metadata", '{"tags":"ignored"}')])["braintrust.tags"],
    ).toEqual(["2024", "b"]);
    expect(translated([attr("tfy.request.metadata.tags", ["x"])])["braintrust.tags"]).toEqual(["x"]);
  });

  it("keep a tag that reads as JSON, in a list of a key-value list or of a flattened attribute: a tag is text", () => {
    expect(translated([attr("tfy.request.metadata", { tags: ["2024", "true", "q3"] })])["braintrust.tags"]).toEqual(["2024", "true", "q3"]);
    expect(translated([attr("tfy.request.metadata.tags", ["2024", "q3"])])["braintrust.tags"]).toEqual(["2024", "q3"]);
  });
});

describe("the caller's request metadata", () => {
  /** The keys removed from a span with these attributes, and the metadata Braintrust is given for it. */
  const translatedWith = (attributes: KeyValue[]) => {
    const span = spanWith("span", attributes);
    const { removedKeys } = translateInPlace(span, DROP);
    return { removed: [...removedKeys].sort(), metadata: translated(attributes)["braintrust.metadata"] };
  };

  it("restates every value exactly, as OTLP/JSON writes what JSON's numbers cannot hold, since its attribute is then removed", () => {
    /** The metadata's JSON text as sent to Braintrust, and whether the sources went. */
    const sent = (attributes: KeyValue[]) => {
      const span = spanWith("span", attributes);
      translateInPlace(span, DROP);
      return { metadata: attributesOf(span)["braintrust.metadata"], sourcesLeft: keptKeys(attributes).filter((k) => k.startsWith("tfy.")) };
    };
    const bytes = create(KeyValueSchema, { key: "blob", value: { value: { case: "bytesValue", value: new Uint8Array([1, 2, 250]) } } });

    expect(
      sent([attr("tfy.request.metadata", { order_id: 9007199254740993n, blob: "x", score: Number.POSITIVE_INFINITY, nan: Number.NaN })]),
    ).toEqual({
      metadata: '{"order_id":9007199254740993,"blob":"x","score":"Infinity","nan":"NaN"}',
      sourcesLeft: [],
    });
    expect(
      sent([
        create(KeyValueSchema, { key: "tfy.request.metadata", value: { value: { case: "kvlistValue", value: { values: [bytes] } } } }),
      ]),
    ).toEqual({
      metadata: '{"blob":"AQL6"}',
      sourcesLeft: [],
    });
    expect(sent([attr("tfy.request.metadata.order_id", 9223372036854775807n), attr("tfy.request.metadata.small", -12n)])).toEqual({
      metadata: '{"order_id":9223372036854775807,"small":-12}',
      sourcesLeft: [],
    });
    expect(sent([attr("tfy.request.metadata", '{"order_id":12345678901234567890}')]).metadata).toBe('{"order_id":12345678901234567890}');
    // A whole metadata that is a number, however long, is no metadata: it stays as it came.
    expect(sent([attr("tfy.request.metadata", "12345678901234567890")])).toEqual({
      metadata: undefined,
      sourcesLeft: ["tfy.request.metadata"],
    });
  });

  it("shows key by key in the span's metadata, from JSON text, a key-value list or flattened attributes, tags only as tags", () => {
    const json = translatedWith([attr("tfy.request.metadata", '{"env":"prod","tags":"a,b","__proto__":"x"}')]);
    const list = translatedWith([attr("tfy.request.metadata", { env: "prod", tags: "a,b" })]);
    const flattened = translatedWith([attr("tfy.request.metadata.env", "2024"), attr("tfy.request.metadata.tags", "a")]);

    expect(json).toEqual({ removed: ["tfy.request.metadata"], metadata: JSON.parse('{"env":"prod","__proto__":"x"}') });
    expect(list).toEqual({ removed: ["tfy.request.metadata"], metadata: { env: "prod" } });
    // A flattened value is the header's text: "2024" stays a string.
    expect(flattened).toEqual({ removed: ["tfy.request.metadata.env", "tfy.request.metadata.tags"], metadata: { env: "2024" } });
  });

  it("shows a key-value list's text as text, as the header sent it, however much it reads as JSON", () => {
    const list = translatedWith([
      attr("tfy.request.metadata", { release: "2.10", flag: "true", order: "12345678901234567890", nested: { ids: ["007"] } }),
    ]);
    expect(list).toEqual({
      removed: ["tfy.request.metadata"],
      metadata: { release: "2.10", flag: "true", order: "12345678901234567890", nested: { ids: ["007"] } },
    });
    expect(translatedWith([attr("tfy.request.metadata.ids", ["1.50", "2"])]).metadata).toEqual({ ids: ["1.50", "2"] });
  });

  it("lets a flattened key win over the same key of a whole one", () => {
    expect(
      translatedWith([attr("tfy.request.metadata", '{"env":"staging","team":"a"}'), attr("tfy.request.metadata.env", "prod")]).metadata,
    ).toEqual({ env: "prod", team: "a" });
  });

  it("shows a key the relay's own would hide under its flattened name, and its other keys key by key", () => {
    const hidden = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","temperature":0.2,"user":"cust-42","messages":[]}'),
      attr("tfy.request.metadata", '{"temperature":"warm","env":"prod","user":"ana"}'),
    ]);
    expect(hidden.removed).toEqual(["tfy.input", "tfy.request.metadata"]);
    expect(hidden.metadata).toEqual({
      env: "prod",
      model: "gpt-4o",
      temperature: 0.2,
      user: "cust-42",
      "tfy.request.metadata.temperature": "warm",
      "tfy.request.metadata.user": "ana",
    });
    const flattened = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","messages":[]}'),
      attr("tfy.request.metadata.model", "mine"),
      attr("tfy.request.metadata.env", "prod"),
    ]);
    expect(flattened.removed).toEqual(["tfy.input", "tfy.request.metadata.env", "tfy.request.metadata.model"]);
    expect(flattened.metadata).toEqual({ env: "prod", model: "gpt-4o", "tfy.request.metadata.model": "mine" });

    // A body field with that very name too: the caller's attribute stays, so its value still shows.
    const taken = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","user":"cust-42","tfy.request.metadata.user":"x","messages":[]}'),
      attr("tfy.request.metadata", '{"user":"ana"}'),
    ]);
    expect(taken.removed).not.toContain("tfy.request.metadata");
    // … saying what the caller's does: its value shows already, and the caller's attribute goes.
    const said = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","user":"cust-42","tfy.request.metadata.user":"ana","messages":[]}'),
      attr("tfy.request.metadata", '{"user":"ana"}'),
    ]);
    expect(said.removed).toContain("tfy.request.metadata");
  });

  it("goes when it is empty, on a span with metadata of its own or none: an empty object says nothing", () => {
    for (const empty of [attr("tfy.request.metadata", "{}"), attr("tfy.request.metadata", {})]) {
      expect(translatedWith([attr("tfy.span_type", "Guardrail"), empty])).toEqual({
        removed: ["tfy.request.metadata"],
        metadata: undefined,
      });
      expect(translatedWith([attr("tfy.span_type", "Model"), attr("tfy.model.name", "gpt-4o"), empty]).removed).toContain(
        "tfy.request.metadata",
      );
    }
  });

  it("keeps its attribute when it is not an object", () => {
    expect(translatedWith([attr("tfy.request.metadata", "plain text")]).removed).toEqual([]);
  });

  it("shows key by key when a key it shares with the request says the same", () => {
    const same = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","user":"u-42","messages":[]}'),
      attr("tfy.request.metadata", '{"user":"u-42","env":"prod"}'),
    ]);
    expect(same.removed).toEqual(["tfy.input", "tfy.request.metadata"]);
    expect(same.metadata).toEqual({ user: "u-42", env: "prod", model: "gpt-4o" });
  });

  it("keeps tags in metadata when the span has tags of its own, which win", () => {
    expect(translatedWith([attr("tfy.request.metadata", '{"tags":"a"}'), attr("braintrust.tags", ["own"])]).metadata).toEqual({
      tags: "a",
    });
  });
});

describe("a prompt's variables", () => {
  it("show as an object in metadata, under their attribute's key, which goes; a tenant keeping sources keeps the attribute alone", () => {
    const variables = attr("tfy.prompt_variables", '{"city":"Paris","n":3}');

    expect(translated([variables])["braintrust.metadata"]).toEqual({ "tfy.prompt_variables": { city: "Paris", n: 3 } });
    expect(keptKeys([variables])).toEqual([]);
    expect(keptKeys([variables], KEEP)).toEqual(["tfy.prompt_variables"]);
    expect(translated([variables, attr("braintrust.metadata", "{}")])).not.toHaveProperty("braintrust.metadata");
    expect(keptKeys([variables, attr("braintrust.metadata", "{}")])).toEqual(["tfy.prompt_variables"]);
    // A key-value list, as OpenTelemetry's SDKs may write an object.
    expect(translated([attr("tfy.prompt_variables", { city: "Paris" })])["braintrust.metadata"]).toEqual({
      "tfy.prompt_variables": { city: "Paris" },
    });
  });

  it("stay as they came when they hold no object, or the key is sent twice", () => {
    for (const attributes of [
      [attr("tfy.prompt_variables", "plain text")],
      [attr("tfy.prompt_variables", "[1,2]")],
      [attr("tfy.prompt_variables", '{"a":1}'), attr("tfy.prompt_variables", '{"a":1}')],
    ]) {
      expect(translated(attributes)).not.toHaveProperty("braintrust.metadata");
      expect(keptKeys(attributes)).toEqual(attributes.map((a) => a.key));
    }
  });
});

describe("a guardrail's output, the request it let through", () => {
  it("shows the messages it passed on, and in metadata only the settings it changed", () => {
    const added = translated([
      attr("tfy.span_type", "Guardrail"),
      attr("tfy.input", '{"model":"openai-main/gpt-4o","messages":[{"role":"user","content":"ana@x.io"}],"temperature":0.2,"seed":7}'),
      attr("tfy.output", '{"model":"openai-main/gpt-4o","messages":[{"role":"user","content":"[EMAIL]"}],"temperature":0,"seed":7}'),
    ]);

    expect(added["braintrust.output_json"]).toEqual([{ role: "user", content: "[EMAIL]" }]);
    expect(added["braintrust.metadata"]).toEqual({
      gateway_model: "openai-main/gpt-4o",
      temperature: 0.2,
      seed: 7,
      response: { temperature: 0 },
    });
  });

  it("keeps the request's attribute when a setting has the name of a key of the relay's own, which hides it in metadata", () => {
    const attributes = [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"messages":[],"response":"the setting","seed":7}'),
      attr("tfy.output", '{"id":"chatcmpl-1","choices":[]}'),
    ];

    expect(translated(attributes)["braintrust.metadata"]).toEqual({ seed: 7, response: { id: "chatcmpl-1" } });
    expect(keptKeys(attributes)).toEqual(["tfy.span_type", "tfy.input"]);
    expect(keptKeys([attributes[0]!, attr("tfy.input", '{"messages":[],"seed":7}'), attributes[2]!])).toEqual(["tfy.span_type"]);
    // The same JSON shows once, whoever wrote it.
    expect(keptKeys([attributes[0]!, attr("tfy.input", '{"messages":[],"response":{"id":"chatcmpl-1"}}'), attributes[2]!])).toEqual([
      "tfy.span_type",
    ]);
  });

  it("names the settings it took out", () => {
    const added = translated([
      attr("tfy.span_type", "Guardrail"),
      attr("tfy.input", '{"messages":[],"user":"ana@x.io","tools":[{"type":"function"}],"seed":7}'),
      attr("tfy.output", '{"messages":[],"seed":7}'),
    ]);

    expect((added["braintrust.metadata"] as Record<string, unknown>).response).toEqual({ removed_settings: ["user", "tools"] });
  });
});
