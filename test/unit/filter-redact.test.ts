import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Span_EventSchema, Span_LinkSchema, StatusSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { dropNonAiSpans } from "../../src/process/filter.js";
import { compileRedaction, maskValues, redactKeys } from "../../src/process/redact.js";
import { RedactSchema } from "../../src/tenants/processing-schema.js";
import { attr, attributesOf, randomId, requestOf, spansOf, spanWith } from "../support/traces.js";

/** The compiled rules of a tenant's `redact`, parsed as the admin API parses it. */
function rules(redact: Record<string, unknown>) {
  const compiled = compileRedaction(RedactSchema.parse(redact));
  if (!compiled) throw new Error("no rules");
  return compiled;
}

describe("dropping non-AI spans", () => {
  const root = spanWith("HTTP POST /chat", []);
  const child = (name: string, attributes: ReturnType<typeof attr>[] = []) =>
    spanWith(name, attributes, { traceId: root.traceId, parentSpanId: root.spanId });

  it.each(["gen_ai.", "braintrust.", "llm.", "ai.", "traceloop.", "tfy."])(
    "keeps a child whose name or an attribute key starts with %s",
    (prefix) => {
      const request = requestOf([
        root,
        child(`${prefix}chat`),
        child("by key", [attr(`${prefix}x`, 1)]),
        child(`db ${prefix}`, [attr(`x.${prefix}`, 1)]),
      ]);

      expect(dropNonAiSpans(request)).toBe(1);
      expect(spansOf(request).map((s) => s.name)).toEqual(["HTTP POST /chat", `${prefix}chat`, "by key"]);
    },
  );

  it("always keeps roots, and does not count braintrust.parent, .org or .app_url alone", () => {
    const request = requestOf([
      spanWith("redis GET", []),
      child("routed only", [attr("braintrust.parent", "project_id:p"), attr("braintrust.org", "o"), attr("braintrust.app_url", "u")]),
      child("routed and scored", [attr("braintrust.parent", "project_id:p"), attr("braintrust.scores", "{}")]),
      child("redis SET", [attr("db.system", "redis")]),
    ]);

    expect(dropNonAiSpans(request)).toBe(2);
    expect(spansOf(request).map((s) => s.name)).toEqual(["redis GET", "routed and scored"]);
  });
});

describe("redacting keys", () => {
  it("has no rules to compile when the tenant has none, and compiles a record's rules once", () => {
    const redact = RedactSchema.parse({ keys: [{ pattern: "x" }] });

    expect(compileRedaction(RedactSchema.parse({}))).toBeUndefined();
    expect(compileRedaction(redact)).toBe(compileRedaction(redact));
    expect(compileRedaction(RedactSchema.parse({ values: ["emails"] }))).toBeDefined();
  });

  it("matches whole keys by glob: * is any run of characters, everything else is literal", () => {
    const keys = ["tfy.input", "xtfy.input", "tfy.inputs", "tfyXinput", "a+b(c)", "aab(c)", "prompt.0.secret", "secret"];
    const request = requestOf([
      spanWith(
        "s",
        keys.map((k) => attr(k, "v")),
      ),
    ]);

    const changed = redactKeys(request, rules({ keys: [{ pattern: "tfy.input" }, { pattern: "a+b(c)" }, { pattern: "*.secret" }] }));

    expect(changed).toBe(true);
    expect(Object.keys(attributesOf(spansOf(request)[0]!))).toEqual(["xtfy.input", "tfy.inputs", "tfyXinput", "aab(c)", "secret"]);
  });

  it("removes every matching attribute, the first and adjacent ones included", () => {
    const request = requestOf([spanWith("s", [attr("k1", 1), attr("k2", 2), attr("other", 3), attr("k3", 4)])]);

    redactKeys(request, rules({ keys: [{ pattern: "k*" }] }));

    expect(Object.keys(attributesOf(spansOf(request)[0]!))).toEqual(["other"]);
  });

  it("replaces a value with the first matching rule's replacement when asked to", () => {
    const request = requestOf([spanWith("s", [attr("tfy.input", "secret"), attr("other", 1)])]);

    redactKeys(
      request,
      rules({
        keys: [
          { pattern: "tfy.*", action: "replace", replacement: "[first]" },
          { pattern: "tfy.input", action: "replace", replacement: "[second]" },
        ],
      }),
    );

    expect(spansOf(request)[0]!.attributes).toEqual([attr("tfy.input", "[first]"), attr("other", 1)]);
  });

  it("reaches resource, scope, event and link attributes", () => {
    const span = spanWith("s", [attr("secret", "span")]);
    span.events.push(create(Span_EventSchema, { name: "e", attributes: [attr("secret", "event")] }));
    span.links.push(create(Span_LinkSchema, { traceId: randomId(16), spanId: randomId(8), attributes: [attr("secret", "link")] }));
    const request = requestOf([span]);
    request.resourceSpans[0]!.resource!.attributes.push(attr("secret", "resource"));
    request.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes.push(attr("secret", "scope"));

    redactKeys(request, rules({ keys: [{ pattern: "secret", action: "replace" }] }));

    const values = [
      span.attributes,
      span.events[0]!.attributes,
      span.links[0]!.attributes,
      request.resourceSpans[0]!.resource!.attributes,
      request.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes,
    ].map((list) => list.find((a) => a.key === "secret")?.value?.value.value);
    expect(values).toEqual(["[REDACTED]", "[REDACTED]", "[REDACTED]", "[REDACTED]", "[REDACTED]"]);
  });

  it("says whether anything changed", () => {
    const request = requestOf([spanWith("s", [attr("a", 1)])]);

    expect(redactKeys(request, rules({ keys: [{ pattern: "b" }] }))).toBe(false);
    expect(redactKeys(request, rules({ values: ["emails"] }))).toBe(false);
    expect(spansOf(request)[0]!.attributes).toEqual([attr("a", 1)]);
  });
});

