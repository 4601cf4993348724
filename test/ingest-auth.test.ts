import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { TenantStore } from "../src/tenants/store.js";
import { heldReads } from "./support/bindings.js";
import { loggedWhile } from "./support/logs.js";
import {
  ADMIN_TOKEN,
  admin,
  createTenant,
  createTenantAgain,
  issueToken,
  relayFetch,
  sendTraces,
  sendTracesWith,
  tokenIdOf,
} from "./support/relay.js";
import { standin } from "./support/standin.js";
import { rpcStatusOf } from "./support/traces.js";

const body = () => toProtobuf(trueFoundryTrace());

/**
 * Runs an admin call as in production, where the tenant's Durable Object runs in an isolate of its
 * own: in tests it shares this one, and its KV write would clear this isolate's copy of the tenant.
 */
async function objectElsewhere<T>(call: () => Promise<T>): Promise<T> {
  const { put, delete: remove } = TenantStore.prototype;
  const withoutForget = (store: TenantStore) => Object.assign(Object.create(store) as TenantStore, { forget: () => {} });
  const puts = vi.spyOn(TenantStore.prototype, "put").mockImplementation(function (this: TenantStore, ...args) {
    return put.apply(withoutForget(this), args);
  });
  const deletes = vi.spyOn(TenantStore.prototype, "delete").mockImplementation(function (this: TenantStore, ...args) {
    return remove.apply(withoutForget(this), args);
  });
  try {
    return await call();
  } finally {
    puts.mockRestore();
    deletes.mockRestore();
  }
}

