import { env } from "cloudflare:workers";
import { getSharedConfigurationDefaults } from "@opentelemetry/otlp-exporter-base";
import { describe, expect, it } from "vitest";
// The OpenTelemetry JS exporters' own retry loop and status rules, which the package does not export.
// @ts-expect-error: the exporters' dist files come without declarations
import * as exporterRules from "../node_modules/@opentelemetry/otlp-exporter-base/dist/is-export-retryable.mjs";
// @ts-expect-error: as above
import * as exporterRetries from "../node_modules/@opentelemetry/otlp-exporter-base/dist/retrying-transport.mjs";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { failingBinding } from "./support/bindings.js";
import { createTenant, OTHER_ENCRYPTION_KEY, sendTracesWith, type TestTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { spanIdsOf } from "./support/traces.js";

type ExportResponse = { status: "success" } | { status: "retryable"; retryInMillis?: number } | { status: "failure"; error: Error };

interface Transport {
  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse>;
  shutdown(): void;
}

const retrying = exporterRetries.createRetryingTransport as (options: { transport: Transport }) => Transport;
const retryable = exporterRules.isExportHTTPErrorRetryable as (status: number) => boolean;
const retryInMillis = exporterRules.parseRetryAfterToMills as (header: string | null) => number | undefined;

/**
 * The JS exporters' transport as their Node one reads an answer (http-transport-utils): 2xx a
 * success, 429/502/503/504 retryable after Retry-After, anything else a failure. Each attempt is
 * answered by the relay with the bindings `bindingsFor(attempt)` gives.
 */
function relayTransport(tenant: TestTenant, bindingsFor: (attempt: number) => Partial<Env>): Transport & { answers: number[] } {
  const answers: number[] = [];
  return {
    answers,
    async send(data) {
      const response = await sendTracesWith(tenant, data, bindingsFor(answers.length + 1));
      answers.push(response.status);
      await response.arrayBuffer();
      if (response.status <= 299) return { status: "success" };
      if (retryable(response.status)) return { status: "retryable", retryInMillis: retryInMillis(response.headers.get("retry-after")) };
      return { status: "failure", error: new Error(String(response.status)) };
    },
    shutdown() {},
  };
}

describe("a refusal the relay asks the client to send again, as the OpenTelemetry JS exporters retry it", () => {
  it.each([
    {
      cause: "Workers KV failing the tenant's read for a moment",
      before: async () => {},
      failing: () => ({ TENANTS: failingBinding(env.TENANTS, "get", "KV GET failed: 503 Service Unavailable") }),
    },
    {
      cause: "Braintrust answering 503 while the queue refuses the spans",
      before: (tenant: TestTenant) => standin.script(tenant.apiKey, [{ status: 503 }]),
      failing: () => ({ DELIVERY_QUEUE: failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable") }),
    },
    {
      // A deploy that rotated ENCRYPTION_KEY without ENCRYPTION_KEY_PREVIOUS, fixed by the next one.
      cause: "the relay misconfigured, its ENCRYPTION_KEY opening none of the stored keys, until an operator fixes it",
      before: async () => {},
      failing: () => ({ ENCRYPTION_KEY: OTHER_ENCRYPTION_KEY }),
    },
  ])("is sent again, and delivered, within the exporter's default timeout: $cause", async ({ before, failing }) => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await before(tenant);
    const transport = relayTransport(tenant, (attempt) => (attempt === 1 ? failing() : {}));

    // OTEL_EXPORTER_OTLP_TIMEOUT's default, 10 s, as the exporters take it.
    const result = await retrying({ transport }).send(toProtobuf(trace), getSharedConfigurationDefaults().timeoutMillis);

    // 503 "retry later" first; with a Retry-After as long as the whole export timeout, the exporter
    // does not send it again at all, and the spans are lost.
    expect(transport.answers).toEqual([503, 200]);
    expect(result.status).toBe("success");
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
  });

  it("is sent again, and delivered, within the exporter's default timeout: Braintrust not taking the spans of a passthrough key it has not accepted yet, whatever the queue's backoff", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    // The queue's backoff, an operator's to raise (its first retry 10-20 s here), spaces out the relay's own retries: the client's are not its.
    const transport = relayTransport(tenant, () => ({ RETRY_BASE_DELAY_SECONDS: "20" }));

    const result = await retrying({ transport }).send(toProtobuf(trace), getSharedConfigurationDefaults().timeoutMillis);

    expect(transport.answers).toEqual([503, 200]);
    expect(result.status).toBe("success");
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
  });
});
