import { execFile } from "node:child_process";
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
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as CliRun;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
