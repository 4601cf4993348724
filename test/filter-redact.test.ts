import { create, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { Span_EventSchema, Span_LinkSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, spansOf, toProtobuf } from "../scripts/lib/traces.js";
import { admin, createTenant, sendTraces, uniqueTenantId } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { attributesOf, requestOf, spanIdsOf, spanWith } from "./support/traces.js";

/** A tenant saved with this one value pattern: the admin API's answer. */
function savePattern(pattern: string): Promise<Response> {
  return admin("PUT", `/tenants/${uniqueTenantId()}`, { parent: "project_id:p", redact: { values: [{ pattern }] } });
}

describe.concurrent("filtering non-AI spans", () => {
  it("keeps roots and AI spans by Braintrust's rule (tfy. included), drops the rest", async () => {
    const tenant = await createTenant({ config: { drop_non_ai_spans: true, translate: false } });
    const traceId = crypto.getRandomValues(new Uint8Array(16));
    const root = spanWith("HTTP POST /chat", [], { traceId });
    const child = (name: string, attributes: ReturnType<typeof attr>[]) =>
      spanWith(name, attributes, { traceId, parentSpanId: root.spanId });
    const spans = [
      root,
      child("Model: gpt", [attr("tfy.span_type", "Model")]),
      child("gen_ai.chat", []),
      child("embed", [attr("llm.model_name", "x")]),
      child("redis GET", [attr("db.system", "redis")]),
      child("routed only", [attr("braintrust.parent", "project_id:p")]),
    ];

    const response = await sendTraces(tenant, toProtobuf(requestOf(spans)));

    expect(response.status).toBe(200);
    expect([...(await standin.spansByName(tenant.apiKey)).keys()].sort()).toEqual([
      "HTTP POST /chat",
      "Model: gpt",
      "embed",
      "gen_ai.chat",
    ]);
  });

  it("is off by default", async () => {
    const tenant = await createTenant({ config: { translate: false } });
    const traceId = crypto.getRandomValues(new Uint8Array(16));
    const root = spanWith("root", [], { traceId });

    await sendTraces(tenant, toProtobuf(requestOf([root, spanWith("redis GET", [], { traceId, parentSpanId: root.spanId })])));

    expect((await standin.spansByName(tenant.apiKey)).size).toBe(2);
  });
});

/** Rules for keys below an attribute: a key in metadata, any `token`, a key in a list's second item. */
const NESTED_KEY_RULES = [
  { pattern: "tfy.request.metadata.user_email" },
  { pattern: "*.token", action: "replace", replacement: "[hidden]" },
  { pattern: "calls.1.secret" },
];

describe.concurrent("redaction", () => {
  it("removes keys by glob before translation, so nothing derived from them reaches Braintrust", async () => {
    const tenant = await createTenant({ config: { redact: { keys: [{ pattern: "tfy.input" }, { pattern: "gen_ai.prompt.*" }] } } });
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: "my secret plan" }] })),
      attr("gen_ai.prompt.0.content", "my secret plan"),
      attr("tfy.output", JSON.stringify({ choices: [] })),
    ]);

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    const attributes = attributesOf((await standin.spansByName(tenant.apiKey)).get("Model: x")!);
    expect(Object.keys(attributes).sort()).toEqual(["braintrust.output_json", "braintrust.span_attributes", "tfy.span_type"]);
    expect(JSON.stringify(attributes)).not.toContain("secret plan");
  });

  it("replaces a key's value when asked to, and the translation sees only the replacement", async () => {
    const tenant = await createTenant({
      config: { redact: { keys: [{ pattern: "tfy.input", action: "replace", replacement: "[hidden]" }] } },
    });

    await sendTraces(
      tenant,
      toProtobuf(requestOf([spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.input", '{"messages":[]}')])])),
    );

    const attributes = attributesOf((await standin.spansByName(tenant.apiKey)).get("Model: x")!);
    expect(attributes["braintrust.input_json"]).toBe('"[hidden]"');
    expect(attributes).not.toHaveProperty("tfy.input");
  });

  it("reaches keys nested in key-value lists by their dotted path, as flattened attributes name them", async () => {
    const tenant = await createTenant({ config: { translate: false, redact: { keys: NESTED_KEY_RULES } } });
    const span = spanWith("ChatCompletion: x", [
      attr("tfy.request.metadata", { env: "prod", user_email: "bob@example.com", auth: { token: "hunter2", scheme: "bearer" } }),
      attr("calls", [{ secret: "kept: not the second call" }, { secret: "s3cr3t", name: "two" }]),
      attr("tfy.request.metadata.user_email", "bob@example.com"),
    ]);

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    expect((await standin.spansByName(tenant.apiKey)).get("ChatCompletion: x")!.attributes).toEqual([
      attr("tfy.request.metadata", { env: "prod", auth: { token: "[hidden]", scheme: "bearer" } }),
      attr("calls", [{ secret: "kept: not the second call" }, { name: "two" }]),
    ]);
  });

  it("reaches keys inside JSON an attribute holds as text, leaving the rest of it byte for byte", async () => {
    const tenant = await createTenant({ config: { translate: false, redact: { keys: NESTED_KEY_RULES } } });
    const span = spanWith("ChatCompletion: x", [
      attr(
        "tfy.request.metadata",
        '{"env": "prod", "user_email":"bob@example.com", "n": 12345678901234567890, "auth": {"token": "hunter2"}}',
      ),
      attr("calls", '[{"secret": "kept"}, {"secret": "s3cr3t", "name": "two"}]'),
      attr("tfy.input", '{"user_email": "not under tfy.request.metadata", "token": 1}'),
      attr("note", "{not json at all, user_email"),
    ]);

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    expect((await standin.spansByName(tenant.apiKey)).get("ChatCompletion: x")!.attributes).toEqual([
      attr("tfy.request.metadata", '{"env":"prod","n":12345678901234567890,"auth":{"token":"[hidden]"}}'),
      attr("calls", '[{"secret": "kept"},{"name":"two"}]'),
      attr("tfy.input", '{"user_email":"not under tfy.request.metadata","token":"[hidden]"}'),
      attr("note", "{not json at all, user_email"),
    ]);
  });

  it("reaches list items by position, keys with a line break, and takes JSON too deep to search whole", async () => {
    const tenant = await createTenant({
      config: {
        translate: false,
        redact: {
          keys: [
            { pattern: "tags.1" },
            { pattern: "meta.emails.0", action: "replace", replacement: "[hidden]" },
            { pattern: "*email" },
            { pattern: "deep.user_email" },
          ],
        },
      },
    });
    const tooDeep = `${"[".repeat(300)}${"]".repeat(300)}`;
    const span = spanWith("plain", [
      attr("tags", ["a", "b", "c"]),
      attr("meta", '{"emails": ["bob@example.com", "ann@example.com"], "user\\nemail": "eve@example.com"}'),
      attr("deep", `{"user_email": "bob@example.com", "x": ${tooDeep}}`),
      // Deeper than keys are searched (32 levels): what a rule could reach into is taken whole.
      attr("nested", `{"a": ${'{"b": '.repeat(40)}{"password": "hunter2"}${"}".repeat(40)}}`),
    ]);

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    const attributes = (await standin.spansByName(tenant.apiKey)).get("plain")!.attributes;
    expect(attributes.slice(0, 2)).toEqual([attr("tags", ["a", "c"]), attr("meta", '{"emails":["[hidden]","ann@example.com"]}')]);
    // The first rule that could reach below the 32nd level (`*email`, a removal) took what is there.
    const nested = attributesOf(spanWith("", attributes)).nested as string;
    expect(nested).toBe(`{"a":${'{"b":'.repeat(30)}{}${"}".repeat(30)}}`);
    expect(attributes.map((a) => a.key)).toEqual(["tags", "meta", "nested"]);
  });

  it("takes whole a JSON container reached after 100,000 members and items of its value were read", async () => {
    const tenant = await createTenant({
      config: { translate: false, redact: { keys: [{ pattern: "*secret", action: "replace", replacement: "[hidden]" }] } },
    });
    const many = JSON.stringify(Object.fromEntries(Array.from({ length: 100_001 }, (_, i) => [`k${i}`, 1])));
    const span = spanWith("plain", [
      attr("whole", many),
      attr("inside", `{"big": ${many}, "keep": "x", "secret": "s"}`),
      attr("within", JSON.stringify({ big: Object.fromEntries(Array.from({ length: 99_990 }, (_, i) => [`k${i}`, 1])), secret: "s" })),
    ]);

    const sent = requestOf([span]);
    expect((await sendTraces(tenant, toProtobuf(sent))).status).toBe(200);
    // Megabytes to redact and send: on a loaded machine the first attempt can time out, and the queue delivers them.
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(sent))).missing).toEqual([]);

    const attributes = attributesOf((await standin.spansByName(tenant.apiKey)).get("plain")!);
    expect(attributes.whole).toBe('"[hidden]"');
    expect(attributes.inside).toBe('{"big":"[hidden]","keep":"x","secret":"[hidden]"}');
    expect(JSON.parse(attributes.within as string)).toMatchObject({ secret: "[hidden]" });
    expect(Object.keys(JSON.parse(attributes.within as string).big)).toHaveLength(99_990);
  });

  it("leaves metrics numbers, whatever a value pattern would match in them, masking only their names", async () => {
    const tenant = await createTenant({ config: { redact: { values: [{ pattern: "\\d{7,}", replacement: "[NUM]" }] } } });
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.metric.cost_in_usd", 0.0000059),
      attr("tfy.model.metric.time_to_first_token_in_ms", 412.3456789),
      attr("tfy.request.created_by_subject", "phone 5551234567"),
    ]);

    // A caller's own metrics: their names are text like any other.
    const callers = spanWith("caller's", [attr("braintrust.metrics", '{"calls by 5551234567": 1.2345678, "calls by 5559999999": 2}')]);

    await sendTraces(tenant, toProtobuf(requestOf([span, callers])));

    const delivered = await standin.spansByName(tenant.apiKey);
    const attributes = attributesOf(delivered.get("Model: x")!);
    expect(JSON.parse(attributes["braintrust.metrics"] as string)).toEqual({
      estimated_cost: 0.0000059,
      time_to_first_token: 0.4123456789,
    });
    expect(attributes["tfy.request.created_by_subject"]).toBe("phone [NUM]");
    // Two names masked into one stay two metrics.
    expect(attributesOf(delivered.get("caller's")!)["braintrust.metrics"]).toBe('{"calls by [NUM]":1.2345678,"calls by [NUM] (2)":2}');
  });

  it("removes a nested key before translation, so the caller's metadata shows without it", async () => {
    const tenant = await createTenant({ config: { redact: { keys: [{ pattern: "tfy.request.metadata.user_email" }] } } });
    const span = spanWith("ChatCompletion: x", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.request.metadata", { env: "prod", user_email: "bob@example.com" }),
    ]);

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    const attributes = attributesOf((await standin.spansByName(tenant.apiKey)).get("ChatCompletion: x")!);
    expect(JSON.parse(attributes["braintrust.metadata"] as string)).toEqual({ env: "prod" });
    expect(JSON.stringify(attributes)).not.toContain("bob@example.com");
  });

  it("masks API keys, emails and custom patterns everywhere, the translated JSON included", async () => {
    const tenant = await createTenant({
      config: { redact: { values: ["api_keys", "emails", { pattern: "ACCT-\\d{6}", replacement: "ACCT-******" }] } },
    });
    const secretKey = "sk-proj-abcdefghijklmnop1234";
    const span = spanWith("ChatCompletion: x", [
      attr("tfy.span_type", "ChatCompletion"),
      attr(
        "tfy.input",
        JSON.stringify({ messages: [{ role: "user", content: `email bob@example.com, key ${secretKey}, account ACCT-123456` }] }),
      ),
      attr("tfy.request.created_by_subject", "user:bob@example.com"),
    ]);
    span.status = {
      $typeName: "opentelemetry.proto.trace.v1.Status",
      code: 2,
      message: `auth failed for Bearer abcdefghijklmnopqrstuvwxyz`,
    };

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    const delivered = (await standin.spansByName(tenant.apiKey)).get("ChatCompletion: x")!;
    const text = JSON.stringify(attributesOf(delivered)) + delivered.status?.message;
    for (const secret of ["bob@example.com", secretKey, "ACCT-123456", "abcdefghijklmnopqrstuvwxyz"]) expect(text).not.toContain(secret);
    expect(attributesOf(delivered)["braintrust.input_json"]).toBe(
      JSON.stringify([{ role: "user", content: "email [REDACTED], key [REDACTED], account ACCT-******" }]),
    );
    expect(delivered.status?.message).toBe("auth failed for [REDACTED]");
  });

  it("masks what Braintrust would show: text behind a JSON escape, the span's name and its events' names", async () => {
    const tenant = await createTenant({ config: { redact: { values: ["emails"] } } });
    const input = '{"model":"m","messages":[{"role":"user","content":"write to bob\\u0040example.com"}]}';
    const span = spanWith("POST /users/carol@example.com", [attr("tfy.span_type", "ChatCompletion"), attr("tfy.input", input)]);
    span.events.push(create(Span_EventSchema, { name: "login frank@example.com", timeUnixNano: 1n }));

    expect((await sendTraces(tenant, toProtobuf(requestOf([span])))).status).toBe(200);
    await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf([span])));

    const [sent] = (await standin.spansByName(tenant.apiKey)).values();
    const attributes = attributesOf(sent!);
    // As Braintrust reads the JSON: parsed.
    expect(JSON.parse(attributes["braintrust.input_json"] as string)).toEqual([{ role: "user", content: "write to [REDACTED]" }]);
    expect(sent!.name).toBe("POST /users/[REDACTED]");
    expect(JSON.parse(attributes["braintrust.span_attributes"] as string).name).toBe("POST /users/[REDACTED]");
    expect(sent!.events[0]!.name).toBe("login [REDACTED]");
  });

  it("masks values inside arrays and key-value lists at any depth, and in resource, scope, event and link attributes and their own text fields", async () => {
    const tenant = await createTenant({ config: { translate: false, redact: { values: ["emails"] } } });
    const span = spanWith("tool call", [
      attr("recipients", ["ann@example.com", "plain", ["bob@example.com"]]),
      attr("request", { to: "cy@example.com", headers: { cc: ["dee@example.com"] }, count: 2 }),
    ]);
    span.events.push(create(Span_EventSchema, { name: "sent", attributes: [attr("to", ["eve@example.com"])] }));
    span.links.push(
      create(Span_LinkSchema, { traceId: randomId(16), spanId: randomId(8), attributes: [attr("from", { user: "fay@example.com" })] }),
    );
    const request = requestOf([span]);
    request.resourceSpans[0]!.resource!.attributes.push(attr("owners", ["gus@example.com"]));
    request.resourceSpans[0]!.scopeSpans[0]!.scope!.attributes.push(attr("contact", { email: "hal@example.com" }));
    // Every other string field that reaches Braintrust: a scope's name and version, schema URLs, trace states.
    const scopeSpans = request.resourceSpans[0]!.scopeSpans[0]!;
    scopeSpans.scope!.name = "agent of ida@example.com";
    scopeSpans.scope!.version = "jo@example.com";
    scopeSpans.schemaUrl = "https://schemas.example/kim@example.com";
    request.resourceSpans[0]!.schemaUrl = "https://schemas.example/lee@example.com";
    span.traceState = "vendor=max@example.com";
    span.links[0]!.traceState = "vendor=ned@example.com";

    expect((await sendTraces(tenant, toProtobuf(request))).status).toBe(200);

    const [received] = await standin.received(tenant.apiKey);
    const text = JSON.stringify(toJson(ExportTraceServiceRequestSchema, received!.request));
    expect(text.match(/[a-z]+@example\.com/g)).toBeNull();
    const [delivered] = spansOf(received!.request);
    expect(delivered!.attributes).toEqual([
      attr("recipients", ["[REDACTED]", "plain", ["[REDACTED]"]]),
      attr("request", { to: "[REDACTED]", headers: { cc: ["[REDACTED]"] }, count: 2 }),
    ]);
    const sentScope = received!.request.resourceSpans[0]!.scopeSpans[0]!;
    expect([sentScope.scope!.name, sentScope.scope!.version, delivered!.traceState, delivered!.links[0]!.traceState]).toEqual([
      "agent of [REDACTED]",
      "[REDACTED]",
      "vendor=[REDACTED]",
      "vendor=[REDACTED]",
    ]);
  });

  it("sends nothing of a resource or scope without spans, which it never read, so never redacted", async () => {
    const tenant = await createTenant({ config: { translate: false, redact: { keys: [{ pattern: "secret*" }], values: ["emails"] } } });
    const request = requestOf([spanWith("plain", [attr("n", 1)])]);
    // A resource with no spans, and a scope with no spans beside the one that has a span.
    request.resourceSpans.unshift(
      create(ExportTraceServiceRequestSchema, {
        resourceSpans: [{ resource: { attributes: [attr("secret.token", "hunter2"), attr("owner", "bob@example.com")] } }],
      }).resourceSpans[0]!,
    );
    request.resourceSpans[1]!.scopeSpans.unshift(
      create(ExportTraceServiceRequestSchema, {
        resourceSpans: [{ scopeSpans: [{ scope: { name: "empty", attributes: [attr("secret.k", "v")] } }] }],
      }).resourceSpans[0]!.scopeSpans[0]!,
    );
    const body = toProtobuf(request);

    expect((await sendTraces(tenant, body)).status).toBe(200);

    const [received] = await standin.received(tenant.apiKey);
    expect(received!.bytes).not.toEqual(body);
    const sent = JSON.stringify(toJson(ExportTraceServiceRequestSchema, received!.request));
    for (const secret of ["hunter2", "bob@example.com", "secret.k"]) expect(sent).not.toContain(secret);
    expect(spansOf(received!.request).map((s) => s.name)).toEqual(["plain"]);
  });

  it("matches a glob of several stars against a key a client made long, without backtracking over it", async () => {
    const tenant = await createTenant({ config: { translate: false, redact: { keys: [{ pattern: "*user*user*email*" }] } } });
    // A key of 200,000 characters, with "user" everywhere and "email" nowhere. A regular expression of
    // `.*`s backtracks over it for the cube of its length, hours, far past the test's timeout; the
    // relay's match reads it once (src/process/redact.ts, globMatches). No clock: speed is the benchmarks'.
    const long = "user".repeat(50_000);
    const trace = requestOf([spanWith("s", [attr(long, "kept"), attr("a.user.x.user.email", "hidden")])]);

    const response = await sendTraces(tenant, toProtobuf(trace));

    expect(response.status).toBe(200);
    const [received] = await standin.received(tenant.apiKey);
    expect(spansOf(received!.request)[0]!.attributes.map((a) => a.key)).toEqual([long]);
  });

  it("refuses an invalid pattern when the tenant is saved", async () => {
    const response = await admin("PUT", `/tenants/${uniqueTenantId()}`, { parent: "project_id:p", redact: { values: [{ pattern: "(" }] } });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { field: string } }).error.field).toBe("redact.values.0.pattern");
  });

  it("refuses a pattern that matches empty text, which would put its replacement between every two characters", async () => {
    for (const pattern of ["\\d*", "x?", "\\b", "(?<=@)"]) {
      const response = await admin("PUT", `/tenants/${uniqueTenantId()}`, {
        parent: "project_id:p",
        redact: { values: ["emails", { pattern: "ACCT-\\d{6}" }, { pattern }] },
      });

      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
        "redact.values.2.pattern: must not match empty text: it would put its replacement between characters",
      );
    }
  });

  it("refuses a pattern repeating a group that itself repeats, and saves one whose repetitions are bounded", async () => {
    const save = (pattern: string) =>
      admin("PUT", `/tenants/${uniqueTenantId()}`, { parent: "project_id:p", redact: { values: ["emails", { pattern }] } });

    const nested = await save("token=(\\w+\\s?)+;");
    const bounded = await save("(\\d{4}[- ]?){3}\\d{4}");

    expect(nested.status).toBe(400);
    expect(((await nested.json()) as { error: { message: string } }).error.message).toBe(
      "redact.values.1.pattern: must not repeat a group that itself repeats, as (a+)+ does: on text that almost matches, that takes time exponential in the text's length; repeat once (a+)",
    );
    expect(bounded.status).toBe(201);
  });

  it("refuses a pattern repeating alternatives that may match the same text, seconds of CPU on 30 spaces, and saves exclusive ones", async () => {
    const overlapping = await savePattern("password(.|\\s)*;");
    const exclusive = await savePattern("password(.|\\n)*;");

    expect(overlapping.status).toBe(400);
    expect(((await overlapping.json()) as { error: { message: string } }).error.message).toBe(
      "redact.values.0.pattern: must not repeat alternatives that may match the same text, as (.|\\s)* does (a space is either): on text that almost matches, that takes time exponential in the text's length; make them exclusive ([\\s\\S]*)",
    );
    expect(exclusive.status).toBe(201);
  });

  it("reads a modifier group with its flags: saves a case-insensitive pattern, refuses one whose alternatives are one character under them", async () => {
    for (const pattern of ["(?i:password)\\s*[:=]\\s*\\S+", "(?i:bearer) [\\w.~+/-]+=*"])
      expect((await savePattern(pattern)).status, pattern).toBe(201);
    const tenant = await createTenant({ config: { translate: false, redact: { values: [{ pattern: "(?i:password)=\\S+" }] } } });
    await sendTraces(tenant, toProtobuf(requestOf([spanWith("login", [attr("note", "PassWord=hunter2 and password=swordfish")])])));
    const masked = (await standin.spansByName(tenant.apiKey)).get("login")!;
    expect(attributesOf(masked).note).toBe("[REDACTED] and [REDACTED]");
    // (?i:a|A) is one character twice, exponential on a run of a's; read as written, "i:a" and "A" would differ.
    const refused = await savePattern("(?i:a|A)+x");
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /^redact\.values\.0\.pattern: must not repeat alternatives that may match the same text/,
    );
  });

  it("refuses a pattern whose repetitions split one run before more of it, and saves one whose runs are apart", async () => {
    for (const pattern of ["\\d+\\d+\\d+x", "\\d+-?\\d+-?\\d+ ?x"]) {
      const split = await savePattern(pattern);
      expect(split.status).toBe(400);
      expect(((await split.json()) as { error: { message: string } }).error.message).toBe(
        "redact.values.0.pattern: must not let repetitions that share characters split one run before more of the pattern, as \\d+\\d+x does: on a long run without the rest, that takes time a power of the run's length; repeat once (\\d+x)",
      );
    }
    expect((await savePattern("\\d+\\.\\d+")).status).toBe(201);
  });

  it("reads a back reference as its group's characters: saves and masks a repeated word, refuses a run split with its group", async () => {
    // The reference repeats the group's digits: a run of them splits between the two before `x`.
    const split = await savePattern("(\\d+)\\1x");
    expect(split.status).toBe(400);
    expect(((await split.json()) as { error: { message: string } }).error.message).toMatch(
      /^redact\.values\.0\.pattern: must not let repetitions that share characters split one run/,
    );
    // It matches word characters only, which the spaces before it keep apart.
    const repeated = { pattern: "\\b(\\w+)\\s+\\1\\b", replacement: "$1" };
    const tenant = await createTenant({ config: { translate: false, redact: { values: [repeated] } } });
    await sendTraces(tenant, toProtobuf(requestOf([spanWith("support", [attr("note", "call the the office on on Monday")])])));
    const masked = (await standin.spansByName(tenant.apiKey)).get("support")!;
    expect(attributesOf(masked).note).toBe("call the office on Monday");
  });

  it("reads characters past ASCII one by one: refuses a run of Cyrillic letters split with \\S, saves and masks a name in Cyrillic", async () => {
    // \S takes the Cyrillic letters too: a run of them splits between the two repetitions before `@`.
    const split = await savePattern("-?[а-я]+\\S+@");
    expect(split.status).toBe(400);
    expect(((await split.json()) as { error: { message: string } }).error.message).toMatch(
      /^redact\.values\.0\.pattern: must not let repetitions that share characters split one run/,
    );
    // \s takes no Cyrillic letter: the spaces keep the two names' runs apart.
    const name = "[А-Я][а-я]+\\s+[А-Я][а-я]+";
    expect((await savePattern(name)).status).toBe(201);
    const tenant = await createTenant({ config: { translate: false, redact: { values: [{ pattern: name }] } } });
    await sendTraces(tenant, toProtobuf(requestOf([spanWith("support", [attr("note", "звонил Иван\u00a0Петров, счёт 42")])])));
    const masked = (await standin.spansByName(tenant.apiKey)).get("support")!;
    expect(attributesOf(masked).note).toBe("звонил [REDACTED], счёт 42");
  });
});
