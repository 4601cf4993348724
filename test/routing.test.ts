import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BRAINTRUST_MAX_REQUEST_BYTES } from "../scripts/lib/braintrust-standin-contract.js";
import { attr, randomId, spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { loggedWhile } from "./support/logs.js";
import { ADMIN_TOKEN, admin, createTenant, sendTraces, uniqueTenantId } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { largeRequest, requestOf, spanIdsOf, spanWith } from "./support/traces.js";

/** The gateway trace, with the request metadata set to `metadata`. */
function traceWithMetadata(metadata: Record<string, unknown>, model = "openai/gpt-4.1-mini") {
  const trace = trueFoundryTrace();
  const [root] = spansOf(trace);
  root!.attributes = root!.attributes.filter((a) => a.key !== "tfy.request.metadata" && a.key !== "tfy.request.model_name");
  root!.attributes.push(attr("tfy.request.metadata", JSON.stringify(metadata)), attr("tfy.request.model_name", model));
  return trace;
}

describe.concurrent("routing traces to parents", () => {
  it("sends eval traces to an experiment and one model's traffic to its own project, one request per parent, traces whole", async () => {
    const tenant = await createTenant({
      parent: "project_name:default",
      config: {
        translate: false,
        routes: [
          { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:exp-eval" },
          { match: { field: "attributes.tfy.request.model_name", prefix: "anthropic/" }, parent: "project_name:claude" },
        ],
      },
    });
    const evalTrace = traceWithMetadata({ env: "eval" });
    const claudeTrace = traceWithMetadata({ env: "prod" }, "anthropic/claude-sonnet-4");
    const prodTrace = traceWithMetadata({ env: "prod" });
    const request = requestOf([...spansOf(evalTrace), ...spansOf(claudeTrace), ...spansOf(prodTrace)]);

    expect((await sendTraces(tenant, toProtobuf(request))).status).toBe(200);

    const received = await standin.received(tenant.apiKey);
    const byParent = Object.fromEntries(received.map((r) => [r.parent, spanIdsOf(r.request).sort()]));
    expect(received).toHaveLength(3);
    expect(byParent).toEqual({
      "experiment_id:exp-eval": spanIdsOf(evalTrace).sort(),
      "project_name:claude": spanIdsOf(claudeTrace).sort(),
      "project_name:default": spanIdsOf(prodTrace).sort(),
    });
    for (const r of received) expect(r.request.resourceSpans[0]!.scopeSpans[0]!.scope?.name).toBe("tfy-llm-gateway");
  });

  it("sends a trace that matches several routes to the first of them in the tenant's order", async () => {
    const evalRoute = { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:exp-eval" };
    const claudeRoute = { match: { field: "attributes.tfy.model.name", prefix: "claude" }, parent: "project_name:claude" };
    const evalFirst = await createTenant({
      parent: "project_name:default",
      config: { translate: false, routes: [evalRoute, claudeRoute] },
    });
    const claudeFirst = await createTenant({
      parent: "project_name:default",
      config: { translate: false, routes: [claudeRoute, evalRoute] },
    });
    // The root matches one route and its child the other: the routes' order decides, not the spans'.
    const trace = () => {
      const traceId = randomId(16);
      const root = spanWith("ChatCompletion", [attr("tfy.request.metadata", JSON.stringify({ env: "eval" }))], { traceId });
      return requestOf([root, spanWith("Model", [attr("tfy.model.name", "claude-sonnet-4")], { traceId, parentSpanId: root.spanId })]);
    };

    await sendTraces(evalFirst, toProtobuf(trace()));
    await sendTraces(claudeFirst, toProtobuf(trace()));

    expect((await standin.received(evalFirst.apiKey)).map((r) => [r.parent, spansOf(r.request).length])).toEqual([
      ["experiment_id:exp-eval", 2],
    ]);
    expect((await standin.received(claudeFirst.apiKey)).map((r) => [r.parent, spansOf(r.request).length])).toEqual([
      ["project_name:claude", 2],
    ]);
  });

  it("lets a span's own braintrust.parent decide its trace's parent when the tenant allows it", async () => {
    const tenant = await createTenant({ parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });
    const traceId = crypto.getRandomValues(new Uint8Array(16));
    const chosen = [spanWith("root", [], { traceId }), spanWith("child", [attr("braintrust.parent", "project_id:p-42")], { traceId })];
    const invalid = [spanWith("other", [attr("braintrust.parent", "workspace:nope")])];

    expect((await sendTraces(tenant, toProtobuf(requestOf([...chosen, ...invalid])))).status).toBe(200);

    const received = await standin.received(tenant.apiKey);
    expect(
      Object.fromEntries(
        received.map((r) => [
          r.parent,
          spansOf(r.request)
            .map((s) => s.name)
            .sort(),
        ]),
      ),
    ).toEqual({
      "project_id:p-42": ["child", "root"],
      "project_name:default": ["other"],
    });
  });

  it.each([
    ["stored_key", "as typed", asTyped],
    ["passthrough", "as typed", asTyped],
    ["stored_key", "percent-encoded", percentEncodedFirst],
    ["passthrough", "percent-encoded", percentEncodedFirst],
    ["passthrough", "percent-encoded beside a stray %", percentEncodedBesideStray],
  ] as const)(
    "ignores a braintrust.parent holding the client's credential (%s, %s), which would otherwise go upstream, into logs and storage as a parent",
    async (mode, _, form) => {
      const tenant = await createTenant({
        mode,
        parent: "project_name:default",
        config: { translate: false, parent_from_attribute: true },
      });
      const slip = spanWith("root", [attr("braintrust.parent", `project_name:${form(tenant.bearer)}`)]);

      const { result, lines } = await loggedWhile(() => sendTraces(tenant, toProtobuf(requestOf([slip]))));

      expect(result.status).toBe(200);
      expect((await standin.received(tenant.apiKey)).map((r) => r.parent)).toEqual(["project_name:default"]);
      expect(lines.join("\n")).not.toContain(tenant.bearer.slice(mode === "stored_key" ? 21 : 1));
    },
  );

  it.each([
    ["the admin token", "as typed", ADMIN_TOKEN, asTyped],
    ["ENCRYPTION_KEY", "as typed", env.ENCRYPTION_KEY, asTyped],
    ["the admin token", "percent-encoded", ADMIN_TOKEN, percentEncodedFirst],
    ["ENCRYPTION_KEY", "percent-encoded", env.ENCRYPTION_KEY, percentEncodedFirst],
    ["the admin token", "percent-encoded beside a stray %", ADMIN_TOKEN, percentEncodedBesideStray],
    ["ENCRYPTION_KEY", "percent-encoded beside a stray %", env.ENCRYPTION_KEY, percentEncodedBesideStray],
  ])(
    "ignores a braintrust.parent holding the relay's own secret (%s, %s), which would otherwise go upstream, into logs and storage as a parent",
    async (_, __, secret, form) => {
      const tenant = await createTenant({ parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });
      const slip = spanWith("root", [attr("braintrust.parent", `project_name:${form(secret)}`)]);

      const { result, lines } = await loggedWhile(() => sendTraces(tenant, toProtobuf(requestOf([slip]))));

      expect(result.status).toBe(200);
      expect((await standin.received(tenant.apiKey)).map((r) => r.parent)).toEqual(["project_name:default"]);
      expect(lines.join("\n")).not.toContain(secret.slice(1));
    },
  );

  it("ignores a braintrust.parent the tenant's value rules would mask, which would otherwise name a project in Braintrust and go into logs as it came", async () => {
    const tenant = await createTenant({
      parent: "project_name:default",
      config: {
        translate: false,
        parent_from_attribute: true,
        redact: { values: ["emails", { pattern: "client-[a-z]+", replacement: "[client]" }] },
      },
    });
    const traceOf = (parent: string) => {
      const traceId = randomId(16);
      return [spanWith(parent, [attr("braintrust.parent", parent)], { traceId })];
    };
    const email = traceOf("project_name:alice@example.com");
    const client = traceOf("project_name:client-globex");
    const clean = traceOf("project_name:support");

    const { result, lines } = await loggedWhile(() => sendTraces(tenant, toProtobuf(requestOf([...email, ...client, ...clean]))));

    expect(result.status).toBe(200);
    const received = await standin.received(tenant.apiKey);
    expect(Object.fromEntries(received.map((r) => [r.parent, spansOf(r.request).length]))).toEqual({
      "project_name:default": 2,
      "project_name:support": 1,
    });
    // The spans themselves leave with the attribute masked, as every value is.
    const sentParents = received.flatMap((r) =>
      spansOf(r.request).map((s) => s.attributes.find((a) => a.key === "braintrust.parent")?.value?.value.value),
    );
    expect(sentParents.sort()).toEqual(["project_name:[REDACTED]", "project_name:[client]", "project_name:support"]);
    expect(lines.join("\n")).not.toMatch(/alice@example\.com|client-globex/);
  });

  it("takes the first valid braintrust.parent among a trace's spans, ahead of any route", async () => {
    const tenant = await createTenant({
      parent: "project_name:default",
      config: {
        translate: false,
        parent_from_attribute: true,
        routes: [{ match: { field: "span_name", prefix: "" }, parent: "project_name:routed" }],
      },
    });
    const traceId = randomId(16);
    const spans = [
      spanWith("root", [attr("braintrust.parent", "nonsense")], { traceId }),
      spanWith("first", [attr("braintrust.parent", "project_id:first")], { traceId }),
      spanWith("second", [attr("braintrust.parent", "project_id:second")], { traceId }),
    ];

    await sendTraces(tenant, toProtobuf(requestOf(spans)));

    expect((await standin.received(tenant.apiKey)).map((r) => [r.parent, spansOf(r.request).length])).toEqual([["project_id:first", 3]]);
  });

  it("says in one log line per request how many spans' braintrust.parent it ignored and why, never the value", async () => {
    const tenant = await createTenant({
      parent: "project_name:default",
      config: {
        translate: false,
        parent_from_attribute: true,
        redact: { values: [{ pattern: "client-[a-z]+", replacement: "[client]" }] },
      },
    });
    const spans = [
      spanWith("typo", [attr("braintrust.parent", "project_nme:support")]),
      spanWith("again", [attr("braintrust.parent", "project_nme:support")]),
      spanWith("slip", [attr("braintrust.parent", `project_name:${ADMIN_TOKEN}`)]),
      spanWith("client", [attr("braintrust.parent", "project_name:client-globex")]),
      spanWith("taken", [attr("braintrust.parent", "project_name:support")]),
    ];

    const { result, events, lines } = await loggedWhile(() => sendTraces(tenant, toProtobuf(requestOf(spans))));

    expect(result.status).toBe(200);
    expect(events.filter((e) => e.event === "caller_parent_ignored" && e.tenant === tenant.id)).toEqual([
      {
        event: "caller_parent_ignored",
        tenant: tenant.id,
        spans: 4,
        reason:
          "not a parent: project_id:<id>, project_name:<name> or experiment_id:<id>, in printable ASCII; it holds a credential; the tenant's redact value rules would mask it",
        request_id: expect.any(String),
      },
    ]);
    expect(lines.join("\n")).not.toMatch(/project_nme|client-globex/);
    expect(lines.join("\n")).not.toContain(ADMIN_TOKEN.slice(1));
    const received = await standin.received(tenant.apiKey);
    expect(Object.fromEntries(received.map((r) => [r.parent, spansOf(r.request).length]))).toEqual({
      "project_name:default": 4,
      "project_name:support": 1,
    });
  });

  it("writes no such line when every braintrust.parent is taken", async () => {
    const tenant = await createTenant({ parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });

    const { events } = await loggedWhile(() =>
      sendTraces(tenant, toProtobuf(requestOf([spanWith("taken", [attr("braintrust.parent", "project_name:support")])]))),
    );

    expect(events.filter((e) => e.tenant === tenant.id).map((e) => e.event)).toEqual(["delivery_attempt"]);
  });

  it("ignores braintrust.parent unless the tenant opts in", async () => {
    const tenant = await createTenant({ parent: "project_name:default", config: { translate: false } });

    await sendTraces(tenant, toProtobuf(requestOf([spanWith("root", [attr("braintrust.parent", "project_id:p-42")])])));

    expect((await standin.received(tenant.apiKey)).map((r) => r.parent)).toEqual(["project_name:default"]);
  });

  it("splits a parent's spans into requests under Braintrust's 10 MB, keeping resource and scope", async () => {
    const tenant = await createTenant({ config: { translate: false } });
    const request = largeRequest({ largeSpans: 48, largeSpanBytes: 250_000, smallTraces: 10 });
    const body = toProtobuf(request);
    expect(body.byteLength).toBeGreaterThan(12_000_000);

    expect((await sendTraces(tenant, body)).status).toBe(200);

    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(request));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect(arrival.requests.length).toBeGreaterThan(1);
    for (const r of arrival.requests) {
      expect(r.bytes.byteLength).toBeLessThanOrEqual(BRAINTRUST_MAX_REQUEST_BYTES);
      expect(
        r.request.resourceSpans.every(
          (rs) => rs.resource?.attributes.length && rs.scopeSpans.every((ss) => ss.scope?.name === "tfy-llm-gateway"),
        ),
      ).toBe(true);
    }
  });

  it("validates routes and their parents when the tenant is saved", async () => {
    const put = (routes: unknown) => admin("PUT", `/tenants/${uniqueTenantId()}`, { parent: "project_id:p", routes });
    const field = async (response: Response) => ((await response.json()) as { error: { field: string } }).error.field;

    expect(await field(await put([{ match: { field: "span_name", equals: "x" }, parent: "project:nope" }]))).toBe("routes.0.parent");
    expect(await field(await put([{ match: { field: "span_name" }, parent: "project_id:q" }]))).toMatch(/^routes\.0\.match/);
    expect(await field(await put([{ match: { field: "nonsense", equals: 1 }, parent: "project_id:q" }]))).toMatch(/^routes\.0\.match/);
    expect(await field(await put([{ match: { all: [] }, parent: "project_id:q" }]))).toMatch(/^routes\.0\.match/);
    expect(
      (
        await put([
          {
            match: {
              any: [
                { field: "scope_name", one_of: ["a", "b"] },
                { field: "resource.service.name", exists: true },
              ],
            },
            parent: "project_id:q",
          },
        ])
      ).status,
    ).toBe(201);
  });
});

function asTyped(secret: string): string {
  return secret;
}

/** The secret with its first character percent-encoded, as a server reading a URL would decode it. */
function percentEncodedFirst(secret: string): string {
  return `%${secret.charCodeAt(0).toString(16).toUpperCase()}${secret.slice(1)}`;
}

/** So, beside a `%` that starts no escape, which a decoder of the whole text refuses. */
function percentEncodedBesideStray(secret: string): string {
  return `${percentEncodedFirst(secret)} at 100%`;
}
