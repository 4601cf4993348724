import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { Span_EventSchema, Span_LinkSchema, StatusSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, spansOf, toProtobuf } from "../../scripts/lib/traces.js";
import { maskEmails } from "../../src/process/mask-emails.js";
import { compileRedaction } from "../../src/process/redact.js";
import { RedactSchema } from "../../src/tenants/processing-schema.js";
import { relayed } from "../support/pipeline.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";

/** What the relay sends for `request` from a tenant with these settings, translation off: the one upstream request. */
function sent(request: ExportTraceServiceRequest, settings: Record<string, unknown>): ExportTraceServiceRequest {
  const { requests } = relayed(request, { translate: false, ...settings });
  expect(requests).toHaveLength(1);
  return requests[0]!.request;
}

/** What the relay sends for `request` from a tenant masking these values. */
function masked(request: ExportTraceServiceRequest, values: unknown[]): ExportTraceServiceRequest {
  return sent(request, { redact: { values } });
}

/** The attributes of the one span sent for a span of these attributes, from a tenant masking these values. */
function maskedAttributes(attributes: ReturnType<typeof attr>[], values: unknown[]): Record<string, unknown> {
  return attributesOf(spansOf(masked(requestOf([spanWith("s", attributes)]), values))[0]!);
}

/** Whether the relay sent the request's own bytes, untouched. */
function untouched(request: ExportTraceServiceRequest, settings: Record<string, unknown>): boolean {
  const { deliveries, body } = relayed(request, { translate: false, ...settings });
  return deliveries.length === 1 && deliveries[0]!.payload.protobuf === body;
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

      expect(spansOf(sent(request, { drop_non_ai_spans: true })).map((s) => s.name)).toEqual([
        "HTTP POST /chat",
        `${prefix}chat`,
        "by key",
      ]);
    },
  );

  it("always keeps roots (a parent of zeros is none), and does not count braintrust.parent, .org or .app_url alone", () => {
    const request = requestOf([
      spanWith("redis GET", []),
      spanWith("redis DEL", [], { parentSpanId: new Uint8Array(8) }),
      child("routed only", [attr("braintrust.parent", "project_id:p"), attr("braintrust.org", "o"), attr("braintrust.app_url", "u")]),
      child("routed and scored", [attr("braintrust.parent", "project_id:p"), attr("braintrust.scores", "{}")]),
      child("redis SET", [attr("db.system", "redis")]),
    ]);

    expect(spansOf(sent(request, { drop_non_ai_spans: true })).map((s) => s.name)).toEqual(["redis GET", "redis DEL", "routed and scored"]);
  });
});

