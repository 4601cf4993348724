import { fromBinary } from "@bufbuild/protobuf";
import {
  ExportTraceServiceRequestSchema,
  type ExportTraceServiceRequest,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { Attempt, FaultStep, ReceivedRequest } from "./contract.js";

export type DeliveredRequest = ReceivedRequest & { bytes: Uint8Array; request: ExportTraceServiceRequest };

/** The stand-in's control API, usable from workerd and from Node alike. */
export function standinClient(url: string) {
  return {
    url,

    /** A new API key the stand-in accepts. Each test uses its own, so tests never see each other's spans. */
    async issueKey(): Promise<string> {
      const response = await fetch(`${url}/_standin/keys`, { method: "POST" });
      return ((await response.json()) as { key: string }).key;
    },

    async revokeKey(key: string): Promise<void> {
      await fetch(`${url}/_standin/keys?key=${key}`, { method: "DELETE" });
    },

    /** Scripted answers for the next requests that carry `key`. */
    async script(key: string, steps: FaultStep[]): Promise<void> {
      await fetch(`${url}/_standin/faults?key=${key}`, { method: "POST", body: JSON.stringify(steps) });
    },

    async received(key: string): Promise<DeliveredRequest[]> {
      const list = (await (await fetch(`${url}/_standin/received?key=${key}`)).json()) as ReceivedRequest[];
      return list.map((r) => {
        const bytes = Uint8Array.from(atob(r.body), (c) => c.charCodeAt(0));
        return { ...r, bytes, request: fromBinary(ExportTraceServiceRequestSchema, bytes) };
      });
    },

    async attempts(key: string): Promise<Attempt[]> {
      return (await (await fetch(`${url}/_standin/attempts?key=${key}`)).json()) as Attempt[];
    },
  };
}
