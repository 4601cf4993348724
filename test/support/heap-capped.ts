/**
 * The relay's pipeline on one request in a fresh Node process whose V8 heap is capped at 128 MiB,
 * as a Worker's isolate is: what the ingest route runs before the upstream fetch (readBody,
 * prepareDeliveries, the upstream body). Shared by the memory tests and the benchmark. A request
 * that needs more heap than that kills the process, as it would the isolate: "crashed". The peak
 * RSS growth (the process's high-water mark above its idle size) and the CPU time are reported.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { upstreamBody } from "../../src/deliver/braintrust.js";
import { relayConfig } from "../../src/env.js";
import { RelayError } from "../../src/http/errors.js";
import { prepareDeliveries } from "../../src/ingest/prepare-deliveries.js";
import type { OtlpFormat } from "../../src/otlp/format.js";
import { readBody } from "../../src/receive/body.js";
import { tenantRecord } from "./tenants.js";

export type HeapCappedRun =
  | { outcome: "completed"; spans: number; cpuMs: number; rssGrowthMiB: number }
  | { outcome: "refused"; status: number; message: string; cpuMs: number; rssGrowthMiB: number }
  | { outcome: "crashed"; error: string };

const HEAP_CAP_MIB = 128;

export function runHeapCapped(body: Uint8Array, format: OtlpFormat, settings: Record<string, unknown>): HeapCappedRun {
  const dir = mkdtempSync(join(tmpdir(), "heap-capped-"));
  const file = join(dir, "body.bin");
  writeFileSync(file, body);
  try {
    const out = execFileSync(
      process.execPath,
      [
        `--max-old-space-size=${HEAP_CAP_MIB}`,
        "--expose-gc",
        "--import",
        "tsx",
        import.meta.filename,
        file,
        format,
        JSON.stringify(settings),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1024 * 1024 },
    );
    return JSON.parse(out.trim().split("\n").at(-1)!) as HeapCappedRun;
  } catch (err) {
    return { outcome: "crashed", error: String((err as { stderr?: string }).stderr ?? err).slice(-2000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function child(file: string, format: OtlpFormat, settings: Record<string, unknown>): Promise<HeapCappedRun> {
  const wire = new Uint8Array(readFileSync(file));
  const config = relayConfig({} as Env);
  const tenant = tenantRecord(settings);
  const credential = { mode: "stored_key", apiKey: "sk-heap", trusted: true } as const;
  const run = async () => {
    const request = new Request("https://relay.test/t/acme/v1/traces", { method: "POST", body: wire });
    const body = await readBody(request, "identity", config);
    let spans = 0;
    for (const delivery of prepareDeliveries(body, format, tenant, credential, config).deliveries) {
      upstreamBody(delivery.payload);
      spans += delivery.spans;
    }
    return spans;
  };
  (globalThis as { gc?: () => void }).gc?.();
  const idle = process.memoryUsage.rss();
  const grown = () => Math.max(0, process.resourceUsage().maxRSS * 1024 - idle) / 2 ** 20;
  const start = process.cpuUsage();
  const cpuMs = () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  try {
    const spans = await run();
    return { outcome: "completed", spans, cpuMs: cpuMs(), rssGrowthMiB: grown() };
  } catch (err) {
    if (!(err instanceof RelayError)) throw err;
    return { outcome: "refused", status: err.status, message: err.message, cpuMs: cpuMs(), rssGrowthMiB: grown() };
  }
}

if (import.meta.filename === process.argv[1]) {
  console.log(JSON.stringify(await child(process.argv[2]!, process.argv[3] as OtlpFormat, JSON.parse(process.argv[4]!))));
}
