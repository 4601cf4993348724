import { Hono } from "hono";
import { deliverDuringRequest, type RequestDeliveryResult } from "../deliver/during-request.js";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import type { PartialSuccess } from "../otlp/partial-success.js";
import { readBody } from "../receive/body.js";
import { contentCodingOf, requireOtlpFormat } from "../receive/content-type.js";
import { takeRequestToken, withinLocationCeiling } from "../receive/rate-limit.js";
import { otlpSuccessResponse } from "../receive/respond.js";
import { authenticateIngest } from "../tenants/credentials.js";
import { requireTenantId, TenantStore } from "../tenants/store.js";
import { prepareDeliveries } from "./prepare-deliveries.js";

/** `POST /t/:tenant/v1/traces`: OTLP/HTTP in, Braintrust out. */
export const tracesRoute = new Hono<AppEnv>();

tracesRoute.post("/:tenant/v1/traces", async (c) => {
  const tenantId = requireTenantId(c.req.param("tenant"));
  const format = requireOtlpFormat(c.req.header("content-type"));
  const coding = contentCodingOf(c.req.header("content-encoding"));
  const config = relayConfig(c.env);
  const tenant = await new TenantStore(c.env.TENANTS, config.tenantCacheTtlSeconds).get(tenantId);
  if (!tenant) throw new RelayError("not_found", `no such tenant: ${tenantId}`);
  const credential = await authenticateIngest(tenant, c.req.header("authorization"), c.env.ENCRYPTION_KEY);
  // After authentication, so strangers cannot spend a tenant's budget; the isolate's bucket first,
  // since it costs no call.
  takeRequestToken(tenantId, tenant.rate_limit ?? config.defaultRateLimit);
  await withinLocationCeiling(c.env.TENANT_RATE_CEILING, tenantId);
  const body = await readBody(c.req.raw, coding, config);
  const { deliveries, rejections } = prepareDeliveries(body, format, tenant, credential, config);
  const results = await Promise.all(deliveries.map((delivery) => deliverDuringRequest(c.env, config, delivery)));
  return otlpSuccessResponse(format, results.reduce(withDeliveryResult, rejections));
});

tracesRoute.all("/:tenant/v1/traces", (c) => {
  throw new RelayError("method_not_allowed", `${c.req.method} is not supported here: send traces with POST`, { allow: "POST" });
});

/** Delivered and queued spans are a success; dead-lettered ones are reported as rejected, so the client does not resend them. */
function withDeliveryResult(partial: PartialSuccess, result: RequestDeliveryResult): PartialSuccess {
  const messages = partial.errorMessage ? [partial.errorMessage] : [];
  let rejected = partial.rejectedSpans;
  if (result.result === "delivered" && result.partialSuccess) {
    rejected += result.partialSuccess.rejectedSpans;
    if (result.partialSuccess.errorMessage) messages.push(`Braintrust: ${result.partialSuccess.errorMessage}`);
  }
  if (result.result === "dead_lettered") {
    rejected += BigInt(result.deadLetter.spans);
    messages.push(
      `${result.deadLetter.spans} spans kept as dead letter ${result.deadLetter.id} for an operator to replay: ${result.deadLetter.reason}`,
    );
  }
  return { rejectedSpans: rejected, errorMessage: messages.join("; ") };
}
