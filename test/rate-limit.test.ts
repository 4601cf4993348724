import { afterEach, describe, expect, it, vi } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { rpcStatusOf } from "./support/traces.js";

describe("per-tenant rate limits", () => {
  afterEach(() => vi.restoreAllMocks());

  it("answers 429 with Retry-After once a tenant's burst is spent, and 200 once a token came, without touching other tenants", async () => {
    const noisy = await createTenant({ config: { rate_limit: { requests_per_second: 0.5, burst: 2 } } });
    const quiet = await createTenant();
    const body = () => toProtobuf(trueFoundryTrace());
    // The limiter's clock held still, then moved on by hand: how fast the machine sends changes nothing.
    const start = Date.now();
    const clock = vi.spyOn(Date, "now").mockReturnValue(start);

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await sendTraces(noisy, body())).status);
    const limited = await sendTraces(noisy, body());

    expect(statuses).toEqual([200, 200, 429]);
    expect(limited.status).toBe(429);
    // A token comes every 2 s.
    expect(limited.headers.get("retry-after")).toBe("2");
    const status = await rpcStatusOf(limited);
    expect(status.code).toBe(8);
    expect(status.message).toBe(`tenant ${noisy.id} is over its rate limit of 0.5 requests per second: retry later`);
    expect((await sendTraces(quiet, body())).status).toBe(200);
    clock.mockReturnValue(start + 2_000);
    expect((await sendTraces(noisy, body())).status).toBe(200);
    expect((await sendTraces(noisy, body())).status).toBe(429);
  });

  it("keeps no more than the burst however long a tenant was idle", async () => {
    const tenant = await createTenant({ config: { rate_limit: { requests_per_second: 0.5, burst: 2 } } });
    const start = Date.now();
    const clock = vi.spyOn(Date, "now").mockReturnValue(start);

    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    // A minute idle would earn 30 tokens; the bucket holds 2.
    clock.mockReturnValue(start + 60_000);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status);

    expect(statuses).toEqual([200, 200, 429]);
  });

  it("names a wait, rounded up to whole seconds, after which the request is taken", async () => {
    const tenant = await createTenant({ config: { rate_limit: { requests_per_second: 0.3, burst: 1 } } });
    const start = Date.now();
    const clock = vi.spyOn(Date, "now").mockReturnValue(start);

    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    const limited = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    // A token every 3.33 s: 3 s would be too soon.
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("4");
    clock.mockReturnValue(start + 3_000);
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(429);
    clock.mockReturnValue(start + 3_000 + 4_000);
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
  });

  it("names a wait of at most a day, in whole seconds, for a limit of a tiny fraction of a request a second", async () => {
    const tenant = await createTenant({ config: { rate_limit: { requests_per_second: 1e-300, burst: 1 } } });

    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    const limited = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("86400");
  });

  it("does not let unauthenticated requests spend a tenant's budget", async () => {
    const tenant = await createTenant({ config: { rate_limit: { requests_per_second: 0.5, burst: 1 } } });

    for (let i = 0; i < 5; i++) expect((await sendTraces(tenant, "x", { bearer: "tbr_0000000000000000_wrong" })).status).toBe(401);

    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
  });
});
