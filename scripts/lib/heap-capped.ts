/**
 * The relay's pipeline on one request in a fresh Node process whose V8 heap is capped, at 128 MiB
 * as a Worker's isolate is unless told otherwise: what the ingest route runs before the upstream
 * fetch (readBody, prepareDeliveries, the upstream body; a routing tenant's traces planned as the
 * request decides them, see deliveriesAlone), or, `work` "masked again", what the queue's consumer
 * runs on kept spans sent under other rules than they were masked with (process/mask-again.ts).
 * Shared by the memory tests and the benchmark. A request that needs more heap than the cap kills
 * the process, as it would the isolate: "crashed".
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { upstreamBody } from "../../src/deliver/braintrust.js";
import { relayConfig } from "../../src/env.js";
import { RelayError } from "../../src/http/errors.js";
import type { OtlpFormat } from "../../src/otlp/format.js";
import { outgoingSpansOf } from "../../src/otlp/outgoing.js";
import { maskedAgain } from "../../src/process/mask-again.js";
import { readBody } from "../../src/receive/body.js";
import { preparedAlone } from "./pipeline.js";
import { tenantRecord } from "./tenants.js";

export type HeapCappedRun =
  | { outcome: "completed"; spans: number; rejected: number }
  | { outcome: "refused"; status: number; message: string }
  | { outcome: "crashed"; error: string };

type Work = "ingest" | "masked again";

export function runHeapCapped(
  body: Uint8Array,
  format: OtlpFormat,
  settings: Record<string, unknown>,
  heapMiB = 128,
  work: Work = "ingest",
): HeapCappedRun {
  const dir = mkdtempSync(join(tmpdir(), "heap-capped-"));
  const file = join(dir, "body.bin");
  writeFileSync(file, body);
  try {
    const out = execFileSync(
      process.execPath,
      [
        `--max-old-space-size=${heapMiB}`,
        "--expose-gc",
        "--import",
        "tsx",
        import.meta.filename,
        file,
        format,
        JSON.stringify(settings),
        work,
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

async function child(file: string, format: OtlpFormat, settings: Record<string, unknown>, work: Work): Promise<HeapCappedRun> {
  if (work === "masked again") {
    const bytes = new Uint8Array(readFileSync(file));
    maskedAgain(bytes, tenantRecord(settings).redact);
    return { outcome: "completed", spans: outgoingSpansOf(bytes).length, rejected: 0 };
  }
  const config = relayConfig({} as Env);
  const credential = { mode: "stored_key", apiKey: "sk-heap", trusted: true } as const;
  const request = new Request("https://relay.test/t/acme/v1/traces", { method: "POST", body: new Uint8Array(readFileSync(file)) });
  try {
    const body = await readBody(request, "identity", config);
    let spans = 0;
    const { deliveries, rejected } = preparedAlone(body, format, tenantRecord(settings), credential, config);
    for (const delivery of deliveries) {
      upstreamBody(delivery.payload);
      spans += delivery.spans;
    }
    return { outcome: "completed", spans, rejected };
  } catch (err) {
    if (!(err instanceof RelayError)) throw err;
    return { outcome: "refused", status: err.status, message: err.message };
  }
}

if (import.meta.filename === process.argv[1]) {
  console.log(
    JSON.stringify(await child(process.argv[2]!, process.argv[3] as OtlpFormat, JSON.parse(process.argv[4]!), process.argv[5] as Work)),
  );
}
