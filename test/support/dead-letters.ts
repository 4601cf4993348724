import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import type { DeadLetter } from "../../src/deliver/dead-letters.js";
import { admin, sendTraces, type TestTenant } from "./relay.js";
import { standin } from "./standin.js";

type DeadLetterView = DeadLetter;

/**
 * The tenant's dead letters as R2 holds them, whether or not the tenant exists: the admin API answers
 * 404 for a tenant that no longer does and kept none.
 */
export async function storedDeadLetterKeys(tenantId: string): Promise<string[]> {
  return (await env.PAYLOADS.list({ prefix: `dead-letters/${tenantId}/` })).objects.map((o) => o.key);
}

export async function deadLettersOf(tenantId: string): Promise<DeadLetterView[]> {
  const response = await admin("GET", `/dead-letters?tenant=${tenantId}`);
  return ((await response.json()) as { dead_letters: DeadLetterView[] }).dead_letters;
}

/** Polls the admin API until `predicate` holds for the tenant's dead letters, or 30 s pass. */
export async function waitForDeadLetters(tenantId: string, predicate: (list: DeadLetterView[]) => boolean): Promise<DeadLetterView[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = await deadLettersOf(tenantId);
    if (predicate(list) || Date.now() > deadline) return list;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `count` traces for the tenant that Braintrust refuses (400), each a dead letter once the queue has tried it; the traces. */
export async function deadLettersFor(tenant: TestTenant, count = 1): Promise<ExportTraceServiceRequest[]> {
  const traces = Array.from({ length: count }, () => trueFoundryTrace());
  await standin.script(
    tenant.apiKey,
    traces.map(() => ({ status: 400 })),
  );
  for (const trace of traces) expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);
  return traces;
}
