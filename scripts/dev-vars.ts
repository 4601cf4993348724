/**
 * Before `npm run dev`: makes .dev.vars from .dev.vars.example the first time, with a fresh
 * ADMIN_TOKEN and ENCRYPTION_KEY, so the local relay starts ready to use and no shared example
 * secret is ever in use.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const target = ".dev.vars";
if (existsSync(target)) {
  console.log(`using ${target}`);
} else {
  const adminToken = randomBytes(24).toString("base64url");
  const vars = readFileSync(".dev.vars.example", "utf8")
    .replace(/^ADMIN_TOKEN=.*$/m, `ADMIN_TOKEN=${adminToken}`)
    .replace(/^ENCRYPTION_KEY=.*$/m, `ENCRYPTION_KEY=${randomBytes(32).toString("base64")}`);
  writeFileSync(target, vars, { mode: 0o600 });
  console.log(
    `created ${target} with a fresh ADMIN_TOKEN and ENCRYPTION_KEY; the admin token is in that file (RELAY_ADMIN_TOKEN for the tfy-relay CLI)`,
  );
}
