import { describe, expect, it } from "vitest";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { rpcStatusOf, toProtobuf, trueFoundryTrace } from "./support/traces.js";

describe("when Braintrust fails", () => {
  it.each([
    [502, {}, "5"],
    [503, {}, "5"],
    [504, {}, "5"],
    [500, {}, "5"],
    [429, { "retry-after": "7" }, "7"],
    [503, { "retry-after": new Date(Date.now() + 30_000).toUTCString() }, /^(29|30|31)$/],
  ] as const)("a retryable %i becomes 503 with Retry-After, never 2xx", async (status, headers, retryAfter) => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status, headers }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(retryAfter);
    expect((await rpcStatusOf(response)).message).toMatch(new RegExp(`^Braintrust is unavailable, retry later: Braintrust answered ${status}`));
  });

  it("gives up on an upstream that hangs past the timeout with 503", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ delayMs: 3_000 }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(503);
    expect((await rpcStatusOf(response)).message).toBe("Braintrust is unavailable, retry later: Braintrust did not answer within 2000 ms");
  });

  it("answers 503 when Braintrust cannot be reached at all", async () => {
    const tenant = await createTenant({ apiUrl: "http://127.0.0.1:9" });

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(503);
    expect((await rpcStatusOf(response)).message).toBe("Braintrust is unavailable, retry later: could not connect to Braintrust");
  });

  it("passes Braintrust's 400 on to the client, which must not retry", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"span too old"}' }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toBe('Braintrust answered 400: {"error":"span too old"}');
  });

  it("returns Braintrust's 401 and 403 to a passthrough client, whose key it is", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const body = toProtobuf(trueFoundryTrace());

    const unknownKey = await sendTraces(tenant, body, { bearer: "sk-not-a-key-braintrust-knows" });
    await standin.script(tenant.apiKey, [{ status: 403, body: "Forbidden" }]);
    const forbidden = await sendTraces(tenant, body);

    expect(unknownKey.status).toBe(401);
    expect((await rpcStatusOf(unknownKey)).message).toBe('Braintrust answered 401: {"error":"Invalid API key"}');
    expect(forbidden.status).toBe(403);
  });

  it("answers 502 when Braintrust refuses a stored key: the operator, not the client, must fix it", async () => {
    const tenant = await createTenant();
    await standin.revokeKey(tenant.apiKey);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(502);
    const message = (await rpcStatusOf(response)).message;
    expect(message).toMatch(/^Braintrust refused the tenant's stored API key; an operator must update it/);
    expect(message).not.toContain(tenant.apiKey);
  });

  it("does not follow a redirect, which would carry the key to another host", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 307, headers: { location: "http://169.254.169.254/otel/v1/traces" } }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(502);
    expect((await rpcStatusOf(response)).message).toBe("Braintrust answered with a redirect (307), which the relay does not follow");
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
  });
});
