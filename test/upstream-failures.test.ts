import { describe, expect, it } from "vitest";
import { deadLettersOf } from "./support/dead-letters.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, rpcStatusOf, toProtobuf, trueFoundryTrace } from "./support/traces.js";

describe.concurrent("what the client is told when Braintrust refuses", () => {
  it("returns Braintrust's 401 and 403 to a passthrough client, whose key it is, and keeps nothing", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const body = toProtobuf(trueFoundryTrace());

    const unknownKey = await sendTraces(tenant, body, { bearer: "sk-not-a-key-braintrust-knows" });
    await standin.script(tenant.apiKey, [{ status: 403, body: "Forbidden" }]);
    const forbidden = await sendTraces(tenant, body);

    expect(unknownKey.status).toBe(401);
    expect((await rpcStatusOf(unknownKey)).message).toBe('Braintrust answered 401: {"error":"Invalid API key"}');
    expect(forbidden.status).toBe(403);
    expect((await rpcStatusOf(forbidden)).message).toBe("Braintrust answered 403: Forbidden");
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("does not follow a redirect, which would carry the key to another host; the spans become a dead letter", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 307, headers: { location: "http://169.254.169.254/otel/v1/traces" } }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess?.errorMessage).toMatch(
      /Braintrust answered with a redirect \(307\), which the relay does not follow$/,
    );
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
    expect(await deadLettersOf(tenant.id)).toHaveLength(1);
  });

  it("never stores the key in a message Braintrust echoes back", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 400, body: `bad request from key ${tenant.apiKey}` }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    const message = (await exportResponseOf(response)).partialSuccess?.errorMessage ?? "";
    expect(message).toContain("bad request from key [redacted]");
    expect(message).not.toContain(tenant.apiKey);
    expect(JSON.stringify(await deadLettersOf(tenant.id))).not.toContain(tenant.apiKey);
  });
});