describe("ingest authentication", () => {
  it("delivers a stored-key tenant's spans with the stored key, never the ingest token", async () => {
    const tenant = await createTenant();

    const response = await sendTraces(tenant, body());

    expect(response.status).toBe(200);
    expect(await standin.received(tenant.apiKey)).toHaveLength(1);
    expect(await standin.attempts(tenant.bearer)).toHaveLength(0);
  });

  it("leaves the operator an ingest_refused line saying why, never the token sent", async () => {
    const tenant = await createTenant();

    const { result: response, lines, events } = await loggedWhile(() => sendTraces(tenant, body(), { bearer: `${tenant.bearer}x` }));

    expect(response.status).toBe(401);
    expect(events.filter((e) => e.event === "ingest_refused" && e.tenant === tenant.id)).toEqual([
      {
        event: "ingest_refused",
        tenant: tenant.id,
        status: 401,
        code: "unauthenticated",
        reason: (await rpcStatusOf(response)).message,
        request_id: expect.any(String),
      },
    ]);
    expect(lines.join("\n")).not.toContain(tenant.bearer);
  });

  it("logs a path segment that is no tenant id as such, not as the client wrote it", async () => {
    const tenant = await createTenant();

    const {
      result: response,
      lines,
      events,
    } = await loggedWhile(() =>
      relayFetch(`/t/${tenant.bearer}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${tenant.bearer}` },
        body: body(),
      }),
    );

    expect(response.status).toBe(404);
    expect(lines.join("\n")).not.toContain(tenant.bearer);
    expect(events.filter((e) => e.event === "ingest_refused")).toContainEqual(
      expect.objectContaining({ tenant: "(not a tenant id)", status: 404 }),
    );
  });

  it("names the admin token pasted as a tenant id (a hex one has an id's shape) neither in its refusal nor in its log line", async () => {
    const {
      result: response,
      lines,
      events,
    } = await loggedWhile(() =>
      relayFetch(`/t/${ADMIN_TOKEN}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-some-key" },
        body: "{}",
      }),
    );

    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ message: expect.stringMatching(/^no such tenant: \[the admin token\] /) });
    expect(lines.join("\n")).not.toContain(ADMIN_TOKEN);
    expect(events.filter((e) => e.event === "ingest_refused")).toContainEqual(
      expect.objectContaining({ tenant: "[the admin token]", status: 404 }),
    );
  });

  it("logs a path segment that only spells how the admin token is shown as no tenant id, not as the admin token pasted", async () => {
    const { events } = await loggedWhile(() =>
      relayFetch(`/t/${encodeURIComponent("[the admin token]")}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-some-key" },
        body: "{}",
      }),
    );

    expect(events.filter((e) => e.event === "ingest_refused")).toEqual([
      expect.objectContaining({ tenant: "(not a tenant id)", status: 404 }),
    ]);
  });

  it("refuses a revoked token", async () => {
    const tenant = await createTenant();
    const other = await issueToken(tenant.id);
    const tokens = ((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { tokens: { id: string }[] }).tokens;
    const revokedId = tokens.find((t) => tenant.bearer.includes(t.id))!.id;
    // Used before, so the isolate holds the tenant as it was.
    expect((await sendTraces(tenant, body())).status).toBe(200);

    await admin("DELETE", `/tenants/${tenant.id}/tokens/${revokedId}`);

    expect((await sendTraces(tenant, body())).status).toBe(401);
    expect((await sendTraces(tenant, body(), { bearer: other })).status).toBe(200);
  });

  it("refuses a revoked token at once in the isolate that revoked it, though the tenant's object, in an isolate of its own, clears only that one's copy", async () => {
    const tenant = await createTenant();
    // Used before, so the isolate holds the tenant as it was.
    expect((await sendTraces(tenant, body())).status).toBe(200);
    expect((await objectElsewhere(() => admin("DELETE", `/tenants/${tenant.id}/tokens/${tokenIdOf(tenant.bearer)}`))).status).toBe(204);

    expect((await sendTraces(tenant, body())).status).toBe(401);
  });

  it("refuses a forged token: a real token's id with another secret", async () => {
    const tenant = await createTenant();
    const forged = tenant.bearer.replace(/_[A-Za-z0-9_-]{43}$/, `_${"A".repeat(43)}`);
    expect(forged).not.toBe(tenant.bearer);

    const response = await sendTraces(tenant, body(), { bearer: forged });

    expect(response.status).toBe(401);
    expect((await rpcStatusOf(response)).message).toBe("invalid ingest token for this tenant");
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it("refuses a token at once in the isolate that revoked it, though a request's read of the tenant was under way meanwhile", async () => {
    const tenant = await createTenant();
    const held = heldReads(env.TENANTS, `tenant:${tenant.id}`);
    // A request of the tenant's gateway whose read of the tenant has KV's answer, from before the revoke.
    const underWay = sendTracesWith(tenant, body(), { TENANTS: held.kv });
    await held.read;

    expect((await admin("DELETE", `/tenants/${tenant.id}/tokens/${tokenIdOf(tenant.bearer)}`)).status).toBe(204);
    held.release();
    // Begun before the revoke, it may be answered either way; what it read must not outlive it.
    await underWay;

    expect((await sendTraces(tenant, body())).status).toBe(401);
  });

  it("refuses a deleted tenant's token at once in the isolate that deleted it and made it again, though a read was under way meanwhile", async () => {
    const tenant = await createTenant();
    const held = heldReads(env.TENANTS, `tenant:${tenant.id}`);
    const underWay = sendTracesWith(tenant, body(), { TENANTS: held.kv });
    await held.read;

    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);
    const nextOwnersKey = await createTenantAgain(tenant.id);
    held.release();
    await underWay;
    const attemptsBefore = (await standin.attempts(tenant.apiKey)).length;

    expect((await sendTraces(tenant, body())).status).toBe(401);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(attemptsBefore);
    expect(await standin.attempts(nextOwnersKey)).toEqual([]);
  });

  it("refuses tenant A's token on tenant B's path", async () => {
    const a = await createTenant();
    const b = await createTenant();

    const response = await sendTraces({ id: b.id, bearer: a.bearer }, body());

    expect(response.status).toBe(401);
    expect((await rpcStatusOf(response)).message).toBe("invalid ingest token for this tenant");
    expect(await standin.attempts(a.apiKey)).toHaveLength(0);
    expect(await standin.attempts(b.apiKey)).toHaveLength(0);
  });

  it("refuses a relay token on a passthrough tenant instead of sending it to Braintrust", async () => {
    const stored = await createTenant();
    const passthrough = await createTenant({ mode: "passthrough" });

    const response = await sendTraces({ id: passthrough.id, bearer: stored.bearer }, body());

    expect(response.status).toBe(401);
    expect((await rpcStatusOf(response)).message).toMatch(/send that key, not a relay token/);
    expect(await standin.attempts(stored.bearer)).toHaveLength(0);
  });

  it("refuses the admin token on a passthrough tenant instead of sending it upstream, and names it nowhere", async () => {
    const passthrough = await createTenant({ mode: "passthrough" });

    const { result: response, lines } = await loggedWhile(() => sendTraces({ id: passthrough.id, bearer: ADMIN_TOKEN }, body()));

    expect(response.status).toBe(401);
    const message = (await rpcStatusOf(response)).message;
    expect(message).toBe(
      "the relay's admin token is not a Braintrust API key, and never leaves the relay: send the client's own Braintrust key",
    );
    expect(await standin.attempts(ADMIN_TOKEN)).toHaveLength(0);
    expect(lines.join("\n")).not.toContain(ADMIN_TOKEN);
  });

  it.each([
    ["in quotes, as a value copied out of JSON or a .env file", `"${ADMIN_TOKEN}"`],
    ["after token= and before a comma", `token=${ADMIN_TOKEN},`],
  ])("refuses the admin token written %s on a passthrough tenant instead of sending it upstream", async (_written, bearer) => {
    const passthrough = await createTenant({ mode: "passthrough" });

    const response = await sendTraces({ id: passthrough.id, bearer }, body());

    expect(response.status).toBe(401);
    expect((await rpcStatusOf(response)).message).toBe(
      "the relay's admin token is not a Braintrust API key, and never leaves the relay: send the client's own Braintrust key",
    );
    expect(await standin.attempts(bearer)).toHaveLength(0);
  });

  it("takes a passthrough key that holds the text of an admin token too short to be in force", async () => {
    const passthrough = await createTenant({ mode: "passthrough" });
    // Shorter than 32 characters, it disables the admin API, and is no secret to look for.
    const shortToken = passthrough.apiKey.slice(0, 8);

    const response = await sendTracesWith(passthrough, body(), { ADMIN_TOKEN: shortToken });

    expect(response.status).toBe(200);
    expect(await standin.attempts(passthrough.apiKey)).toHaveLength(1);
  });

  it("refuses another tenant's ingest token in quotes on a passthrough tenant instead of sending it upstream", async () => {
    const stored = await createTenant();
    const passthrough = await createTenant({ mode: "passthrough" });
    const bearer = `"${stored.bearer}"`;

    const response = await sendTraces({ id: passthrough.id, bearer }, body());

    expect(response.status).toBe(401);
    expect((await rpcStatusOf(response)).message).toMatch(/send that key, not a relay token/);
    expect(await standin.attempts(bearer)).toHaveLength(0);
  });

  it.each([
    ["as the relay has it", env.ENCRYPTION_KEY],
    ["without its padding, the same 32 bytes", env.ENCRYPTION_KEY.replace(/=+$/, "")],
    ["in quotes", `"${env.ENCRYPTION_KEY}"`],
    ["in base64url, after key=", `key=${env.ENCRYPTION_KEY.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`],
    ["in lower case", env.ENCRYPTION_KEY.toLowerCase()],
  ])(
    "refuses the relay's ENCRYPTION_KEY (%s) on a passthrough tenant instead of sending it upstream, and names it nowhere",
    async (_written, key) => {
      const passthrough = await createTenant({ mode: "passthrough" });

      const { result: response, lines } = await loggedWhile(() => sendTraces({ id: passthrough.id, bearer: key }, body()));

      expect(response.status).toBe(401);
      expect((await rpcStatusOf(response)).message).toBe(
        "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS) is not a Braintrust API key, and never leaves the relay: send the client's own Braintrust key",
      );
      expect(await standin.attempts(key)).toHaveLength(0);
      expect(lines.join("\n")).not.toContain(key);
    },
  );
});

