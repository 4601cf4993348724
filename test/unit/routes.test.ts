import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { InstrumentationScopeSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { matches } from "../../src/process/match.js";
import type { Match } from "../../src/tenants/processing-schema.js";
import { attr, attributesOf, requestOf, spanWith } from "../support/traces.js";

describe("route conditions", () => {
  const span = spanWith("ChatCompletion: gpt", [
    attr("tfy.request.metadata", JSON.stringify({ env: "eval", team: { name: "search" }, tags: ["a"] })),
    attr("http.response.status_code", 200),
    attr("tfy.model.streaming", true),
  ]);
  const target = { span, scope: create(InstrumentationScopeSchema, { name: "tfy" }), resource: requestOf([]).resourceSpans[0]!.resource };
  const cases: Array<[Match, boolean]> = [
    [{ field: "span_name", prefix: "ChatCompletion" }, true],
    [{ field: "span_name", equals: "Model" }, false],
    [{ field: "scope_name", equals: "tfy" }, true],
    [{ field: "resource.service.name", one_of: ["x", "tfy-llm-gateway"] }, true],
    [{ field: "attributes.tfy.request.metadata.env", equals: "eval" }, true],
    [{ field: "attributes.tfy.request.metadata.team.name", equals: "search" }, true],
    [{ field: "attributes.tfy.request.metadata.missing", exists: false }, true],
    [{ field: "attributes.http.response.status_code", equals: 200 }, true],
    [{ field: "attributes.http.response.status_code", equals: "200" }, true],
    [{ field: "attributes.tfy.model.streaming", equals: true }, true],
    [{ field: "attributes.tfy.model.streaming", equals: "true" }, false],
    [
      {
        all: [
          { field: "span_name", prefix: "Chat" },
          { field: "scope_name", equals: "other" },
        ],
      },
      false,
    ],
    [
      {
        any: [
          { field: "span_name", prefix: "Chat" },
          { field: "scope_name", equals: "other" },
        ],
      },
      true,
    ],
  ];

  it.each(cases)("%j → %s", (match, expected) => {
    expect(matches(match, target)).toBe(expected);
  });

  it("reads an attribute's own dotted key before descending into JSON", () => {
    const dotted = spanWith("x", [attr("a.b", "direct"), attr("a", JSON.stringify({ b: "nested" }))]);
    expect(matches({ field: "attributes.a.b", equals: "direct" }, { span: dotted })).toBe(true);
    expect(attributesOf(dotted)["a.b"]).toBe("direct");
  });
});
