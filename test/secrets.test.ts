import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { recordingQueue } from "./support/bindings.js";
import { deadLettersOf, waitForDeadLetters } from "./support/dead-letters.js";
import { ADMIN_TOKEN, admin, createTenant, sendTraces, sendTracesWith, type TestTenant } from "./support/relay.js";
import { acceptKey, gatewayTrace, passthroughRoutingTenant, traceRoutesOf, waitingSpans } from "./support/routing.js";
import { standin } from "./support/standin.js";
import { requestOf, spanIdsOf } from "./support/traces.js";

/** The real queue with a recorder in front, to see exactly what goes on the queue. */
const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

/** Everything the relay wrote anywhere during the scenario, as text to search. */
const written = {
  logs: [] as string[],
  bodies: [] as string[],
  get queued(): DeliveryMessage[] {
    return queue.sent.map((m) => m.body);
  },
};
let stored: TestTenant;
let passthrough: TestTenant;
let routing: TestTenant;
let waiting: ReturnType<typeof gatewayTrace>;
let stranger: string;

const latin1 = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");
const asText = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? latin1(v) : v));

beforeAll(async () => {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      written.logs.push(args.map(String).join(" "));
    });
  }
  stored = await createTenant();
  passthrough = await createTenant({ mode: "passthrough" });
  const keep = async (response: Response) => written.bodies.push(await response.text());

  // Delivered, retried through the queue, dead-lettered, refused: every path that touches a key.
  await keep(await sendTraces(stored, toProtobuf(trueFoundryTrace())));
  await keep(await sendTraces(stored, toProtobuf(trueFoundryTrace()), { bearer: `${stored.bearer}x` }));
  await standin.script(stored.apiKey, [{ status: 400, body: `rejected key ${stored.apiKey}` }]);
  await keep(await sendTraces(stored, toProtobuf(trueFoundryTrace())));
  const retried = trueFoundryTrace();
  await standin.script(stored.apiKey, [{ status: 503 }]);
  await keep(await sendTracesWith(stored, toProtobuf(retried), { DELIVERY_QUEUE: queue }));
  // Delivered first: only a passthrough key Braintrust has accepted has its spans queued or dead-lettered.
  await keep(await sendTraces(passthrough, toProtobuf(trueFoundryTrace())));
  const passthroughRetried = trueFoundryTrace();
  await standin.script(passthrough.apiKey, [{ status: 502 }]);
  await keep(await sendTracesWith(passthrough, toProtobuf(passthroughRetried), { DELIVERY_QUEUE: queue }));
  await standin.script(passthrough.apiKey, [{ status: 400 }]);
  await keep(await sendTraces(passthrough, toProtobuf(trueFoundryTrace())));
  await keep(await sendTraces(passthrough, toProtobuf(trueFoundryTrace()), { bearer: stored.bearer }));
  // A key Braintrust has not accepted, echoed in its 503: handed back to the client, nothing kept.
  stranger = await standin.issueKey();
  await standin.script(stranger, [{ status: 503, body: `unavailable for ${stranger}` }]);
  await keep(await sendTraces(passthrough, toProtobuf(trueFoundryTrace()), { bearer: stranger }));
  for (const path of [
    `/tenants/${stored.id}`,
    `/tenants/${passthrough.id}`,
    "/tenants",
    `/dead-letters?tenant=${stored.id}`,
    `/dead-letters?tenant=${passthrough.id}`,
  ]) {
    await keep(await admin("GET", path));
  }
  await keep(await admin("GET", "/tenants", undefined, `${ADMIN_TOKEN}-wrong`));
  // A token pasted where its id goes, to revoke it.
  await keep(await admin("DELETE", `/tenants/${stored.id}/tokens/${stored.bearer}`));

  // A passthrough client's trace kept waiting for its top span, in its trace-routes object, with the client's key.
  routing = await passthroughRoutingTenant();
  await acceptKey(routing);
  waiting = gatewayTrace({ env: "prod" });
  await keep(await sendTraces(routing, toProtobuf(requestOf(waiting.children))));

  expect((await standin.waitForSpans(stored.apiKey, spanIdsOf(retried))).missing).toEqual([]);
  expect((await standin.waitForSpans(passthrough.apiKey, spanIdsOf(passthroughRetried))).missing).toEqual([]);
  await waitForDeadLetters(passthrough.id, (list) => list.length === 1);
});

