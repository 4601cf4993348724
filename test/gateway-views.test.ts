import { describe, it } from "vitest";
import { GATEWAY_SHAPES } from "./fixtures/gateway-shapes.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { spanIdsOf, toOtlpJson, toProtobuf } from "./support/traces.js";

/**
 * What a Braintrust user sees of each trace shape TrueFoundry's gateway sends, through the Worker
 * and the stand-in, in both encodings. The views are checked in (test/fixtures/<shape>.view.json):
 * a change to what Braintrust shows fails here, and is accepted by updating the file on purpose
 * (`npx vitest run --project worker test/gateway-views.test.ts -u`).
 */
describe.concurrent("what Braintrust shows of each gateway shape", () => {
  for (const [shape, build] of Object.entries(GATEWAY_SHAPES)) {
    // The test's own expect: file snapshots need to know their test, which concurrent tests share otherwise.
    it.for(["protobuf", "json"] as const)(`${shape}, sent as %s`, async (format, { expect }) => {
      const tenant = await createTenant();
      const trace = build();
      const body = format === "protobuf" ? toProtobuf(trace) : JSON.stringify(toOtlpJson(trace));

      const response = await sendTraces(tenant, body, {
        contentType: format === "protobuf" ? "application/x-protobuf" : "application/json",
      });

      expect(response.status).toBe(200);
      expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
      const view = await standin.view(tenant.apiKey);
      expect(view.unlisted).toBe(0);
      await expect(`${JSON.stringify(view, null, 2)}\n`).toMatchFileSnapshot(`./fixtures/${shape}.view.json`);
    });
  }
});
