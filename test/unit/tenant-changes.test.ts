import { describe, expect, it } from "vitest";
import { tenantRecord } from "../../scripts/lib/tenants.js";
import { tenantView, VIEW_ONLY_FIELDS } from "../../src/admin/views.js";
import { replaceTenant, type TenantReplacement, withoutToken, withToken } from "../../src/tenants/changes.js";
import { KvReplica } from "../../src/tenants/kv-replica.js";
import { OneAtATime } from "../../src/tenants/one-at-a-time.js";
import { preconditionHolds, tenantRevision } from "../../src/tenants/revision.js";
import { routeMatchKeys } from "../../src/tenants/route-keys.js";
import { tenantInputSchema } from "../../src/tenants/schema.js";
import { MAX_TOKENS_PER_TENANT } from "../../src/tenants/tokens.js";

const NOW = "2026-12-01T15:00:00.000Z";
const token = (id: string) => ({ id, sha256: "00", created_at: NOW });
const { id: _id, ...stored } = tenantRecord({ api_key_sealed: "v1.sealed.key", tokens: [token("a")], incarnation: "inc-1" });
const replacement = (sealedKey: TenantReplacement["sealedKey"]): TenantReplacement => ({
  config: { ...tenantRecord(), parent: "project_name:next" },
  apiUrl: "https://api-eu.braintrust.dev",
  sealedKey,
});

describe("a tenant replaced", () => {
  it("keeps its key, tokens, incarnation and creation time when the PUT leaves the key out", () => {
    const replaced = replaceTenant(stored, replacement(undefined), NOW);
    expect(replaced).toMatchObject({
      parent: "project_name:next",
      api_url: "https://api-eu.braintrust.dev",
      api_key_sealed: "v1.sealed.key",
      tokens: [token("a")],
      incarnation: "inc-1",
      created_at: stored.created_at,
      updated_at: NOW,
    });
  });

  it("drops the key and its tokens when the PUT removes the key", () => {
    const replaced = replaceTenant(stored, replacement(null), NOW);
    expect(replaced.api_key_sealed).toBeUndefined();
    expect(replaced.tokens).toEqual([]);
  });

  it("is created with a new incarnation when there was none", () => {
    const created = replaceTenant(undefined, replacement("v1.new.key"), NOW);
    expect(created).toMatchObject({ api_key_sealed: "v1.new.key", tokens: [], created_at: NOW });
    expect(created.incarnation).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("tokens", () => {
  it("are added to a stored-key tenant, and refused to a missing, passthrough or full one", () => {
    expect(withToken(stored, token("b"))).toMatchObject({ tenant: { tokens: [token("a"), token("b")] }, replaced: undefined });
    expect(withToken(undefined, token("b"))).toBe("no_tenant");
    expect(withToken({ ...stored, api_key_sealed: undefined }, token("b"))).toBe("passthrough");
    const full = { ...stored, tokens: Array.from({ length: MAX_TOKENS_PER_TENANT }, (_, i) => token(`t${i}`)) };
    expect(withToken(full, token("b"))).toBe("full");
  });

  it("replace the token issued under the same issue key, even at the most a tenant takes; another key's or none stays", () => {
    const keyed = (id: string, issueKey: string) => ({ ...token(id), issue_key_sha256: issueKey });
    const tenant = { ...stored, tokens: [token("a"), keyed("k1", "form-one-0123456789"), keyed("k2", "form-two-0123456789")] };
    expect(withToken(tenant, keyed("k3", "form-one-0123456789"))).toMatchObject({
      tenant: { tokens: [token("a"), keyed("k2", "form-two-0123456789"), keyed("k3", "form-one-0123456789")] },
      replaced: "k1",
    });
    const full = {
      ...stored,
      tokens: [...Array.from({ length: MAX_TOKENS_PER_TENANT - 1 }, (_, i) => token(`t${i}`)), keyed("k1", "x".repeat(16))],
    };
    expect(withToken(full, keyed("k2", "x".repeat(16)))).toMatchObject({ replaced: "k1" });
    expect(withToken(full, keyed("k2", "y".repeat(16)))).toBe("full");
  });

  it("are revoked by id, and a token the tenant does not have changes nothing", () => {
    expect(withoutToken(stored, "a", NOW)).toMatchObject({ tokens: [], updated_at: NOW });
    expect(withoutToken(stored, "zz", NOW)).toBeUndefined();
  });
});

describe("one at a time", () => {
  it("runs each piece of work after the one before has settled, failed ones included", async () => {
    const queue = new OneAtATime();
    const order: string[] = [];
    const slow = queue.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push("first");
      throw new Error("first failed");
    });
    const next = queue.run(async () => {
      order.push("second");
      return 2;
    });
    await expect(slow).rejects.toThrow("first failed");
    expect(await next).toBe(2);
    expect(order).toEqual(["first", "second"]);
  });
});

describe("the KV replica", () => {
  it("carries every change made before a sync in a write that started after it, sharing writes between changes", async () => {
    let record = 0;
    const written: number[] = [];
    const replica = new KvReplica(async () => {
      const copy = record;
      await new Promise((resolve) => setTimeout(resolve, 10));
      written.push(copy);
    });

    const change = () => {
      record += 1;
      const made = record;
      return replica.sync().then(() => expect(Math.max(...written)).toBeGreaterThanOrEqual(made));
    };

    const before = Array.from({ length: 5 }, change);
    // The first write is under way: these five wait for the next one, and share it.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const during = Array.from({ length: 5 }, change);
    await Promise.all([...before, ...during]);

    expect(written).toEqual([5, 10]);
  });

  it("never starts a write while another is under way: a slow write of an older record does not land after a newer one", async () => {
    let record = 0;
    let running = 0;
    let most = 0;
    const written: number[] = [];
    // The first write is slow, the next one quick: run side by side, the older copy would land last.
    const delays = [30, 1];
    const replica = new KvReplica(async () => {
      const copy = record;
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, delays.shift() ?? 1));
      written.push(copy);
      running -= 1;
    });

    record = 1;
    const first = replica.sync();
    await new Promise((resolve) => setTimeout(resolve, 2));
    record = 2;
    const second = replica.sync();
    await Promise.all([first, second]);

    expect(most).toBe(1);
    expect(written).toEqual([1, 2]);
  });

  it("fails the syncs a failed write carried, and writes again for the next", async () => {
    let fail = true;
    const replica = new KvReplica(async () => {
      if (fail) throw new Error("KV unavailable");
    });
    await expect(replica.sync()).rejects.toThrow("KV unavailable");
    fail = false;
    await expect(replica.sync()).resolves.toBeUndefined();
  });
});

