import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { recordGatewayTraces } from "../../scripts/lib/gateway-traces.js";

/**
 * Gateway traces sent to the relay by the real OpenTelemetry exporter with `bearer`, as the gateway
 * sends them; the spans' ids (hex), and the status the relay answered (the exporter's error code when it failed).
 */
export async function sendGatewayTraces(relayUrl: string, tenant: string, bearer: string): Promise<{ spanIds: string[]; status: number }> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "tfy-llm-gateway" }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  recordGatewayTraces(provider.getTracer("tfy-llm-gateway"));
  const spans = memory.getFinishedSpans();
  const exporter = new OTLPTraceExporter({ url: `${relayUrl}/t/${tenant}/v1/traces`, headers: { Authorization: `Bearer ${bearer}` } });
  const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(spans, resolve));
  const status = result.code === ExportResultCode.SUCCESS ? 200 : ((result.error as { code?: number } | undefined)?.code ?? 0);
  return { spanIds: spans.map((span) => span.spanContext().spanId), status };
}