afterAll(() => {
  vi.restoreAllMocks();
});

function secrets(): Array<[string, string]> {
  return [
    ["the stored Braintrust key", stored.apiKey],
    ["the ingest token", stored.bearer],
    ["the ingest token's secret part", stored.bearer.slice(21)],
    ["the passthrough client's key", passthrough.apiKey],
    ["a passthrough key Braintrust has not accepted", stranger],
    ["the routing passthrough client's key", routing.apiKey],
    ["the admin token", ADMIN_TOKEN],
    ["the encryption key", env.ENCRYPTION_KEY!],
  ];
}

describe("no secret is written anywhere", () => {
  it("the scenario really exercised logs, queue messages and dead letters", async () => {
    expect(written.logs.some((l) => l.includes('"event":"delivery_attempt"'))).toBe(true);
    expect(written.logs.some((l) => l.includes('"event":"dead_letter"'))).toBe(true);
    expect(written.queued.map((m) => m.tenant).sort()).toEqual([passthrough.id, stored.id].sort());
    expect(written.queued.find((m) => m.tenant === passthrough.id)?.sealedClientKey).toMatch(/^v1\./);
    expect(await deadLettersOf(stored.id)).toHaveLength(1);
  });

  it.each(["logs", "bodies", "queued"] as const)("not in %s", (where) => {
    const text = asText(written[where]);
    for (const [what, secret] of secrets()) expect(text.includes(secret), `${what} in ${where}`).toBe(false);
  });

  it("not in dead letters (metadata or body)", async () => {
    const objects = [];
    for (const tenant of [stored, passthrough]) {
      const listing = await env.PAYLOADS.list({ prefix: `dead-letters/${tenant.id}/`, include: ["customMetadata"] });
      for (const object of listing.objects) {
        const body = await env.PAYLOADS.get(object.key);
        objects.push(asText(object.customMetadata) + latin1(new Uint8Array(await body!.arrayBuffer())));
      }
    }
    expect(objects).toHaveLength(2);
    for (const [what, secret] of secrets()) expect(objects.join("\n").includes(secret), what).toBe(false);
  });

  it("not in Durable Object storage: tenant records, accepted keys, statistics, waiting traces", async () => {
    expect(await waitingSpans(routing.id)).toBeGreaterThan(0);
    const objects = [
      ...[stored, passthrough, routing].map((tenant) => env.TENANT_OBJECTS.get(env.TENANT_OBJECTS.idFromName(tenant.id))),
      traceRoutesOf(routing, waiting.top.traceId),
    ];
    const rows: string[] = [];
    for (const object of objects) {
      await runInDurableObject(object as DurableObjectStub, async (_instance, state) => {
        rows.push(asText(Object.fromEntries(await state.storage.list())));
        const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray();
        for (const { name } of tables) {
          if (name.startsWith("_cf_") || name.startsWith("sqlite_")) continue;
          rows.push(`${name}: ${asText(state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray())}`);
        }
      });
    }
    expect(rows.some((row) => row.includes("sealed"))).toBe(true);
    for (const [what, secret] of secrets()) expect(rows.join("\n").includes(secret), what).toBe(false);
  });

  it("not in KV, where tenants and delivery markers live", async () => {
    const values: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await env.TENANTS.list({ cursor });
      for (const key of page.keys) values.push(`${key.name} ${asText(key.metadata)} ${await env.TENANTS.get(key.name)}`);
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    expect(values.some((v) => v.startsWith(`tenant:${stored.id} `))).toBe(true);
    for (const [what, secret] of secrets()) expect(values.join("\n").includes(secret), what).toBe(false);
  });
});