describe("redacting keys", () => {
  it("has no rules to compile when the tenant has none, and compiles a record's rules once", () => {
    const redact = RedactSchema.parse({ keys: [{ pattern: "x" }] });

    expect(compileRedaction(RedactSchema.parse({}))).toBeUndefined();
    expect(compileRedaction(redact)).toBe(compileRedaction(redact));
    expect(compileRedaction(RedactSchema.parse({ values: ["emails"] }))).toEqual({
      keys: [],
      values: [expect.any(Function)],
      anchored: [],
      unanchored: [expect.any(Function)],
    });
  });

  it("matches whole keys by glob: * is any run of characters, everything else is literal", () => {
    const keys = ["tfy.input", "xtfy.input", "tfy.inputs", "tfyXinput", "a+b(c)", "aab(c)", "prompt.0.secret", "secret"];
    const request = requestOf([
      spanWith(
        "s",
        keys.map((k) => attr(k, "v")),
      ),
    ]);

    const out = sent(request, { redact: { keys: [{ pattern: "tfy.input" }, { pattern: "a+b(c)" }, { pattern: "*.secret" }] } });

    expect(Object.keys(attributesOf(spansOf(out)[0]!))).toEqual(["xtfy.input", "tfy.inputs", "tfyXinput", "aab(c)", "secret"]);
  });

  it("removes every matching attribute, the first and adjacent ones included", () => {
    const request = requestOf([spanWith("s", [attr("k1", 1), attr("k2", 2), attr("other", 3), attr("k3", 4)])]);

    const out = sent(request, { redact: { keys: [{ pattern: "k*" }] } });

    expect(Object.keys(attributesOf(spansOf(out)[0]!))).toEqual(["other"]);
  });

  it("keeps prompts out, translated or not, with the README's rules: every place either gateway shape puts one", () => {
    const prompt = "card 4111";
    const current = spanWith("ChatCompletion", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: prompt }] })),
      attr("tfy.input_short_hand", prompt),
      attr("tfy.resolved_input", JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: prompt }] })),
      attr("tfy.output", '{"choices":[]}'),
    ]);
    const older = spanWith("chatCompletions", [
      attr("gen_ai.request.model", "openai-main/gpt-4o"),
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", prompt),
      attr("gen_ai.input.messages", JSON.stringify([{ role: "user", parts: [{ type: "text", content: prompt }] }])),
      attr("gen_ai.system_instructions", JSON.stringify([{ type: "text", content: prompt }])),
      attr("gen_ai.completion.0.content", "Noted."),
    ]);
    older.events = [create(Span_EventSchema, { name: "gen_ai.user.message", attributes: [attr("content", prompt)] })];
    const keys = ["tfy.input*", "tfy.resolved_input", "gen_ai.prompt.*", "gen_ai.input.messages", "gen_ai.system_instructions", "content"];
    const redact = { keys: keys.map((pattern) => ({ pattern })) };

    // Every string of a request is its UTF-8 in the bytes sent.
    const sentText = (settings: Record<string, unknown>) =>
      relayed(requestOf([current, older]), settings)
        .requests.map((r) => new TextDecoder().decode(toProtobuf(r.request)))
        .join();
    expect(sentText({ translate: false, redact })).not.toContain(prompt);
    expect(sentText({ translate: true, redact })).not.toContain(prompt);
    // Without the rules, it is there: the checks above can fail.
    expect(sentText({ translate: true })).toContain(prompt);
  });

  it("replaces a value with the first matching rule's replacement when asked to", () => {
    const request = requestOf([spanWith("s", [attr("tfy.input", "secret"), attr("other", 1)])]);

    const out = sent(request, {
      redact: {
        keys: [
          { pattern: "tfy.*", action: "replace", replacement: "[first]" },
          { pattern: "tfy.input", action: "replace", replacement: "[second]" },
        ],
      },
    });

    expect(spansOf(out)[0]!.attributes).toEqual([attr("tfy.input", "[first]"), attr("other", 1)]);
  });

  it("reaches resource, scope, event and link attributes", () => {
    const span = spanWith("s", [attr("secret", "span")]);
    span.events.push(create(Span_EventSchema, { name: "e", attributes: [attr("secret", "event")] }));
    span.links.push(create(Span_LinkSchema, { traceId: randomId(16), spanId: randomId(8), attributes: [attr("secret", "link")] }));
    const request = requestOf([span]);
    request.resourceSpans[0]!.resource!.attributes.push(attr("secret", "resource"));
    request.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes.push(attr("secret", "scope"));

    const out = sent(request, { redact: { keys: [{ pattern: "secret", action: "replace" }] } });

    const [outSpan] = spansOf(out);
    const values = [
      outSpan!.attributes,
      outSpan!.events[0]!.attributes,
      outSpan!.links[0]!.attributes,
      out.resourceSpans[0]!.resource!.attributes,
      out.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes,
    ].map((list) => list.find((a) => a.key === "secret")?.value?.value.value);
    expect(values).toEqual(["[REDACTED]", "[REDACTED]", "[REDACTED]", "[REDACTED]", "[REDACTED]"]);
  });

  it("reaches keys nested in key-value lists and lists by their dotted path, as flattened attributes name them", () => {
    const request = requestOf([
      spanWith("s", [
        attr("tfy.request.metadata", { env: "prod", user_email: "bob@example.com", auth: { token: "hunter2", scheme: "bearer" } }),
        attr("calls", [{ secret: "kept: not the second call" }, { secret: "s3cr3t", name: "two" }]),
        attr("tags", ["a", "b", "c"]),
        attr("ids", ["id-1", "id-2"]),
        attr("matrix", [["a", "b"], ["c"]]),
        attr("tfy.request.metadata.user_email", "bob@example.com"),
      ]),
    ]);
    const keys = [
      { pattern: "tfy.request.metadata.user_email" },
      { pattern: "*.token", action: "replace", replacement: "[hidden]" },
      { pattern: "calls.1.secret" },
      { pattern: "tags.1" },
      { pattern: "ids.0", action: "replace", replacement: "[hidden]" },
      { pattern: "matrix.0.1" },
      // Past the list's end: nothing to replace.
      { pattern: "tags.3", action: "replace" },
    ];

    expect(spansOf(sent(request, { redact: { keys } }))[0]!.attributes).toEqual([
      attr("tfy.request.metadata", { env: "prod", auth: { token: "[hidden]", scheme: "bearer" } }),
      attr("calls", [{ secret: "kept: not the second call" }, { name: "two" }]),
      attr("tags", ["a", "c"]),
      attr("ids", ["[hidden]", "id-2"]),
      attr("matrix", [["a"], ["c"]]),
    ]);
  });

  it("reaches keys and list items inside JSON an attribute holds as text, leaving the rest of it byte for byte", () => {
    const request = requestOf([
      spanWith("s", [
        attr(
          "tfy.request.metadata",
          '{"env": "prod", "user_email":"bob@example.com", "n": 12345678901234567890, "auth": {"token": "hunter2"}}',
        ),
        attr("calls", '[{"secret": "kept"}, {"secret": "s3cr3t", "name": "two"}]'),
        attr("tfy.input", '{"user_email": "not under tfy.request.metadata", "token": 1}'),
        attr("meta", '{"emails": ["bob@example.com", "ann@example.com"]}'),
        attr("note", "{not json at all, user_email"),
      ]),
    ]);
    const keys = [
      { pattern: "tfy.request.metadata.user_email" },
      { pattern: "*.token", action: "replace", replacement: "[hidden]" },
      { pattern: "calls.1.secret" },
      { pattern: "meta.emails.0", action: "replace", replacement: "[hidden]" },
    ];

    expect(spansOf(sent(request, { redact: { keys } }))[0]!.attributes).toEqual([
      attr("tfy.request.metadata", '{"env":"prod","n":12345678901234567890,"auth":{"token":"[hidden]"}}'),
      attr("calls", '[{"secret": "kept"},{"name":"two"}]'),
      attr("tfy.input", '{"user_email":"not under tfy.request.metadata","token":"[hidden]"}'),
      attr("meta", '{"emails":["[hidden]","ann@example.com"]}'),
      attr("note", "{not json at all, user_email"),
    ]);
  });

  it("sends a span anew when a rule changed only a list's item or what is inside its JSON", () => {
    const inList = requestOf([spanWith("s", [attr("tokens", ["public", "hunter2"])])]);
    const inJson = requestOf([spanWith("s", [attr("tfy.input", '{"token": "hunter2"}')])]);
    const redact = { keys: [{ pattern: "tokens.1" }, { pattern: "tfy.input.token" }] };

    expect(untouched(inList, { redact })).toBe(false);
    expect(spansOf(sent(inList, { redact }))[0]!.attributes).toEqual([attr("tokens", ["public"])]);
    expect(untouched(inJson, { redact })).toBe(false);
    expect(spansOf(sent(inJson, { redact }))[0]!.attributes).toEqual([attr("tfy.input", "{}")]);
  });

  it("takes whole, with the first rule that could reach into it, JSON too deep to search", () => {
    const tooDeep = `${"[".repeat(300)}${"]".repeat(300)}`;
    const request = requestOf([
      spanWith("s", [
        attr("deep", `{"user_email": "bob@example.com", "x": ${tooDeep}}`),
        attr("replaced", `{"user_email": "bob@example.com", "x": ${tooDeep}}`),
        attr("far", tooDeep),
        // Deeper than keys are searched (32 levels): what a rule could reach into is taken whole.
        attr("nested", `{"a": ${'{"n": 1, "b": '.repeat(40)}{"password": "hunter2"}${"}".repeat(40)}}`),
        // As deep, but no rule could reach below its second level: nothing is taken.
        attr("kept", `{"a": ${'{"b": '.repeat(40)}{"password": "hunter2"}${"}".repeat(40)}}`),
      ]),
    ]);
    const keys = [
      { pattern: "deep.user_email" },
      { pattern: "replaced.*", action: "replace", replacement: "[hidden]" },
      { pattern: "nested.*.password" },
      { pattern: "kept.a.password" },
    ];

    const attributes = spansOf(sent(request, { redact: { keys } }))[0]!.attributes;

    expect(attributes.map((a) => a.key)).toEqual(["replaced", "far", "nested", "kept"]);
    expect(attributesOf(spanWith("", attributes))).toMatchObject({
      replaced: '"[hidden]"',
      far: tooDeep,
      nested: `{"a":${'{"n":1,"b":'.repeat(30)}{"n":1}${"}".repeat(30)}}`,
      kept: `{"a": ${'{"b": '.repeat(40)}{"password": "hunter2"}${"}".repeat(40)}}`,
    });
  });

  it("takes whole, with the first rule that could reach into it, what is below a path past 512 characters, whose members would each cost its length", () => {
    const key = (length: number) => "k".repeat(length);
    const request = requestOf([
      spanWith("s", [
        attr(key(512), '{"token": "hunter2", "n": 1}'),
        attr(key(513), '{"n": 1}'),
        attr(`x${key(512)}`, { n: 1 }),
        attr(`y${key(512)}`, ["a"]),
        attr("meta", `{"${key(508)}": {"token": "hunter2", "n": 1}, "${key(507)}": {"token": "hunter2", "n": 1}}`),
        attr(`z${key(512)}`, "not JSON"),
        attr(`w${key(511)}`, { token: "hunter2", n: "1" }),
      ]),
    ]);
    const keys = [{ pattern: "x*.token", action: "replace", replacement: "[hidden]" }, { pattern: "*.token" }];

    const attributes = spansOf(sent(request, { redact: { keys } }))[0]!.attributes;

    // Removed whole: the JSON and the list below paths of 513 characters; replaced whole, the key-value list.
    expect(attributes.map((a) => a.key.slice(0, 2))).toEqual(["kk", "xk", "me", "zk", "wk"]);
    expect(attributesOf(spanWith("", attributes))).toEqual({
      [key(512)]: '{"n":1}',
      [`x${key(512)}`]: "[hidden]",
      // meta's first member's path is 5 + 508 characters, its second's 5 + 507: searched.
      meta: `{"${key(507)}":{"n":1}}`,
      [`z${key(512)}`]: "not JSON",
      [`w${key(511)}`]: expect.anything(),
    });
    expect(attributes.at(-1)).toEqual(attr(`w${key(511)}`, { n: "1" }));
    // Taken whole only by a rule that could reach into it; and sent anew when that is all a rule changed.
    const alone = requestOf([spanWith("s", [attr(key(513), { n: "1" })])]);
    const beside = requestOf([spanWith("s", [attr(key(513), { n: "1" }), attr("secret", "s3cr3t")])]);
    expect(spansOf(sent(beside, { redact: { keys: [{ pattern: "k.token" }, { pattern: "secret" }] } }))[0]!.attributes).toEqual([
      attr(key(513), { n: "1" }),
    ]);
    expect(untouched(alone, { redact: { keys: [{ pattern: "*.token" }] } })).toBe(false);
    expect(spansOf(sent(alone, { redact: { keys: [{ pattern: "*.token" }] } }))[0]!.attributes).toEqual([]);
  });

  it("routes on what the spans and their resource said before redaction", () => {
    const request = requestOf([spanWith("s", [attr("env", "eval")])]);
    request.resourceSpans[0]!.resource!.attributes.push(attr("team", "search"));
    const routes = [
      {
        match: {
          all: [
            { field: "attributes.env", equals: "eval" },
            { field: "resource.team", equals: "search" },
          ],
        },
        parent: "experiment_id:e",
      },
    ];

    const { requests } = relayed(request, { translate: false, routes, redact: { keys: [{ pattern: "env" }, { pattern: "team" }] } });

    expect(requests.map((r) => r.parent)).toEqual(["experiment_id:e"]);
    expect(spansOf(requests[0]!.request)[0]!.attributes).toEqual([]);
    expect(requests[0]!.request.resourceSpans[0]!.resource!.attributes.map((a) => a.key)).toEqual(["service.name"]);
  });

  it("sends the request's own bytes when no rule matched anything", () => {
    const request = requestOf([spanWith("s", [attr("a", 1)])]);

    expect(untouched(request, { redact: { keys: [{ pattern: "b" }] } })).toBe(true);
    expect(untouched(request, { redact: { values: ["emails"] } })).toBe(true);
    expect(untouched(request, { redact: { keys: [{ pattern: "a" }] } })).toBe(false);
  });

  it("never sends the request's own bytes when they hold a resource or scope without spans, which redaction never read", () => {
    const withEmpty = (where: "resource" | "scope") => {
      const empty = { scope: { attributes: [attr("user", "bob@example.com")] }, spans: [] };
      return create(ExportTraceServiceRequestSchema, {
        resourceSpans: [
          { scopeSpans: [{ spans: [spanWith("s", [attr("a", 1)])] }, ...(where === "scope" ? [empty] : [])] },
          ...(where === "resource" ? [{ resource: { attributes: [attr("user", "bob@example.com")] }, scopeSpans: [] }] : []),
        ],
      });
    };

    for (const where of ["resource", "scope"] as const) {
      const { deliveries, body } = relayed(withEmpty(where), { translate: false, redact: { values: ["emails"] } });

      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]!.payload.protobuf).not.toBe(body);
      expect(new TextDecoder().decode(deliveries[0]!.payload.protobuf)).not.toContain("bob@example.com");
      // A tenant that processes spans but does not redact sends them as they came.
      const translating = relayed(withEmpty(where));
      expect(translating.deliveries[0]!.payload.protobuf).toBe(translating.body);
    }
  });
});

