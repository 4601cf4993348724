import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { createTenant, sendTraces, sendTracesWith } from "../support/relay.js";
import { standin } from "../support/standin.js";
import { rpcStatusOf } from "../support/traces.js";

afterEach(() => vi.restoreAllMocks());

// This project lowers the ceiling to 5 requests a window, keeping wrangler.toml's period (vitest.config.ts).
const CEILING = 5;
// The limiter's windows follow the wall clock: if one ends mid-test, a tenant may get a second
// window's worth, so the refusal is looked for within two windows' requests.
const TWO_WINDOWS = 2 * CEILING + 1;

describe("the per-location ceiling (Cloudflare's rate-limiting binding, keyed by tenant)", () => {
  it("refuses a tenant past the ceiling with 429 and Retry-After, though its own rate limit would allow more", async () => {
    const busy = await createTenant({ config: { rate_limit: { requests_per_second: 100_000, burst: 1_000_000 } } });
    const body = toProtobuf(trueFoundryTrace());

    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < TWO_WINDOWS && !refused; i++) {
      const response = await sendTraces(busy, body);
      statuses.push(response.status);
      if (response.status === 429) refused = response;
    }

    expect(statuses.slice(0, CEILING)).toEqual(Array(CEILING).fill(200));
    // The relay's Retry-After is the window wrangler.toml declares, the longest the client must wait.
    expect(refused?.headers.get("retry-after")).toBe(env.CEILING_PERIOD_SECONDS);
    const status = await rpcStatusOf(refused!);
    expect(status.code).toBe(8);
    expect(status.message).toBe(`tenant ${busy.id} is over the relay's ceiling for one Cloudflare location: retry later`);
  });

  it("keys the ceiling by tenant: one tenant past it leaves the others untouched", async () => {
    const busy = await createTenant({ config: { rate_limit: { requests_per_second: 100_000, burst: 1_000_000 } } });
    const quiet = await createTenant();
    const body = toProtobuf(trueFoundryTrace());

    let refused = false;
    for (let i = 0; i < TWO_WINDOWS && !refused; i++) refused = (await sendTraces(busy, body)).status === 429;

    expect(refused).toBe(true);
    expect((await sendTraces(quiet, body)).status).toBe(200);
  });

  it("counts only authenticated requests: strangers cannot spend a tenant's ceiling", async () => {
    const tenant = await createTenant();

    for (let i = 0; i < TWO_WINDOWS; i++)
      expect((await sendTraces(tenant, "x", { bearer: "tbr_0000000000000000_wrong" })).status).toBe(401);

    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
  });

  it("lets requests through, and says so in the log, when the limiter itself fails", async () => {
    const tenant = await createTenant();
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    const failingLimiter: RateLimit = { limit: () => Promise.reject(new Error("rate limiter unavailable")) };
    const response = await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { TENANT_RATE_CEILING: failingLimiter });

    expect(response.status).toBe(200);
    expect(await standin.received(tenant.apiKey)).toHaveLength(1);
    expect(errors.map((line) => JSON.parse(line))).toContainEqual({
      event: "rate_limiter_failed",
      tenant: tenant.id,
      error: "rate limiter unavailable",
      request_id: expect.any(String),
    });
  });

  it("answers 503 naming the binding when the configuration lacks it, rather than go without a ceiling", async () => {
    const tenant = await createTenant();

    // The generated Env says the binding is always there; a deployment's wrangler.toml may say otherwise.
    const response = await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { TENANT_RATE_CEILING: undefined });

    expect(response.status).toBe(503);
    expect((await rpcStatusOf(response)).message).toBe("the TENANT_RATE_CEILING rate-limiting binding is missing: see wrangler.toml");
    expect(await standin.received(tenant.apiKey)).toEqual([]);
  });
});