describe("masking values", () => {
  it("masks the built-in API key and email patterns with [REDACTED], every occurrence", () => {
    const text =
      "keys sk-proj-abcdefghijklmnop1234 and rk-ABCDEFGHIJKLMNOP, Bearer abc.def_ghi-jkl~mno+pq/rs==, mail a.b@example.co and c@d.io; short sk-abc";
    const request = requestOf([spanWith("s", [attr("t", text)])]);

    const changed = maskValues(request, rules({ values: ["api_keys", "emails"] }));

    expect(changed).toBe(true);
    expect(attributesOf(spansOf(request)[0]!).t).toBe(
      "keys [REDACTED] and [REDACTED], [REDACTED], mail [REDACTED] and [REDACTED]; short sk-abc",
    );
  });

  it("applies custom patterns in order, each with its replacement", () => {
    const request = requestOf([spanWith("s", [attr("t", "ACCT-123456 ACCT-654321")])]);

    maskValues(
      request,
      rules({
        values: [
          { pattern: "ACCT-\\d{6}", replacement: "ACCT-<n>" },
          { pattern: "<n>", replacement: "******" },
        ],
      }),
    );

    expect(attributesOf(spansOf(request)[0]!).t).toBe("ACCT-****** ACCT-******");
  });

  it("masks span status messages, and says so", () => {
    const span = spanWith("s", [attr("n", 1)]);
    span.status = create(StatusSchema, { code: 2, message: "failed for bob@example.com" });
    const request = requestOf([span, spanWith("no status", [])]);

    expect(maskValues(request, rules({ values: ["emails"] }))).toBe(true);
    expect(span.status.message).toBe("failed for [REDACTED]");
  });

  it("leaves numbers, booleans and text without a match alone, and says nothing changed", () => {
    const span = spanWith("s", [attr("n", 1), attr("b", true), attr("t", "plain"), attr("list", ["plain"])]);
    span.status = create(StatusSchema, { message: "ok" });
    const request = requestOf([span]);

    expect(maskValues(request, rules({ values: ["emails"] }))).toBe(false);
    expect(maskValues(request, rules({ keys: [{ pattern: "t" }] }))).toBe(false);
    expect(span.attributes).toEqual([attr("n", 1), attr("b", true), attr("t", "plain"), attr("list", ["plain"])]);
  });

  it("reaches into arrays and key-value lists at any depth, and every attribute list", () => {
    const span = spanWith("s", [attr("nested", { to: ["a@example.com", { cc: "b@example.com" }] })]);
    span.events.push(create(Span_EventSchema, { name: "e", attributes: [attr("to", "c@example.com")] }));
    span.links.push(create(Span_LinkSchema, { traceId: randomId(16), spanId: randomId(8), attributes: [attr("to", "d@example.com")] }));
    const request = requestOf([span]);
    request.resourceSpans[0]!.resource!.attributes.push(attr("owner", "e@example.com"));
    request.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes.push(attr("owner", "f@example.com"));

    expect(maskValues(request, rules({ values: ["emails"] }))).toBe(true);

    expect(span.attributes).toEqual([attr("nested", { to: ["[REDACTED]", { cc: "[REDACTED]" }] })]);
    expect(span.events[0]!.attributes).toEqual([attr("to", "[REDACTED]")]);
    expect(span.links[0]!.attributes).toEqual([attr("to", "[REDACTED]")]);
    expect(request.resourceSpans[0]!.resource!.attributes.at(-1)).toEqual(attr("owner", "[REDACTED]"));
    expect(request.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes).toEqual([attr("owner", "[REDACTED]")]);
  });
});
