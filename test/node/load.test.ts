import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { workerdRss } from "../../scripts/lib/workerd-processes.js";
import { adminCall, type RelayProcess, startRelay } from "../../scripts/lib/wrangler-dev.js";
import { standinClient } from "../standin/client.js";
import { spanIdsOf } from "../support/traces.js";

const standin = standinClient(inject("standinUrl"));
const REQUESTS = 1200;
const CONCURRENCY = 12;
let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelay({ RETRY_BASE_DELAY_SECONDS: "1" });
});

afterAll(async () => {
  await relay?.stop();
});

async function healthChecks(count: number): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await (await fetch(`${relay.url}/healthz`)).arrayBuffer();
    }),
  );
}

interface Tenant {
  id: string;
  apiKey: string;
  bearer: string;
}

async function tenant(
  id: string,
  options: { stored: boolean; rateLimit?: { requests_per_second: number; burst: number } },
): Promise<Tenant> {
  const apiKey = await standin.issueKey();
  const created = await adminCall(relay, "PUT", `/tenants/${id}`, {
    parent: `project_name:${id}`,
    braintrust: { api_url: standin.url, ...(options.stored ? { api_key: apiKey } : {}) },
    ...(options.rateLimit ? { rate_limit: options.rateLimit } : {}),
  });
  expect(created.status).toBe(201);
  const bearer = options.stored
    ? ((await (await adminCall(relay, "POST", `/tenants/${id}/tokens`)).json()) as { token: string }).token
    : apiKey;
  return { id, apiKey, bearer };
}

describe("a bounded load of mixed traffic under wrangler dev", () => {
  it(`${REQUESTS} requests from four tenants: no 5xx, no valid span lost, memory in line with the dev server's own`, async () => {
    const steady = await tenant("load-steady", { stored: true });
    const passthrough = await tenant("load-passthrough", { stored: false });
    const flaky = await tenant("load-flaky", { stored: true });
    // Its 240 requests outrun 1 per second whether the machine takes 3 s or 30 s for the run.
    const noisy = await tenant("load-noisy", { stored: true, rateLimit: { requests_per_second: 1, burst: 5 } });
    await standin.script(
      flaky.apiKey,
      Array.from({ length: 30 }, () => ({ status: 503 })),
    );

    const expected = new Map<Tenant, string[]>();
    const statuses = new Map<number, number>();
    const plan = Array.from({ length: REQUESTS }, (_, i) => i);
    const send = async (i: number) => {
      const kind = i % 10;
      const target = kind < 3 ? steady : kind < 5 ? passthrough : kind < 6 ? flaky : kind < 8 ? noisy : steady;
      const trace = trueFoundryTrace({ prompt: `load ${i}` });
      let body: Uint8Array<ArrayBuffer> | string = toProtobuf(trace).slice();
      let bearer = target.bearer;
      let contentType = "application/x-protobuf";
      if (kind === 8) body = crypto.getRandomValues(new Uint8Array(64 + (i % 200))); // garbage
      if (kind === 9) [bearer, contentType] = i % 20 === 9 ? ["tbr_0000000000000000_nope", contentType] : [bearer, "text/plain"];
      const response = await fetch(`${relay.url}/t/${target.id}/v1/traces`, {
        method: "POST",
        headers: { "content-type": contentType, authorization: `Bearer ${bearer}` },
        body,
      });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 200 && kind < 8) expected.set(target, [...(expected.get(target) ?? []), ...spanIdsOf(trace)]);
    };
    const run = async (slice: number[]) => {
      const queue = [...slice];
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) await send(i);
        }),
      );
    };

    // wrangler dev's workerd itself grows with every request served (about 70 KB each, even for
    // /healthz), so the relay's memory is judged against that baseline, measured in the same run.
    await run(plan.slice(0, REQUESTS / 4));
    const warm = workerdRss(relay.processGroup);
    await run(plan.slice(REQUESTS / 4));
    const ingestGrowth = workerdRss(relay.processGroup) - warm;
    const beforeBaseline = workerdRss(relay.processGroup);
    await healthChecks((REQUESTS * 3) / 4);
    const baselineGrowth = workerdRss(relay.processGroup) - beforeBaseline;

    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 401, 415, 429]));
    for (const [target, spans] of expected) {
      const arrival = await standin.waitForSpans(target.apiKey, spans, 60_000);
      expect(arrival.missing, target.id).toEqual([]);
    }
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    console.log(
      `load: statuses ${JSON.stringify(Object.fromEntries(statuses))}; workerd RSS growth over ${(REQUESTS * 3) / 4} requests: relay ${mib(ingestGrowth)} MiB, /healthz baseline ${mib(baselineGrowth)} MiB`,
    );
    expect(warm).toBeGreaterThan(0);
    expect(ingestGrowth).toBeLessThan(2 * baselineGrowth + 32 * 2 ** 20);
  });
});
