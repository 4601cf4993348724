/**
 * autocannon in a process of its own, driven by the load benchmark over IPC. The benchmark's own
 * process hosts the Braintrust stand-in and wrangler's dev servers (and handles the log lines they
 * forward); a load generator sharing that event loop would wait behind them and measure their work as
 * the Worker's.
 */
import { type ChildProcess, fork } from "node:child_process";
import autocannon from "autocannon";

interface LoadRun {
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** When given, each request takes the next of these in turn instead of `body` (requests that must differ, such as new trace ids). */
  bodies?: Uint8Array[];
  amount: number;
  connections: number;
}

interface LoadRunResult {
  requests: number;
  /** From the first request to the last response. */
  elapsedMs: number;
  p50: number;
  p99: number;
  failures: number;
}

export interface LoadGenerator {
  run: (run: LoadRun) => Promise<LoadRunResult>;
  stop: () => void;
}

export function startLoadGenerator(): LoadGenerator {
  const child: ChildProcess = fork(import.meta.filename, { execArgv: ["--import", "tsx"], serialization: "advanced" });
  return {
    run: (run) =>
      new Promise((resolve, reject) => {
        const exited = (code: number | null) => reject(new Error(`the load generator exited with ${code}`));
        child.once("exit", exited);
        child.once("message", (result) => {
          child.off("exit", exited);
          resolve(result as LoadRunResult);
        });
        child.send(run);
      }),
    stop: () => child.kill(),
  };
}

async function generate(run: LoadRun): Promise<LoadRunResult> {
  // Timed by the responses: autocannon's own average is per one-second tick, too coarse for runs of
  // a few seconds.
  const started = performance.now();
  let finished = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const bodies = run.bodies?.map((b) => Buffer.from(b));
    let next = 0;
    const perRequest = bodies
      ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, body: bodies[next++ % bodies.length] }) }] }
      : {};
    const instance = autocannon(
      {
        url: run.url,
        method: "POST",
        headers: run.headers,
        body: Buffer.from(run.body),
        amount: run.amount,
        connections: run.connections,
        ...perRequest,
      },
      (err, done) => (err ? reject(err) : resolve(done)),
    );
    instance.on("response", () => (finished = performance.now()));
  });
  return {
    requests: result.requests.total,
    elapsedMs: finished - started,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

if (import.meta.filename === process.argv[1] && process.send) {
  process.on("message", (run: LoadRun) => {
    generate(run).then(
      (result) => process.send?.(result),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