describe("a write's preconditions on a tenant's revision", () => {
  const cases: Array<[string, Parameters<typeof preconditionHolds>[0], string | undefined, boolean]> = [
    ["no condition, a tenant", {}, "r1", true],
    ["no condition, none", {}, undefined, true],
    ["If-Match *, a tenant", { ifMatch: "*" }, "r1", true],
    ["If-Match *, none", { ifMatch: "*" }, undefined, false],
    ["If-Match its revision among others", { ifMatch: ["r0", "r1"] }, "r1", true],
    ["If-Match another revision", { ifMatch: ["r0"] }, "r1", false],
    ["If-Match no tag left (weak ones only)", { ifMatch: [] }, "r1", false],
    ["If-Match a revision, none", { ifMatch: ["r1"] }, undefined, false],
    ["If-None-Match *, none", { ifNoneMatch: "*" }, undefined, true],
    ["If-None-Match *, a tenant", { ifNoneMatch: "*" }, "r1", false],
    ["If-None-Match its revision", { ifNoneMatch: ["r1"] }, "r1", false],
    ["If-None-Match another revision", { ifNoneMatch: ["r0"] }, "r1", true],
    ["If-Match and If-None-Match, both must hold", { ifMatch: ["r1"], ifNoneMatch: "*" }, "r1", false],
    ["If-Match and If-None-Match, both holding", { ifMatch: ["r1"], ifNoneMatch: ["r0"] }, "r1", true],
  ];
  it.each(cases)("%s", (_name, precondition, current, holds) => {
    expect(preconditionHolds(precondition, current)).toBe(holds);
  });

  it("is a digest of the whole record: any field, the sealed key included, makes another", async () => {
    const revision = await tenantRevision(stored);
    expect(revision).toMatch(/^[0-9a-f]{32}$/);
    expect(await tenantRevision({ ...stored })).toBe(revision);
    for (const changed of [
      { ...stored, api_key_sealed: "v1.other.key" },
      { ...stored, updated_at: NOW },
      { ...stored, tokens: [] },
    ])
      expect(await tenantRevision(changed)).not.toBe(revision);
  });
});

describe("a tenant's view", () => {
  it("is, its read-only fields left out, a PUT the admin API takes as it is; and those fields a PUT does not take", () => {
    const tenant = tenantRecord({
      api_key_sealed: "v1.sealed.key",
      tokens: [token("a")],
      routes: [{ match: { field: "span_name", prefix: "Model" }, parent: "project_name:models" }],
      routed_until: NOW,
      rate_limit: { requests_per_second: 5, burst: 10 },
      redact: { keys: [{ pattern: "tfy.prompt_variables" }], values: ["emails"] },
    });
    const view: Record<string, unknown> = { ...tenantView(tenant) };
    for (const field of VIEW_ONLY_FIELDS) expect(view).toHaveProperty(field);
    const put = Object.fromEntries(Object.entries(view).filter(([field]) => !(VIEW_ONLY_FIELDS as readonly string[]).includes(field)));

    const taken = tenantInputSchema(false).safeParse(put);
    expect(taken.success).toBe(true);
    // Put back, it is the tenant it was.
    expect(tenantView({ ...tenant, ...taken.data, api_url: taken.data!.braintrust.api_url })).toEqual(view);
    for (const field of VIEW_ONLY_FIELDS) expect(tenantInputSchema(false).safeParse({ ...put, [field]: view[field] }).success).toBe(false);
  });
});

describe("a route's key", () => {
  // A waiting trace follows a re-pointed route by this key: a PUT that writes the same match in
  // another order must keep it, or that route's waiting traces would be weighed as if it were new.
  it("is its match's, whatever order the PUT wrote the match's members in", async () => {
    const keysOf = async (match: Record<string, unknown>) => {
      const taken = tenantInputSchema(false).safeParse({ parent: "project_name:p", routes: [{ match, parent: "project_name:models" }] });
      expect(taken.success).toBe(true);
      return routeMatchKeys(taken.data!.routes);
    };
    const condition = await keysOf({ field: "span_name", prefix: "Model" });
    expect(await keysOf({ prefix: "Model", field: "span_name" })).toEqual(condition);
    expect(await keysOf({ field: "span_name", prefix: "Mode" })).not.toEqual(condition);
    const nested = await keysOf({
      all: [
        { exists: true, field: "attributes.env" },
        { prefix: "Model", field: "span_name" },
      ],
    });
    expect(
      await keysOf({
        all: [
          { field: "attributes.env", exists: true },
          { field: "span_name", prefix: "Model" },
        ],
      }),
    ).toEqual(nested);
  });
});
