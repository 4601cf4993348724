import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

it("npm run demo ends by reporting every sent span delivered, after visible retries", async () => {
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
  expect(stdout).toMatch(/Model: openai\/gpt-4\.1-mini {2}\d+ ms {2}\[llm\] {2}\d+ → 9 tokens {2}\$0\.000021/);
});