describe("masking values", () => {
  it("masks the built-in API key and email patterns with [REDACTED], every occurrence", () => {
    const text =
      "keys sk-proj-abcdefghijklmnop1234 and rk-ABCDEFGHIJKLMNOP, Bearer abc.def_ghi-jkl~mno+pq/rs==, mail a.b@example.co and c@d.io; short sk-abc";
    const request = requestOf([spanWith("s", [attr("t", text)])]);

    expect(attributesOf(spansOf(masked(request, ["api_keys", "emails"]))[0]!).t).toBe(
      "keys [REDACTED] and [REDACTED], [REDACTED], mail [REDACTED] and [REDACTED]; short sk-abc",
    );
  });

  it("masks every address the plain email pattern matches, and nothing else", () => {
    const plain = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
    const texts = fc.string({ unit: fc.constantFrom("a", "B", "7", ".", "-", "_", "+", "@", " ", "!"), maxLength: 40 });
    fc.assert(
      fc.property(texts, (text) => {
        const request = requestOf([spanWith("s", [attr("t", text)])]);
        expect(attributesOf(spansOf(masked(request, ["emails"]))[0]!).t).toBe(text.replace(plain, "[REDACTED]"));
      }),
    );
  });

  it("masks an address after a run of a million characters that holds none", () => {
    const text = `${"a.".repeat(500_000)} to bob@example.com`;
    const request = requestOf([spanWith("s", [attr("t", text)])]);

    expect(attributesOf(spansOf(masked(request, ["emails"]))[0]!).t).toBe(`${"a.".repeat(500_000)} to [REDACTED]`);
  });

  it("masks text behind a JSON escape and changes nothing else of the value, byte for byte", () => {
    const text = '{"seed":12345678901234567890,"n":1.50, "to":"bob\\u0040example.com","line":"a\\nb"}';
    const request = requestOf([spanWith("s", [attr("t", text)])]);

    expect(attributesOf(spansOf(masked(request, ["emails"]))[0]!).t).toBe(
      '{"seed":12345678901234567890,"n":1.50, "to":"[REDACTED]","line":"a\\nb"}',
    );
  });

  it("keeps a JSON value JSON when a match follows an escape", () => {
    const text = JSON.stringify({ note: "Contact:\nbob@example.com", id: 7 });
    const request = requestOf([spanWith("s", [attr("t", text)])]);

    const out = attributesOf(spansOf(masked(request, ["emails"]))[0]!).t as string;

    expect(JSON.parse(out)).toEqual({ note: "Contact:\n[REDACTED]", id: 7 });
  });

  it("masks a pattern spanning a JSON value's keys and values, and text that is a bare JSON scalar as text", () => {
    const request = requestOf([
      spanWith("s", [attr("json", '{"password":"hunter2","user":"ana"}'), attr("number", "4111111111111111"), attr("null", " null ")]),
    ]);

    const out = attributesOf(
      spansOf(
        masked(request, [
          { pattern: '"password":"[^"]*"', replacement: '"password":"***"' },
          { pattern: "^\\d{16}$", replacement: "[CARD]" },
          { pattern: "null", replacement: "N/A" },
        ]),
      )[0]!,
    );

    expect(out).toMatchObject({ json: '{"password":"***","user":"ana"}', number: "[CARD]", null: " N/A " });
  });

  it("masks a JSON value's strings alike whether or not another string of it has an escape", () => {
    const card = [{ pattern: "^\\d{16}$", replacement: "[CARD]" }];
    const plain = requestOf([spanWith("s", [attr("v", '{"card":"4111111111111111","note":"ab"}')])]);
    const escaped = requestOf([spanWith("s", [attr("v", '{"card":"4111111111111111","note":"a\\nb"}')])]);
    const cardOf = (request: ExportTraceServiceRequest) =>
      (JSON.parse(attributesOf(spansOf(masked(request, card))[0]!).v as string) as { card: string }).card;

    expect(cardOf(escaped)).toBe(cardOf(plain));
  });

  it("applies custom patterns in order, each with its replacement", () => {
    const request = requestOf([spanWith("s", [attr("t", "ACCT-123456 ACCT-654321")])]);

    const out = masked(request, [
      { pattern: "ACCT-\\d{6}", replacement: "ACCT-<n>" },
      { pattern: "<n>", replacement: "******" },
    ]);

    expect(attributesOf(spansOf(out)[0]!).t).toBe("ACCT-****** ACCT-******");
  });

  it("masks span status messages", () => {
    const span = spanWith("s", [attr("n", 1)]);
    span.status = create(StatusSchema, { code: 2, message: "failed for bob@example.com" });
    const request = requestOf([span, spanWith("no status", [])]);

    expect(spansOf(masked(request, ["emails"]))[0]!.status?.message).toBe("failed for [REDACTED]");
    expect(untouched(request, { redact: { values: ["emails"] } })).toBe(false);
  });

  it("leaves numbers, booleans and text without a match alone, and sends the bytes as they came", () => {
    const span = spanWith("s", [attr("n", 1), attr("b", true), attr("t", "plain"), attr("list", ["plain"])]);
    span.status = create(StatusSchema, { message: "ok" });
    const request = requestOf([span]);

    expect(untouched(request, { redact: { values: ["emails"] } })).toBe(true);
    expect(spansOf(masked(request, ["emails"]))[0]!.attributes).toEqual([
      attr("n", 1),
      attr("b", true),
      attr("t", "plain"),
      attr("list", ["plain"]),
    ]);
  });

  it("reaches into arrays and key-value lists at any depth, and every attribute list", () => {
    const span = spanWith("s", [
      attr("nested", { to: ["a@example.com", { cc: "b@example.com", "g@example.com": "vip", "h@example.com": "admin" }] }),
    ]);
    span.events.push(create(Span_EventSchema, { name: "e", attributes: [attr("to", "c@example.com")] }));
    span.links.push(create(Span_LinkSchema, { traceId: randomId(16), spanId: randomId(8), attributes: [attr("to", "d@example.com")] }));
    const request = requestOf([span]);
    request.resourceSpans[0]!.resource!.attributes.push(attr("owner", "e@example.com"));
    request.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes.push(attr("owner", "f@example.com"));

    const out = masked(request, ["emails"]);

    const [outSpan] = spansOf(out);
    // Keys masked into one are told apart, as Braintrust shows the list as an object.
    expect(outSpan!.attributes).toEqual([
      attr("nested", { to: ["[REDACTED]", { cc: "[REDACTED]", "[REDACTED]": "vip", "[REDACTED] (2)": "admin" }] }),
    ]);
    expect(outSpan!.events[0]!.attributes).toEqual([attr("to", "[REDACTED]")]);
    expect(outSpan!.links[0]!.attributes).toEqual([attr("to", "[REDACTED]")]);
    expect(out.resourceSpans[0]!.resource!.attributes.at(-1)).toEqual(attr("owner", "[REDACTED]"));
    expect(out.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes).toEqual([attr("owner", "[REDACTED]")]);
  });

  it("tells apart every key of a key-value list masked into one, and from a key that was already the mask", () => {
    const span = spanWith("s", [attr("map", { "a@example.com": 1, "[REDACTED]": "as sent", "b@example.com": 2, "c@example.com": 3 })]);

    expect(spansOf(masked(requestOf([span]), ["emails"]))[0]!.attributes).toEqual([
      attr("map", { "[REDACTED] (2)": 1, "[REDACTED]": "as sent", "[REDACTED] (3)": 2, "[REDACTED] (4)": 3 }),
    ]);
  });
});

