import { describe, expect, it } from "vitest";
import { isAcceptedKey, type OfferedKey, recordBraintrustVerdict } from "../src/tenants/accepted-keys.js";

const MINUTE = 60_000;

function offered(overrides: Partial<OfferedKey> = {}): OfferedKey {
  return {
    tenantId: "acme",
    incarnation: "inc-1",
    apiUrl: "https://api.braintrust.dev",
    apiKey: `sk-${crypto.randomUUID()}`,
    ...overrides,
  };
}

describe("the memory of passthrough keys Braintrust accepted", () => {
  it("holds a key from Braintrust's acceptance until it refuses it", async () => {
    const key = offered();
    const t0 = Date.now();
    expect(await isAcceptedKey(key, t0)).toBe(false);

    await recordBraintrustVerdict(key, true, t0);
    expect(await isAcceptedKey(key, t0 + MINUTE)).toBe(true);

    await recordBraintrustVerdict(key, false, t0 + 2 * MINUTE);
    expect(await isAcceptedKey(key, t0 + 2 * MINUTE)).toBe(false);
  });

  it("lets a key lapse after 10 idle minutes; each request renews it", async () => {
    const used = offered();
    const idle = offered();
    const t0 = Date.now();
    await recordBraintrustVerdict(used, true, t0);
    await recordBraintrustVerdict(idle, true, t0);

    for (let minute = 9; minute <= 45; minute += 9) expect(await isAcceptedKey(used, t0 + minute * MINUTE)).toBe(true);
    expect(await isAcceptedKey(idle, t0 + 10 * MINUTE)).toBe(false);
  });

  it("holds a key for the tenant, incarnation and Braintrust URL that accepted it only", async () => {
    const key = offered();
    await recordBraintrustVerdict(key, true);

    expect(await isAcceptedKey({ ...key, tenantId: "other" })).toBe(false);
    // The tenant deleted and created again under its id: another owner's, whose Braintrust accepted nothing yet.
    expect(await isAcceptedKey({ ...key, incarnation: "inc-2" })).toBe(false);
    expect(await isAcceptedKey({ ...key, incarnation: undefined })).toBe(false);
    expect(await isAcceptedKey({ ...key, apiUrl: "https://api-eu.braintrust.dev" })).toBe(false);
    expect(await isAcceptedKey(key)).toBe(true);
  });
});
