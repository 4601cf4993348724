import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { unstable_startWorker } from "wrangler";
import { defaultVars } from "./default-vars.js";
import { listenOnLoopback } from "./loopback.js";

/** Bindings as wrangler's API takes them, over those of the Worker's config. */
type WorkerBindings = NonNullable<Parameters<typeof unstable_startWorker>[0]["bindings"]>;

/**
 * New for each process: a relay left running (`npm run demo -- --keep`) then answers to a token no
 * one else knows, where a fixed one, published here, would let any page the browser opens drive its
 * admin API once it found the port (wrangler's dev server takes any Host).
 */
export const ADMIN_TOKEN = randomBytes(24).toString("base64url");
export const ENCRYPTION_KEY = randomBytes(32).toString("base64");

/** Vars given in a file only the user can read, not on wrangler's command line, which `ps` shows every user. */
const SECRET_VARS = new Set(["ADMIN_TOKEN", "ENCRYPTION_KEY", "ENCRYPTION_KEY_PREVIOUS"]);

/** A Worker under wrangler's dev server: where it listens, and how to stop it. */
export interface DevServer {
  url: string;
  stop: () => Promise<void>;
}

export interface RelayProcess extends DevServer {
  /** Process group of wrangler and the workerd it runs. */
  processGroup: number;
  output: () => string;
}

/** Keeps wrangler off the network: no metrics, and the placeholder `Request.cf` instead of fetching one. */
const OFFLINE_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

/** Listens on `port` of loopback (0: any free one) and lets go at once; the port it got. Throws when the port is taken. */
async function probePort(port: number): Promise<number> {
  const server = createServer();
  await listenOnLoopback(server, port);
  const bound = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

export function freePort(): Promise<number> {
  return probePort(0);
}

/**
 * Refuses a port something already listens on: wrangler would fail to bind it, but its dev server
 * answering there (another demo's, say) would pass for this one's and be used in its place.
 */
async function ensurePortFree(port: number): Promise<void> {
  await probePort(port).catch((err: Error) => {
    throw new Error(`Address already in use: port ${port} is taken (${err.message}); choose another --port`);
  });
}

/** Attempts at a port of our choosing: freePort's port is free when it looks, and another process starting meanwhile may take it first. */
const PORT_ATTEMPTS = 3;

/**
 * The relay under wrangler's dev server, started the way the README says, with its own local
 * KV/Queues/R2 state in a fresh folder.
 */
export async function startRelay(
  extraVars: Record<string, string> = {},
  options: { port?: number; config?: string; logLevel?: string; state?: string } = {},
): Promise<RelayProcess> {
  if (options.port !== undefined) return startRelayOn(options.port, extraVars, options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRelayOn(await freePort(), extraVars, options);
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/Address already in use/.test(String(err))) throw err;
    }
  }
}

async function startRelayOn(
  port: number,
  extraVars: Record<string, string>,
  options: { config?: string; logLevel?: string; state?: string },
): Promise<RelayProcess> {
  await ensurePortFree(port);
  const state = options.state ?? mkdtempSync(join(tmpdir(), "relay-state-"));
  const vars = localVars(extraVars);
  const args = [
    "wrangler",
    "dev",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    state,
    "--show-interactive-dev-session=false",
  ];
  if (options.config) args.push("--config", options.config);
  if (options.logLevel) args.push("--log-level", options.logLevel);
  const secrets = mkdtempSync(join(tmpdir(), "relay-secrets-"));
  const secretLines = Object.entries(vars).flatMap(([name, value]) =>
    SECRET_VARS.has(name) ? [`${name}=${envFileValue(name, value)}`] : [],
  );
  writeFileSync(join(secrets, "secrets.env"), `${secretLines.join("\n")}\n`, { mode: 0o600 });
  args.push("--env-file", join(secrets, "secrets.env"));
  for (const [name, value] of Object.entries(vars)) if (!SECRET_VARS.has(name)) args.push("--var", `${name}:${value}`);
  const child: ChildProcess = spawn("npx", args, {
    env: { ...process.env, ...OFFLINE_ENV, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  // A child killed by a signal keeps exitCode null: signalCode says it is gone.
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch (err) {
      // The group ended between the check and the signal.
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  };
  const stop = async () => {
    if (running() && child.pid) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      signal("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (running()) signal("SIGKILL");
    }
    if (!options.state) rmSync(state, { recursive: true, force: true });
    rmSync(secrets, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!running()) {
      await stop();
      throw new Error(`wrangler dev exited with ${child.exitCode ?? child.signalCode}:\n${output}`);
    }
    // Any HTTP answer means the server is up (the pass-through Worker has no /healthz).
    const healthy = await fetch(`${url}/healthz`).then(
      () => true,
      () => false,
    );
    if (healthy) return { url, processGroup: child.pid!, output: () => output, stop };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready within 60 s:\n${output}`);
}

/**
 * A Worker under wrangler's dev server started through wrangler's API instead of its CLI, for the
 * load benchmark. Two things differ, both the dev server's own work rather than the Worker's: no
 * DevTools inspector is attached (it turns every console line into a DevTools event), and log lines
 * go to `onLogLine` instead of being source-mapped for a terminal in wrangler's Node process. On
 * this project's 2-core machine those cost ~2 ms of CPU per line, more than the relay's own work
 * on a request; a deployed Worker pays neither.
 */
export async function startQuietDevServer(
  extraVars: Record<string, string>,
  options: { config?: string; entrypoint?: string; onLogLine?: (line: string) => void; bindings?: WorkerBindings } = {},
): Promise<DevServer> {
  const state = mkdtempSync(join(tmpdir(), "relay-state-"));
  const bindings: WorkerBindings = {
    ...Object.fromEntries(Object.entries(localVars(extraVars)).map(([name, value]) => [name, { type: "plain_text", value }])),
    ...options.bindings,
  };
  // wrangler's API reads these from this process's environment. Its local queues log each batch
  // (`[wrangler:info] QUEUE …`) whatever the dev server's log level: WRANGLER_LOG is what they heed.
  Object.assign(process.env, OFFLINE_ENV, { WRANGLER_LOG: "error" });
  // Loaded here: wrangler's API is large, and only the benchmark needs it.
  const { unstable_startWorker } = await import("wrangler");
  const worker = await unstable_startWorker({
    config: options.config ?? "wrangler.toml",
    ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
    bindings,
    dev: {
      server: { hostname: "127.0.0.1", port: await freePort() },
      inspector: false,
      persist: state,
      logLevel: "error",
      structuredLogsHandler: (log: { message: string }) => options.onLogLine?.(log.message),
    },
  });
  await worker.ready;
  const url = String(await worker.url).replace(/\/$/, "");
  return {
    url,
    stop: async () => {
      await worker.dispose();
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/**
 * A secret as a .env file holds it, quoted. wrangler expands `$NAME` in a value even in quotes, so a
 * value with a `$`, like one with a quote or a line break, cannot be written so.
 */
function envFileValue(name: string, value: string): string {
  if (/['$\n\r]/.test(value)) throw new Error(`${name} holds a quote, a $ or a line break, which an .env file cannot carry here`);
  return `'${value}'`;
}

function localVars(extraVars: Record<string, string>): Record<string, string> {
  return { ...defaultVars(), ADMIN_TOKEN, ENCRYPTION_KEY, ALLOW_INSECURE_UPSTREAM: "true", ...extraVars };
}

export async function adminCall(relay: DevServer, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${relay.url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