describe("the relay's secrets percent-encoded as a passthrough bearer", () => {
  // 32 bytes of 0xfb: base64 "+/v7+/v7…", full of the characters OTEL_EXPORTER_OTLP_HEADERS escapes.
  const encryptionKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(0xfb)));
  const adminToken = "Zm9v+YmFy/YmF6+cXV4/cXV1eA+Ym9vL2Jhcg==";

  it.each([
    ["ENCRYPTION_KEY", { ENCRYPTION_KEY: encryptionKey }, encryptionKey, "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"],
    ["ADMIN_TOKEN", { ADMIN_TOKEN: adminToken }, adminToken, "the relay's admin token"],
  ])("%s, its + / and = escaped as a server reads them back, is refused, not sent upstream", async (_name, bindings, secret, shown) => {
    const passthrough = await createTenant({ mode: "passthrough" });
    const bearer = encodeURIComponent(secret);
    expect(bearer).toMatch(/%2B.*%2F/);

    const response = await sendTracesWith({ id: passthrough.id, bearer }, body(), bindings);

    expect(response.status).toBe(401);
    expect((await rpcStatusOf(response)).message).toBe(
      `${shown} is not a Braintrust API key, and never leaves the relay: send the client's own Braintrust key`,
    );
    expect(await standin.attempts(bearer)).toHaveLength(0);
  });
});

describe("tenant changes", () => {
  it("apply to the next request in the isolate that made them, though the tenant's object, in an isolate of its own, clears only that one's copy", async () => {
    const tenant = await createTenant();
    expect((await sendTraces(tenant, body())).status).toBe(200);

    const changed = await objectElsewhere(() => admin("PUT", `/tenants/${tenant.id}`, { parent: "experiment_id:exp-9" }));
    expect(changed.status).toBe(200);
    expect((await sendTraces(tenant, body())).status).toBe(200);
    expect((await objectElsewhere(() => admin("DELETE", `/tenants/${tenant.id}`))).status).toBe(204);
    const afterDelete = await sendTraces(tenant, body());

    expect((await standin.received(tenant.apiKey)).map((r) => r.parent)).toEqual([tenant.parent, "experiment_id:exp-9"]);
    expect(afterDelete.status).toBe(404);
  });

  it("apply to the next request: a new parent, a rotated key, a deleted tenant", async () => {
    const tenant = await createTenant();
    await sendTraces(tenant, body());

    const newKey = await standin.issueKey();
    await admin("PUT", `/tenants/${tenant.id}`, { parent: "experiment_id:exp-9", braintrust: { api_url: standin.url, api_key: newKey } });
    const afterChange = await sendTraces(tenant, body());
    await admin("DELETE", `/tenants/${tenant.id}`);
    const afterDelete = await sendTraces(tenant, body());

    expect(afterChange.status).toBe(200);
    expect((await standin.received(tenant.apiKey)).map((r) => r.parent)).toEqual([tenant.parent]);
    expect((await standin.received(newKey)).map((r) => r.parent)).toEqual(["experiment_id:exp-9"]);
    expect(afterDelete.status).toBe(404);
  });
});
