import { create } from "@bufbuild/protobuf";
import { describe, expect, it, vi } from "vitest";
import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { InstrumentationScopeSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { ResourceSchema } from "../../gen/opentelemetry/proto/resource/v1/resource_pb.js";
import { tenantRecord } from "../../scripts/lib/tenants.js";
import { anyValue, attr, randomId, spansOf } from "../../scripts/lib/traces.js";
import { jsonOf, lookupDotted, numberAttribute, scalarOf, stringAttribute } from "../../src/process/attributes.js";
import { matches, type SpanInContext } from "../../src/process/match.js";
import type { Match } from "../../src/tenants/processing-schema.js";
import { routedUntil, routesTraces } from "../../src/tenants/routing.js";
import { relayed } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";

describe("route conditions", () => {
  const span = spanWith("ChatCompletion: gpt", [
    attr("tfy.request.metadata", JSON.stringify({ env: "eval", team: { name: "search" }, tags: ["a"], gone: null })),
    attr("http.response.status_code", 200),
    attr("tfy.model.streaming", true),
    attr("tfy.request.user", { id: "u-1", plan: "pro" }),
    attr("empty", ""),
    attr("blank", "  "),
    attr("padded", " 7 "),
    attr("signed", "+5"),
  ]);
  const target = { span, scope: create(InstrumentationScopeSchema, { name: "tfy" }), resource: requestOf([]).resourceSpans[0]!.resource };
  const cases: Array<[Match, boolean]> = [
    [{ field: "span_name", prefix: "ChatCompletion" }, true],
    [{ field: "span_name", prefix: "Model" }, false],
    [{ field: "span_name", equals: "Model" }, false],
    [{ field: "span_name", equals: "ChatCompletion: gpt" }, true],
    [{ field: "scope_name", equals: "tfy" }, true],
    [{ field: "resource.service.name", one_of: ["x", "tfy-llm-gateway"] }, true],
    [{ field: "resource.service.name", one_of: ["x", "y"] }, false],
    [{ field: "resource.service.name", exists: true }, true],
    [{ field: "attributes.tfy.request.metadata.env", equals: "eval" }, true],
    [{ field: "attributes.tfy.request.metadata.env", equals: "prod" }, false],
    [{ field: "attributes.tfy.request.metadata.team.name", equals: "search" }, true],
    [{ field: "attributes.tfy.request.metadata.missing", exists: false }, true],
    [{ field: "attributes.tfy.request.metadata.missing", exists: true }, false],
    [{ field: "attributes.tfy.request.metadata.env", exists: true }, true],
    [{ field: "attributes.tfy.request.metadata.env", exists: false }, false],
    // What every JavaScript object inherits is no member of the JSON: JSON text and key-value lists alike.
    [{ field: "attributes.tfy.request.metadata.constructor", exists: true }, false],
    [{ field: "attributes.tfy.request.metadata.__proto__", exists: true }, false],
    [{ field: "attributes.tfy.request.user.toString", exists: true }, false],
    // A JSON null is as good as absent.
    [{ field: "attributes.tfy.request.metadata.gone", exists: true }, false],
    [{ field: "attributes.tfy.request.metadata.gone", exists: false }, true],
    [{ field: "attributes.tfy.request.metadata.gone.deeper", exists: false }, true],
    // Key-value lists are descended into like JSON objects.
    [{ field: "attributes.tfy.request.user.plan", equals: "pro" }, true],
    [{ field: "attributes.http.response.status_code", equals: 200 }, true],
    [{ field: "attributes.http.response.status_code", equals: "200" }, true],
    [{ field: "attributes.http.response.status_code", equals: "200.0" }, false],
    [{ field: "attributes.http.response.status_code", equals: 201 }, false],
    [{ field: "attributes.http.response.status_code", one_of: [404, "200"] }, true],
    // A prefix is a test on text: a number does not start with anything.
    [{ field: "attributes.http.response.status_code", prefix: "2" }, false],
    [{ field: "attributes.padded", equals: 7 }, true],
    // Text that is a number but not JSON is compared as the number it spells.
    [{ field: "attributes.signed", equals: 5 }, true],
    [{ field: "attributes.signed", equals: 6 }, false],
    // Empty or blank text is not the number 0.
    [{ field: "attributes.empty", equals: 0 }, false],
    [{ field: "attributes.blank", equals: 0 }, false],
    [{ field: "attributes.tfy.model.streaming", equals: true }, true],
    // Either way round, as numbers: a route written with the text matches a boolean attribute.
    [{ field: "attributes.tfy.model.streaming", equals: "true" }, true],
    [{ field: "attributes.tfy.model.streaming", equals: "false" }, false],
    [{ field: "attributes.tfy.model.streaming", equals: "True" }, false],
    [{ field: "attributes.tfy.model.streaming", equals: 1 }, false],
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
        all: [
          { field: "span_name", prefix: "Chat" },
          { field: "scope_name", equals: "tfy" },
        ],
      },
      true,
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
    [
      {
        any: [
          { field: "span_name", prefix: "Model" },
          { field: "scope_name", equals: "other" },
        ],
      },
      false,
    ],
  ];

  it.each(cases)("%j → %s", (match, expected) => {
    expect(matches(match, target)).toBe(expected);
  });

  it("compares text that reads as a JSON number or boolean as the text it is: a caller's release 1.10 or id of 20 digits", () => {
    const texts = {
      span: spanWith("ChatCompletion: gpt", [
        attr("tfy.request.metadata.release", "1.10"),
        attr("tfy.request.metadata.customer", "12345678901234567890"),
        attr("tfy.request.metadata", { region: "2024", flag: "true" }),
      ]),
    };
    const holds = (match: Match) => matches(match, texts);

    expect(holds({ field: "attributes.tfy.request.metadata.release", equals: "1.10" })).toBe(true);
    expect(holds({ field: "attributes.tfy.request.metadata.release", prefix: "1.1" })).toBe(true);
    // Still the number it spells.
    expect(holds({ field: "attributes.tfy.request.metadata.release", equals: 1.1 })).toBe(true);
    expect(holds({ field: "attributes.tfy.request.metadata.customer", equals: "12345678901234567890" })).toBe(true);
    expect(holds({ field: "attributes.tfy.request.metadata.customer", equals: "12345678901234567891" })).toBe(false);
    expect(holds({ field: "attributes.tfy.request.metadata.customer", prefix: "1234" })).toBe(true);
    expect(holds({ field: "attributes.tfy.request.metadata.region", prefix: "20" })).toBe(true);
    expect(holds({ field: "attributes.tfy.request.metadata.flag", equals: "true" })).toBe(true);
    // A boolean still matches its text, as it did when such text was read as JSON.
    expect(holds({ field: "attributes.tfy.request.metadata.flag", equals: true })).toBe(true);
    expect(holds({ field: "attributes.tfy.request.metadata.flag", equals: false })).toBe(false);
  });

  it("compares an integer past 2^53, sent as a 64-bit integer or a JSON number, digit for digit with a route's text", () => {
    const integers = {
      span: spanWith("x", [attr("customer", 12345678901234567890n), attr("tfy.request.metadata", '{"customer":12345678901234567890}')]),
    };
    for (const field of ["attributes.customer", "attributes.tfy.request.metadata.customer"]) {
      expect(matches({ field, equals: "12345678901234567890" }, integers)).toBe(true);
      expect(matches({ field, one_of: ["1", "12345678901234567890"] }, integers)).toBe(true);
      // The double both round to is another id.
      expect(matches({ field, equals: "12345678901234567000" }, integers)).toBe(false);
      expect(matches({ field, equals: 12345678901234567000 }, integers)).toBe(false);
      expect(matches({ field, exists: true }, integers)).toBe(true);
    }
  });

  it("still reads a tenant stored with a route number past 2^53, which the admin API took before it refused one", () => {
    const routes = JSON.parse('[{"match":{"field":"attributes.customer","equals":12345678901234567890},"parent":"project_name:q"}]');

    expect(tenantRecord({ routes }).routes).toEqual(routes);
  });

  it("parses an attribute's JSON once for every condition of every route that reads it", () => {
    const big: SpanInContext = { span: spanWith("x", [attr("tfy.request.metadata", JSON.stringify({ a: "1", b: "2", c: "3" }))]) };
    const conditions: Match[] = ["a", "b", "c", "d"].map((key) => ({ field: `attributes.tfy.request.metadata.${key}`, exists: true }));
    const parse = vi.spyOn(JSON, "parse");
    try {
      expect(matches({ all: conditions }, big)).toBe(false);
      expect(matches({ any: conditions }, big)).toBe(true);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it("reads an attribute's own dotted key before descending into JSON", () => {
    const dotted = spanWith("x", [attr("a", JSON.stringify({ b: "nested" })), attr("a.b", "direct")]);
    expect(matches({ field: "attributes.a.b", equals: "direct" }, { span: dotted })).toBe(true);
  });

  it("finds nothing in a scope or resource the span was sent without", () => {
    const bare = { span: spanWith("x", []) };
    expect(matches({ field: "scope_name", exists: false }, bare)).toBe(true);
    expect(matches({ field: "resource.service.name", exists: false }, bare)).toBe(true);
  });

  it("reads resource attributes from the resource and span attributes from the span, never the other way", () => {
    const context = {
      span: spanWith("x", [attr("service.name", "from-span")]),
      resource: create(ResourceSchema, { attributes: [attr("service.name", "from-resource")] }),
    };
    expect(matches({ field: "resource.service.name", equals: "from-resource" }, context)).toBe(true);
    expect(matches({ field: "attributes.service.name", equals: "from-span" }, context)).toBe(true);
  });
});

describe("attribute values as conditions and translation read them", () => {
  it("reads scalars as themselves and 64-bit integers as numbers; other values are not scalars", () => {
    expect([attr("s", "x"), attr("b", false), attr("d", 1.5), attr("i", 7n)].map((a) => scalarOf(a.value))).toEqual(["x", false, 1.5, 7]);
    expect(scalarOf(anyValue(["x"]))).toBeUndefined();
    expect(scalarOf(undefined)).toBeUndefined();
  });

  it("reads a string attribute only when it is a string, a number attribute when it is a finite number or text that is one", () => {
    const attributes = [
      attr("s", "5"),
      attr("n", 5),
      attr("inf", Number.POSITIVE_INFINITY),
      attr("nan", Number.NaN),
      attr("text", "5 tokens"),
      attr("hex", "0x5"),
      attr("e", "-1.5e3"),
    ];
    expect(stringAttribute(attributes, "s")).toBe("5");
    expect(stringAttribute(attributes, "n")).toBeUndefined();
    expect(numberAttribute(attributes, "n")).toBe(5);
    // An exporter may write every value as text.
    expect(numberAttribute(attributes, "s")).toBe(5);
    expect(numberAttribute(attributes, "e")).toBe(-1500);
    expect(numberAttribute(attributes, "text")).toBeUndefined();
    expect(numberAttribute(attributes, "hex")).toBeUndefined();
    expect(numberAttribute(attributes, "inf")).toBeUndefined();
    expect(numberAttribute(attributes, "nan")).toBeUndefined();
    expect(numberAttribute(attributes, "missing")).toBeUndefined();
  });

  it("turns a value into JSON: JSON text of an object or list parsed, other text kept, arrays and key-value lists converted at any depth", () => {
    expect(jsonOf(attr("j", '{"a":[1,"x"]}').value)).toEqual({ a: [1, "x"] });
    expect(jsonOf(attr("t", "not json").value)).toBe("not json");
    expect(jsonOf(attr("n", "1.10").value)).toBe("1.10");
    expect(jsonOf(attr("z", "null").value)).toBe("null");
    expect(jsonOf(anyValue({ a: ["true", '{"b":1}'] }))).toEqual({ a: ["true", { b: 1 }] });
    expect(jsonOf(anyValue({ a: [1, { b: "x" }], c: true }))).toEqual({ a: [1, { b: "x" }], c: true });
    expect(jsonOf(undefined)).toBeUndefined();
  });

  it("descends from the longest attribute key that prefixes a dotted key, and into objects only", () => {
    const attributes = [
      attr("a", JSON.stringify({ b: { c: "from a" }, list: [{ x: 1 }], text: "t" })),
      attr("a.b", JSON.stringify({ c: "from a.b" })),
      attr("x.y", JSON.stringify({ other: 1 })),
      attr("x", JSON.stringify({ y: { z: "shadowed" } })),
      attr("", JSON.stringify({ missing: { key: "through the empty key" } })),
    ];
    expect(lookupDotted(attributes, "a.b.c")).toBe("from a.b");
    expect(lookupDotted(attributes, "a.list.0")).toBeUndefined();
    expect(lookupDotted(attributes, "a.text.length")).toBeUndefined();
    // The longest holder decides, even when it lacks the rest of the key.
    expect(lookupDotted(attributes, "x.y.z")).toBeUndefined();
    // An attribute with an empty key holds nothing a dotted key can reach.
    expect(lookupDotted(attributes, "missing.key")).toBeUndefined();
    expect(lookupDotted(attributes, "a")).toEqual({ b: { c: "from a" }, list: [{ x: 1 }], text: "t" });
  });
});

/** Where each span of the request goes, by span name, as the relay would send it for a tenant with these settings. */
function parentBySpan(request: ExportTraceServiceRequest, settings: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    relayed(request, { translate: false, ...settings }).requests.flatMap(({ parent, request: sent }) =>
      spansOf(sent).map((span) => [span.name, parent]),
    ),
  );
}

describe("deciding each trace's parent", () => {
  const evalRoute = { match: { field: "attributes.env", equals: "eval" }, parent: "experiment_id:evals" } as const;

  it("routes nothing for a tenant without routes or parent_from_attribute", () => {
    const tenant = tenantRecord();
    const request = requestOf([spanWith("x", [attr("env", "eval"), attr("braintrust.parent", "project_id:p")])]);

    expect(routesTraces(tenant)).toBe(false);
    expect(parentBySpan(request, {})).toEqual({ x: "project_name:default" });
  });

  it("counts routes or parent_from_attribute, either alone, as routing", () => {
    expect(routesTraces(tenantRecord({ routes: [evalRoute] }))).toBe(true);
    expect(routesTraces(tenantRecord({ parent_from_attribute: true }))).toBe(true);
  });

  it("goes on routing for a day after routing is turned off, however often the tenant changes in that day, and no longer", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    const routing = tenantRecord({ routes: [evalRoute] });
    const off = { routes: [], parent_from_attribute: false };
    const until = routedUntil(routing, off, now);
    expect(until).toBe("2026-12-02T12:00:00.000Z");
    const stopped = { ...tenantRecord(), routed_until: until };
    expect(routesTraces(stopped, now + 1000)).toBe(true);
    // Changed again an hour later, still without routes: the day runs from when routing stopped.
    expect(routedUntil(stopped, off, now + 3_600_000)).toBe(until);
    expect(routesTraces(stopped, Date.parse(until!) + 1)).toBe(false);
    expect(routedUntil(stopped, off, Date.parse(until!) + 1)).toBeUndefined();
    // Routing again needs no day of its own; a tenant created without routes never had one.
    expect(routedUntil(stopped, { routes: [evalRoute], parent_from_attribute: false }, now)).toBeUndefined();
    expect(routedUntil(undefined, off, now)).toBeUndefined();
    expect(routedUntil(tenantRecord(), off, now)).toBeUndefined();
  });

  it("sends each trace whole where any of its spans says, the first matching route winning", () => {
    const settings = {
      routes: [
        { match: { field: "span_name", equals: "to default" }, parent: "project_name:default" },
        evalRoute,
        { match: { field: "attributes.env", exists: true }, parent: "project_name:any-env" },
      ],
    };
    const [evalTrace, other, toDefault] = [randomId(16), randomId(16), randomId(16)];
    const request = requestOf([
      spanWith("root", [], { traceId: evalTrace }),
      spanWith("child", [attr("env", "eval")], { traceId: evalTrace }),
      spanWith("other", [attr("env", "prod")], { traceId: other }),
      spanWith("to default", [], { traceId: toDefault }),
      spanWith("to default, eval", [attr("env", "eval")], { traceId: toDefault }),
    ]);

    expect(parentBySpan(request, settings)).toEqual({
      root: "experiment_id:evals",
      child: "experiment_id:evals",
      other: "project_name:any-env",
      "to default": "project_name:default",
      "to default, eval": "project_name:default",
    });
  });

  it("takes a span's valid braintrust.parent ahead of routes, and ignores invalid ones and non-string ones", () => {
    const [chosen, invalid, numeric] = [randomId(16), randomId(16), randomId(16)];
    const request = requestOf([
      spanWith("a", [attr("env", "eval")], { traceId: chosen }),
      spanWith("a2", [attr("braintrust.parent", "project_id:chosen")], { traceId: chosen }),
      spanWith("b", [attr("env", "eval"), attr("braintrust.parent", "workspace:nope")], { traceId: invalid }),
      spanWith("c", [attr("braintrust.parent", 42)], { traceId: numeric }),
    ]);

    expect(parentBySpan(request, { parent_from_attribute: true, routes: [evalRoute] })).toEqual({
      a: "project_id:chosen",
      a2: "project_id:chosen",
      b: "experiment_id:evals",
      c: "project_name:default",
    });
  });

  it("ignores braintrust.parent unless the tenant opts in", () => {
    const request = requestOf([spanWith("a", [attr("braintrust.parent", "project_id:p")])]);

    expect(parentBySpan(request, { routes: [evalRoute] })).toEqual({ a: "project_name:default" });
  });
});

describe("grouping spans by parent", () => {
  it("sends a request whose spans all go to the default parent as the very bytes that came", () => {
    const request = requestOf([spanWith("a", [attr("env", "prod")])]);

    const { deliveries, body } = relayed(request, {
      translate: false,
      routes: [{ match: { field: "attributes.env", equals: "eval" }, parent: "experiment_id:e" }],
    });

    expect(deliveries.map((d) => d.parent)).toEqual(["project_name:default"]);
    expect(deliveries[0]!.payload.protobuf).toBe(body);
  });

  it("makes one request per parent, in order of first arrival, spans in arrival order under their resource and scope", () => {
    const [routed, plain] = [randomId(16), randomId(16)];
    const spans = [
      spanWith("p1", [], { traceId: plain }),
      spanWith("r1", [attr("env", "eval")], { traceId: routed }),
      spanWith("p2", [], { traceId: plain }),
      spanWith("r2", [], { traceId: routed }),
    ];
    const request = requestOf(spans, "my-scope");

    const { requests } = relayed(request, {
      translate: false,
      routes: [{ match: { field: "attributes.env", equals: "eval" }, parent: "experiment_id:e" }],
    });

    expect(requests.map((b) => [b.parent, spansOf(b.request).map((s) => s.name)])).toEqual([
      ["project_name:default", ["p1", "p2"]],
      ["experiment_id:e", ["r1", "r2"]],
    ]);
    for (const { request: sent } of requests) {
      expect(sent.resourceSpans[0]!.scopeSpans[0]!.scope?.name).toBe("my-scope");
      expect(sent.resourceSpans[0]!.resource).toEqual(request.resourceSpans[0]!.resource);
    }
  });
});
