import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { createTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { rpcStatusOf, toProtobuf, trueFoundryTrace } from "./support/traces.js";

/** A queue that refuses every send, as Cloudflare's does when it is unavailable or over its rate limit. */
const refusingQueue: Queue<DeliveryMessage> = {
  send: () => Promise.reject(new Error("Queue send failed: queue unavailable")),
  sendBatch: () => Promise.reject(new Error("Queue sendBatch failed: queue unavailable")),
  metrics: () => Promise.reject(new Error("queue unavailable")),
};

describe("when the queue itself refuses", () => {
  it("answers 503 with Retry-After: the client keeps its spans", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const ctx = createExecutionContext();

    const response = await worker.fetch(
      new Request(`https://relay.test/t/${tenant.id}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${tenant.bearer}` },
        body: toProtobuf(trueFoundryTrace()),
      }),
      { ...env, DELIVERY_QUEUE: refusingQueue },
      ctx,
    );
    await waitOnExecutionContext(ctx);

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("10");
    expect((await rpcStatusOf(response)).message).toBe("Braintrust did not take the spans and the relay could not queue them: retry later");
  });
});
