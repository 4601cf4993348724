import { fromBinary, toJson } from "@bufbuild/protobuf";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, type SpanExporter, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { recordGatewayTraces } from "../../scripts/lib/gateway-traces.js";
import { adminCall, type RelayProcess, startRelay } from "../../scripts/lib/wrangler-dev.js";
import { standinClient } from "../standin/client.js";

const standin = standinClient(inject("standinUrl"));
let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelay();
});

afterAll(async () => {
  await relay?.stop();
});

/** Gateway traces as TrueFoundry records them, through the real OpenTelemetry SDK. */
function recordGatewayTrace(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "tfy-llm-gateway", "deployment.environment": "e2e" }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  recordGatewayTraces(provider.getTracer("tfy-llm-gateway", "1.2.3"));
  return memory.getFinishedSpans();
}

function exportThrough(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe("real OpenTelemetry exporters through the relay under wrangler dev", () => {
  it("protobuf + gzip, stored key: every span arrives byte for byte with the tenant's key and parent", async () => {
    const apiKey = await standin.issueKey();
    const created = await adminCall(relay, "PUT", "/tenants/e2e-proto", {
      parent: "project_name:e2e proto",
      braintrust: { api_url: standin.url, api_key: apiKey },
      translate: false,
    });
    expect(created.status).toBe(201);
    const { token } = (await (await adminCall(relay, "POST", "/tenants/e2e-proto/tokens")).json()) as { token: string };
    const spans = recordGatewayTrace();

    const exporter = new ProtobufTraceExporter({
      url: `${relay.url}/t/e2e-proto/v1/traces`,
      headers: { Authorization: `Bearer ${token}` },
      compression: CompressionAlgorithm.GZIP,
    });
    const result = await exportThrough(exporter, spans);

    expect(result).toEqual({ code: ExportResultCode.SUCCESS });
    const received = await standin.received(apiKey);
    expect(received).toHaveLength(1);
    expect(received[0]!.bytes).toEqual(ProtobufTraceSerializer.serializeRequest(spans));
    expect(received[0]).toMatchObject({
      parent: "project_name:e2e proto",
      contentType: "application/x-protobuf",
      contentEncoding: "gzip",
      path: "/otel/v1/traces",
    });
  });

  it("JSON, passthrough as TrueFoundry's Braintrust guide configures it: every span arrives field for field", async () => {
    const apiKey = await standin.issueKey();
    await adminCall(relay, "PUT", "/tenants/e2e-json", {
      parent: "experiment_id:exp-e2e",
      braintrust: { api_url: standin.url },
      translate: false,
    });
    const spans = recordGatewayTrace();

    const exporter = new JsonTraceExporter({ url: `${relay.url}/t/e2e-json/v1/traces`, headers: { Authorization: `Bearer ${apiKey}` } });
    const result = await exportThrough(exporter, spans);

    expect(result).toEqual({ code: ExportResultCode.SUCCESS });
    const received = await standin.received(apiKey);
    expect(received).toHaveLength(1);
    const expected = fromBinary(ExportTraceServiceRequestSchema, ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(toJson(ExportTraceServiceRequestSchema, received[0]!.request)).toEqual(toJson(ExportTraceServiceRequestSchema, expected));
    expect(received[0]).toMatchObject({ parent: "experiment_id:exp-e2e", contentType: "application/x-protobuf", contentEncoding: "" });
  });

  it("reports a refused export as a failure the exporter sees", async () => {
    const exporter = new ProtobufTraceExporter({
      url: `${relay.url}/t/e2e-proto/v1/traces`,
      headers: { Authorization: "Bearer tbr_0000000000000000_wrong" },
    });

    const result = await exportThrough(exporter, recordGatewayTrace());

    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error).toMatchObject({ name: "OTLPExporterError", code: 401 });
  });
});