describe("masking values token by token, and metrics' names", () => {
  const digits = { pattern: "\\d{7,}", replacement: "[NUM]" };

  it("masks every string and scalar of a JSON value on its own once masking it as text broke its JSON, and text that only looks like JSON as text", () => {
    const out = maskedAttributes(
      [
        attr("escaped", JSON.stringify({ a: "x\nbob@example.com", b: "c@d.io", n: 5551234567 })),
        attr("bare", '{"n": 5551234567}'),
        attr("not json", "{not json, bob@example.com"),
      ],
      ["emails", digits],
    );

    expect(out).toEqual({
      escaped: '{"a":"x\\n[REDACTED]","b":"[REDACTED]","n":"[NUM]"}',
      bare: '{"n": "[NUM]"}',
      "not json": "{not json, [REDACTED]",
    });
  });

  it("masks a JSON value's bare numbers alike whether or not a string of it has an escape", () => {
    const card = [{ pattern: "^\\d{16}$", replacement: "[CARD]" }];
    const plain = maskedAttributes([attr("v", '{"note":"ab","n":4111111111111111}')], card).v;
    const escaped = maskedAttributes([attr("v", '{"note":"a\\nb","n":4111111111111111}')], card).v;

    expect([plain, escaped]).toEqual(['{"note":"ab","n":"[CARD]"}', '{"note":"a\\nb","n":"[CARD]"}']);
  });

  it("holds a pattern's ^ and $ at each string's and scalar's start and end in a JSON value, as in any other value, not at the value's own", () => {
    const rules = [
      { pattern: "^ft:[^:]+", replacement: "ft:[model]" },
      { pattern: "-client-[a-z]+$", replacement: "-[client]" },
      { pattern: '^\\{"wipe":.*\\}$', replacement: "{}" },
      // Not anchors, escaped or in a character class: masked as text alone, or the token's mask would mask again.
      { pattern: "\\^x[$]", replacement: "$&!" },
    ];

    const out = maskedAttributes(
      [
        attr("plain", "ft:gpt-4.1-mini:acme"),
        attr("json", '{"model":"ft:gpt-4.1-mini:acme","ft:key":"x","user":"acme-client-globex","n":[1,"^x$"],"keep":"a ft:b"}'),
        attr("whole", '{"wipe":"ft:a"}'),
      ],
      rules,
    );

    expect(out).toEqual({
      plain: "ft:[model]:acme",
      json: '{"model":"ft:[model]:acme","ft:[model]":"x","user":"acme-[client]","n":[1,"^x$!"],"keep":"a ft:b"}',
      whole: '{"wipe":"ft:[model]"}',
    });
  });

  it("masks a JSON value's string once by a pattern with ^ or $, as it does the same text in an attribute of its own", () => {
    const rule = { pattern: "secret|^x$", replacement: "[secret]" };

    const out = maskedAttributes([attr("plain", "my secret"), attr("json", '{"a":"my secret","b":"x"}')], [rule]);

    expect(out).toEqual({ plain: "my [secret]", json: '{"a":"my [secret]","b":"[secret]"}' });
  });

  it("masks a pattern spanning a key and its value once another match broke the value's JSON, and the value whole should that break it again", () => {
    const password = { pattern: '"password":"[^"]*"', replacement: '"password":"***"' };
    const breaking = { pattern: '"password":"[^"]*"', replacement: '"password":"\\' };
    const value = JSON.stringify({ a: "x\nbob@example.com", password: "hunter2" });

    const out = maskedAttributes([attr("spanning", value)], ["emails", password]);
    const broken = maskedAttributes([attr("broken", value)], ["emails", breaking]);

    expect(out.spanning).toBe('{"a":"x\\n[REDACTED]","password":"***"}');
    expect(broken.broken).toBe('"[REDACTED]"');
  });

  it("keeps a JSON value masked to exactly twice its length and 16 characters, the most it may grow, and masks a string past it whole", () => {
    const value = '{"a":"x"}';
    const atMost = "y".repeat(2 * value.length + 16 - value.length + 1);

    const out = maskedAttributes([attr("v", value)], [{ pattern: "x", replacement: atMost }]);
    const past = maskedAttributes([attr("v", value)], [{ pattern: "x", replacement: `${atMost}y` }]);

    expect(out.v).toBe(`{"a":"${atMost}"}`);
    expect(out.v).toHaveLength(2 * value.length + 16);
    expect(past.v).toBe('{"a":"[REDACTED]"}');
  });

  it("masks a JSON value whole when its tokens, each masked within bounds, together grow past twice its length", () => {
    expect(maskedAttributes([attr("ones", `[${"1,".repeat(19)}1]`)], [{ pattern: "1", replacement: "xxxx" }]).ones).toBe('"[REDACTED]"');
  });

  it("masks at most 10,000 tokens of a JSON value on their own before masking it whole", () => {
    const members = (n: number) =>
      JSON.stringify({ first: "x\nbob@example.com", ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "a@b.co"])) });

    const out = maskedAttributes([attr("at", members(9_999)), attr("past", members(10_000))], ["emails"]);

    expect(Object.values(JSON.parse(out.at as string) as Record<string, string>).filter((v) => v === "[REDACTED]")).toHaveLength(9_999);
    expect(out.past).toBe('"[REDACTED]"');
  });

  it("masks only the names of metrics of numbers, and a caller's own metrics holding text, or another key's numbers, as any value", () => {
    const out = maskedAttributes(
      [
        attr("braintrust.metrics", '{"calls by 5551234567": 1.2345678, "calls by 5559999999": 2, "tokens": 12345678}'),
        attr("other", '{"n": 12345678}'),
      ],
      [digits],
    );
    const unmatched = maskedAttributes([attr("braintrust.metrics", '{"tokens": 12345678}')], [digits]);
    const withText = maskedAttributes([attr("braintrust.metrics", '{"tokens": 12345678, "by": "5551234567"}')], [digits]);
    const allMasked = maskedAttributes([attr("braintrust.metrics", '{"calls by 5551234567": 1}')], [digits]);

    // Two names masked into one stay two metrics.
    expect(out["braintrust.metrics"]).toBe('{"calls by [NUM]":1.2345678,"calls by [NUM] (2)":2,"tokens":12345678}');
    expect(out.other).toBe('{"n": "[NUM]"}');
    expect(unmatched["braintrust.metrics"]).toBe('{"tokens": 12345678}');
    expect(withText["braintrust.metrics"]).toBe('{"tokens": "[NUM]", "by": "[NUM]"}');
    expect(allMasked["braintrust.metrics"]).toBe('{"calls by [NUM]":1}');
  });

  it("names a masked key of a key-value list as masked when the key that had that name was masked too", () => {
    const out = maskedAttributes([attr("map", { a: 1, "<a>": 2 })], [{ pattern: "<?a>?", replacement: "<$&>" }]);

    expect(out.map).toEqual(attributesOf(spanWith("", [attr("map", { "<a>": 1, "<<a>>": 2 })])).map);
  });

  it("masks a resource's and a scope's own text fields", () => {
    const request = requestOf([spanWith("s", [attr("n", 1)])]);
    request.resourceSpans[0]!.schemaUrl = "https://schemas.example/bob@example.com";
    const scopeSpans = request.resourceSpans[0]!.scopeSpans[0]!;
    scopeSpans.schemaUrl = "https://schemas.example/ann@example.com";
    scopeSpans.scope!.name = "tracer of eve@example.com";
    scopeSpans.scope!.version = "1.0 jo@example.com";

    const out = sent(request, { redact: { values: ["emails"] } });

    const outScope = out.resourceSpans[0]!.scopeSpans[0]!;
    expect([out.resourceSpans[0]!.schemaUrl, outScope.schemaUrl, outScope.scope!.name, outScope.scope!.version]).toEqual([
      "https://schemas.example/[REDACTED]",
      "https://schemas.example/[REDACTED]",
      "tracer of [REDACTED]",
      "1.0 [REDACTED]",
    ]);
  });
});

