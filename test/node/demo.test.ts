import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

it("npm run demo ends by reporting every sent span delivered, after visible retries, and the tenant's statistics saying so", async () => {
  const { stdout } = await promisify(execFile)("npm", ["run", "--silent", "demo"], {
    cwd: join(import.meta.dirname, "..", ".."),
    timeout: 110_000,
  });

  const summary = /^demo: sent (\d+) spans, delivered (\d+), retried (\d+), dead-lettered (\d+)$/m.exec(stdout);
  expect(summary, stdout.slice(-2000)).not.toBeNull();
  const [, sent, delivered, retried, deadLettered] = summary!.map(Number);
  expect(sent).toBeGreaterThan(0);
  expect(delivered).toBe(sent);
  expect(retried).toBeGreaterThan(0);
  expect(deadLettered).toBe(0);
  expect(stdout).toContain("→ x-bt-parent: experiment_id:demo-evals");
  // The statistics' all-time row: requests, received, accepted, rejected, delivered, retried, dead-lettered.
  const total = /^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s/m.exec(stdout);
  expect(total, stdout.slice(-2000)).not.toBeNull();
  const [, , received, accepted, rejected, statsDelivered, statsRetried, statsDeadLettered] = total!.map(Number);
  expect({ received, accepted, rejected, delivered: statsDelivered, deadLettered: statsDeadLettered }).toEqual({
    received: sent,
    accepted: sent,
    rejected: 0,
    delivered: sent,
    deadLettered: 0,
  });
  expect(statsRetried).toBeGreaterThan(0);
  expect(stdout).toMatch(/Model: openai\/gpt-4\.1-mini {2}\d+ ms {2}\[llm\] {2}\d+ → 9 tokens {2}\$0\.000021/);
});
