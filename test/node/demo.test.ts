import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";

const root = join(import.meta.dirname, "..", "..");

/** The demo as `npm run demo -- --keep` runs it (`tsx scripts/demo.ts`), until it says it is still running; stopped with Ctrl-C, as it says. */
async function runDemoKept(): Promise<{ stdout: string; later: () => string; stop: () => Promise<number | null> }> {
  // One process, tsx as a loader rather than a launcher in front of it, so Ctrl-C reaches the demo itself.
  const demo = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--keep"], { cwd: root });
  let stdout = "";
  demo.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  demo.stderr.on("data", (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => demo.once("exit", resolve));
  const deadline = Date.now() + 110_000;
  while (!/^ {2}console {3}\S+/m.test(stdout) && demo.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    stdout,
    later: () => stdout,
    stop: () => {
      if (demo.exitCode === null) demo.kill("SIGINT");
      return exited;
    },
  };
}

it("npm run demo ends by reporting every sent span delivered, after visible retries, and the tenant's statistics saying so; --keep prints the console's address and a CLI line that reaches it", async () => {
  const { stdout, later, stop } = await runDemoKept();
  try {
    const summary = /^demo: sent (\d+) spans, delivered (\d+), upstream attempts failed and retried (\d+), dead-lettered (\d+)$/m.exec(
      stdout,
    );
    expect(summary, stdout.slice(-2000)).not.toBeNull();
    const [, sent, delivered, retried, deadLettered] = summary!.map(Number);
    // Three rounds of scripts/lib/gateway-traces.ts: two chat completions of 3 spans, an MCP call and a blocked request of 2.
    expect(sent).toBe(3 * (3 + 3 + 2 + 2));
    expect(delivered).toBe(sent);
    // The stand-in answers 503 to the first two attempts (FAILURES in scripts/demo.ts): the first round's, one per parent.
    expect(retried).toBe(2);
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
    // Counted in spans: the whole first round went back to the queue once.
    expect(statsRetried).toBe(3 + 3 + 2 + 2);
    expect(stdout).toMatch(/Model: openai\/gpt-4\.1-mini {2}\d+ ms {2}\[llm\] {2}\d+ → 9 tokens {2}\$0\.000021/);

    // The console's address answers with its login form.
    const consoleUrl = /^ {2}console {3}(\S+)/m.exec(stdout)?.[1];
    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin\/$/);
    const login = await fetch(consoleUrl!);
    expect(login.url).toMatch(/\/admin\/console\/login$/);
    expect(await login.text()).toContain('name="token"');

    // The CLI line, run as printed, reaches this relay, not the dev server's default port.
    const cli = /^ {2}cli {7}RELAY_URL=(\S+) RELAY_ADMIN_TOKEN=(\S+) npx (tfy-relay stats demo)$/m.exec(stdout);
    expect(cli, stdout.slice(-2000)).not.toBeNull();
    const [, relayUrl, adminToken, command] = cli!;
    const { stdout: stats } = await promisify(execFile)("npx", command!.split(" "), {
      cwd: root,
      env: { ...process.env, RELAY_URL: relayUrl, RELAY_ADMIN_TOKEN: adminToken },
    });
    expect(stats).toMatch(new RegExp(`^total\\s+3\\s+${sent}\\s+${sent}\\s+0\\s+${sent}\\s`, "m"));

    // The admin line, run by bash as printed, reads the tenant; the token reaches curl as a file, not as an
    // argument `ps` would show every user of the machine (README, "A one-off relay").
    const adminLine = /^ {2}admin {5}(curl .+)$/m.exec(stdout)?.[1];
    expect(adminLine, stdout.slice(-2000)).toBeDefined();
    expect(adminLine!.replace(/@<\(printf [^)]*\)/, "")).not.toContain(adminToken!);
    const { stdout: tenant } = await promisify(execFile)("bash", ["-c", `${adminLine} --silent --fail`], { cwd: root });
    expect(JSON.parse(tenant)).toMatchObject({ id: "demo", auth: "stored_key" });

    // What a tenant of the user's own sends the stand-in is not printed: the lines above stay on screen.
    const standinUrl = /^ {2}stand-in {2}(\S+)/m.exec(stdout)![1]!;
    const { key } = (await (await fetch(`${standinUrl}/_standin/keys`, { method: "POST" })).json()) as { key: string };
    const sentOwn = await fetch(`${standinUrl}/otel/v1/traces`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "x-bt-parent": "project_name:mine", "content-type": "application/x-protobuf" },
      body: toProtobuf(trueFoundryTrace()).slice(),
    });
    expect(sentOwn.status).toBe(200);
    // The demo would print before it answers: a second is plenty for the line to come through the pipe.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(later()).not.toContain("x-bt-parent: project_name:mine");
  } finally {
    expect(await stop()).toBe(0);
  }
});

it.each([
  [["--bogus"], "demo: Unknown option '--bogus'"],
  [["--port", "abc"], 'demo: --port must be a port number, not "abc"'],
  [["--port", "70000"], 'demo: --port must be a port number, not "70000"'],
  [["--port", "0x1F90"], 'demo: --port must be a port number, not "0x1F90"'],
])("npm run demo %j refuses the option with its usage, before starting anything", async (args, message) => {
  const run = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/demo.ts", ...args], { cwd: root }).then(
    () => ({ code: 0, stderr: "" }),
    (err: { code: number; stderr: string }) => err,
  );
  expect(run.code).toBe(2);
  expect(run.stderr).toBe(`${message}\nusage: npm run demo -- [--keep] [--port <1-65535>]\n`);
});