describe("masking that would grow a value without bound", () => {
  const maskedText = (text: string, values: unknown[]) => maskedAttributes([attr("t", text)], values).t;

  it("masks a value whole when the masked text would pass twice its length and 16 characters", () => {
    const everyCharacter = [{ pattern: ".", replacement: "x".repeat(100) }];

    expect(maskedText("a".repeat(1_000_000), everyCharacter)).toBe("[REDACTED]");
    expect(maskedText("ab", everyCharacter)).toBe("[REDACTED]");
    expect(maskedText("ab", [{ pattern: ".", replacement: "x".repeat(10) }])).toBe("x".repeat(20));
    expect(maskedText("ab", [{ pattern: ".", replacement: "x".repeat(11) }])).toBe("[REDACTED]");
  });

  it("masks a JSON value's overgrown strings whole, or the whole value when its strings together overgrow it, keeping it JSON", () => {
    const tenCharacters = [{ pattern: ".", replacement: "x".repeat(10) }];

    expect(maskedText(JSON.stringify({ prompt: "a".repeat(1000) }), [{ pattern: "a", replacement: "[A]" }])).toBe(
      '{"prompt":"[REDACTED]"}',
    );
    // `.` matches its quotes and braces too, which its tokens do not hold: nothing of it is left to show.
    expect(maskedText('{"k":"v"}', tenCharacters)).toBe('"[REDACTED]"');
    const manyMembers = JSON.stringify(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, "v"])));
    expect(maskedText(manyMembers, tenCharacters)).toBe('"[REDACTED]"');
  });

  it("masks a JSON value whole when a pattern that grew it too much matched across a key and its value", () => {
    const ssn = [{ pattern: '"ssn":"\\d+"', replacement: `"ssn":"[REDACTED: a social security number, removed by policy]"` }];

    expect(maskedText('{"ssn":"123456789"}', ssn)).toBe('"[REDACTED]"');
    expect(maskedText('{"ssn":"123456789","note":"long enough for the replacement to fit in twice its length"}', ssn)).toBe(
      '{"ssn":"[REDACTED: a social security number, removed by policy]","note":"long enough for the replacement to fit in twice its length"}',
    );
  });

  it("bounds the text all the patterns make together, not only each one's", () => {
    const doubling = { pattern: ".", replacement: "$&$&" };

    expect(maskedText("abcd", [doubling])).toBe("aabbccdd");
    expect(maskedText("a".repeat(100), [doubling, doubling])).toBe("[REDACTED]");
  });

  it("stops a replacement that repeats the text before each match, whose result would be quadratic", () => {
    expect(maskedText("a".repeat(1_000_000), [{ pattern: "a", replacement: "$`" }])).toBe("[REDACTED]");
  });

  it("masks every address in a value of nothing but short addresses, which grows it by two thirds", () => {
    const text = Array.from({ length: 10_000 }, () => "a@b.co").join(" ");

    expect(maskedText(text, ["emails"])).toBe(Array.from({ length: 10_000 }, () => "[REDACTED]").join(" "));
  });

  it("masks a value whole once more than 10,000 matches would be masked in it, as text or JSON", () => {
    const addresses = Array.from({ length: 10_001 }, () => "a@b.co").join(" ");
    const members = JSON.stringify(Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, "a@b.co"])));
    const digits = "1 ".repeat(10_001);

    expect(maskedText(addresses, ["emails"])).toBe("[REDACTED]");
    expect(maskedText(members, ["emails"])).toBe('"[REDACTED]"');
    expect(maskedText(digits, [{ pattern: "\\d", replacement: "#" }])).toBe("[REDACTED]");
    expect(maskedText("1 ".repeat(10_000), [{ pattern: "\\d", replacement: "#" }])).toBe("# ".repeat(10_000));
  });
});

