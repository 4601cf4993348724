import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { ADMIN_TOKEN } from "../../scripts/lib/wrangler-dev.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const root = join(import.meta.dirname, "..", "..");

/** `npx tfy-relay --url <url> …` as an operator runs it, from the project folder, with the relay's admin token. */
export async function runCli(url: string, args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)("npx", ["tfy-relay", "--url", url, ...args], {
      cwd: root,
      env: { ...process.env, RELAY_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
      // A run that would not end (asking for pages without end, say) is ended, and its code is null.
      timeout: 90_000,
      killSignal: "SIGKILL",
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as CliRun;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A word as a POSIX shell reads it back, whatever it holds. */
function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * `npx tfy-relay --url <url> …` at a terminal, `typed` typed there: util-linux's `script` runs it in a
 * pseudo-terminal, so its stdin is a TTY, as an operator's is. `shown` is what the terminal shows,
 * stdout and stderr together with the typed text echoed, its line ends made `\n`.
 */
export function runCliAtTerminal(
  url: string,
  args: string[],
  typed: string,
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; shown: string }> {
  const command = ["npx", "tfy-relay", "--url", url, ...args].map(shellWord).join(" ");
  // -q: no "Script started" lines; -e: its exit code is the command's; -f: written as it comes; /dev/null: no typescript file kept.
  const terminal = spawn("script", ["-qefc", command, "/dev/null"], {
    cwd: root,
    // No progress spinner from npx, which it draws at a terminal.
    env: { ...process.env, RELAY_ADMIN_TOKEN: ADMIN_TOKEN, npm_config_progress: "false", ...env },
    // A command that waits for more than was typed is ended, and the test fails on its code.
    timeout: 60_000,
  });
  let shown = "";
  terminal.stdout.on("data", (chunk: Buffer) => (shown += chunk.toString()));
  terminal.stdin.end(typed);
  return new Promise((resolve, reject) => {
    terminal.on("error", reject);
    terminal.on("close", (code) => resolve({ code, shown: shown.replace(/\r+\n/g, "\n") }));
  });
}