describe("email addresses masked", () => {
  const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

  it("as the plain pattern masks them, at the edges of every character class", () => {
    // Each class's first and last characters, and those just outside it: a wrong bound leaks part of an address.
    const unit = fc.constantFrom(..."@.@.aAzZ09_%+-/:`[{@ é".split(""), "ab", "x.y", "com");
    for (const text of ["a%b@x.com", "a_b@x.com", "a+b@x.com", "a-b@x-y.com", "Z9@A0.zz"])
      expect(maskEmails(text, "[E]", Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe("[E]");
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), (text) => {
        expect(maskEmails(text, "[E]", Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(text.replace(EMAIL, "[E]"));
      }),
      { seed: 19, numRuns: 5000 },
    );
  });

  it("as the plain pattern masks them right after another address: an @ there has no local part, one a character later has", () => {
    for (const text of ["a@b.co@d.io", "a@b.co+@d.io", "a@b.co +@d.io x@y.zz"])
      expect(maskEmails(text, "[E]", Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(text.replace(EMAIL, "[E]"));
  });

  it("gives up once the masked text would pass the length it may reach, and not before", () => {
    expect(maskEmails("to a@b.co", "x".repeat(20), 23, Number.POSITIVE_INFINITY)).toBe(`to ${"x".repeat(20)}`);
    expect(maskEmails("to a@b.co", "x".repeat(20), 22, Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});
