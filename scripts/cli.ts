/**
 * tfy-relay: the relay's admin API for operators. `npx tfy-relay --help`.
 * The admin token comes from RELAY_ADMIN_TOKEN, never from the command line (shell history, ps).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AdminError, adminClient, type AdminClient } from "./lib/admin-client.js";
import { table } from "./lib/table.js";

const USAGE = `usage: tfy-relay [--url URL] [--json] <command>

  tenants list
  tenants get <tenant>
  tenants put <tenant> [--config FILE] [--parent PARENT] [--api-url URL] [--api-key-env VAR | --passthrough]
  tenants delete <tenant>
  tokens issue <tenant>
  tokens revoke <tenant> <token-id>
  dead-letters list [--tenant TENANT]
  dead-letters replay (--id ID | --tenant TENANT | --all)
  dead-letters delete <id>

  --url       the relay (default http://127.0.0.1:8787, the local dev server)
  --json      machine-readable output
  RELAY_ADMIN_TOKEN   the relay's ADMIN_TOKEN (environment)
  --api-key-env VAR   read the tenant's Braintrust API key from environment variable VAR`;

class UsageError extends Error {}

const { values: flags, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: "string", default: process.env.RELAY_URL ?? "http://127.0.0.1:8787" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
        config: { type: "string" },
        parent: { type: "string" },
        "api-url": { type: "string" },
        "api-key-env": { type: "string" },
        passthrough: { type: "boolean", default: false },
        tenant: { type: "string" },
        id: { type: "string" },
        all: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    console.error(`tfy-relay: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();

interface TenantSummary { id: string; parent: string; auth: string }
interface TenantView { id: string; parent: string; auth: string; braintrust: { api_url: string }; tokens: Array<{ id: string; created_at: string }>; routes: unknown[]; translate: boolean; updated_at: string }
interface DeadLetter { id: string; tenant: string; parent: string; reason: string; attempts: number; spans: number; dead_lettered_at: string }

function arg(index: number, name: string): string {
  const value = positionals[index];
  if (!value) throw new UsageError(`missing <${name}>`);
  return value;
}

async function allPages<T>(admin: AdminClient, path: string, field: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const page = (await admin.call("GET", `${path}${cursor ? `${separator}cursor=${encodeURIComponent(cursor)}` : ""}`)) as Record<string, unknown>;
    items.push(...(page[field] as T[]));
    cursor = page.cursor as string | null;
  } while (cursor);
  return items;
}

function tenantBody(): Record<string, unknown> {
  const body: Record<string, unknown> = flags.config ? (JSON.parse(readFileSync(flags.config, "utf8")) as Record<string, unknown>) : {};
  if (flags.parent) body.parent = flags.parent;
  const braintrust = { ...(body.braintrust as Record<string, unknown> | undefined) };
  if (flags["api-url"]) braintrust.api_url = flags["api-url"];
  if (flags.passthrough) braintrust.api_key = null;
  if (flags["api-key-env"]) {
    const key = process.env[flags["api-key-env"]];
    if (!key) throw new UsageError(`environment variable ${flags["api-key-env"]} is empty`);
    braintrust.api_key = key;
  }
  if (Object.keys(braintrust).length > 0) body.braintrust = braintrust;
  return body;
}

async function run(admin: AdminClient): Promise<unknown> {
  const [group, action] = positionals;
  switch (`${group} ${action}`) {
    case "tenants list": {
      const tenants = await allPages<TenantSummary>(admin, "/tenants?limit=1000", "tenants");
      return flags.json ? tenants : table(["TENANT", "PARENT", "AUTH"], tenants.map((t) => [t.id, t.parent, t.auth]));
    }
    case "tenants get":
    case "tenants put": {
      const id = arg(2, "tenant");
      const tenant = (await (action === "get" ? admin.call("GET", `/tenants/${id}`) : admin.call("PUT", `/tenants/${id}`, tenantBody()))) as TenantView;
      if (flags.json) return tenant;
      const lines = [
        table(["FIELD", "VALUE"], [["tenant", tenant.id], ["parent", tenant.parent], ["braintrust", tenant.braintrust.api_url], ["auth", tenant.auth], ["routes", tenant.routes.length], ["translate", String(tenant.translate)], ["updated", tenant.updated_at]]),
      ];
      if (tenant.tokens.length > 0) lines.push("", table(["TOKEN ID", "CREATED"], tenant.tokens.map((t) => [t.id, t.created_at])));
      return lines.join("\n");
    }
    case "tenants delete":
      await admin.call("DELETE", `/tenants/${arg(2, "tenant")}`);
      return flags.json ? { deleted: positionals[2] } : `deleted tenant ${positionals[2]}`;
    case "tokens issue": {
      const issued = (await admin.call("POST", `/tenants/${arg(2, "tenant")}/tokens`)) as { id: string; token: string };
      return flags.json ? issued : `token ${issued.id} for ${positionals[2]} (shown only now; put it in the gateway's Authorization header):\n${issued.token}`;
    }
    case "tokens revoke":
      await admin.call("DELETE", `/tenants/${arg(2, "tenant")}/tokens/${arg(3, "token-id")}`);
      return flags.json ? { revoked: positionals[3] } : `revoked token ${positionals[3]}`;
    case "dead-letters list": {
      const list = await allPages<DeadLetter>(admin, `/dead-letters?limit=1000${flags.tenant ? `&tenant=${flags.tenant}` : ""}`, "dead_letters");
      return flags.json ? list : table(["ID", "SPANS", "ATTEMPTS", "DEAD-LETTERED", "REASON"], list.map((d) => [d.id, d.spans, d.attempts, d.dead_lettered_at, d.reason.slice(0, 80)]));
    }
    case "dead-letters replay": {
      if (!flags.id && !flags.tenant && !flags.all) throw new UsageError("say which: --id ID, --tenant TENANT or --all");
      const replayed: string[] = [];
      let cursor: string | null = null;
      do {
        const page = (await admin.call("POST", "/dead-letters/replay", { ...(flags.id ? { id: flags.id } : {}), ...(flags.tenant ? { tenant: flags.tenant } : {}), limit: 1000, ...(cursor ? { cursor } : {}) })) as { replayed: string[]; cursor: string | null };
        replayed.push(...page.replayed);
        cursor = page.cursor;
      } while (cursor);
      return flags.json ? { replayed } : `replayed ${replayed.length} dead letter${replayed.length === 1 ? "" : "s"}`;
    }
    case "dead-letters delete":
      await admin.call("DELETE", `/dead-letters/${arg(2, "id")}`);
      return flags.json ? { deleted: positionals[2] } : `deleted dead letter ${positionals[2]}`;
    default:
      throw new UsageError(group ? `unknown command: ${positionals.join(" ")}` : "no command given");
  }
}

if (flags.help) {
  console.log(USAGE);
} else {
  try {
    const output = await run(adminClient(flags.url, process.env.RELAY_ADMIN_TOKEN));
    console.log(typeof output === "string" ? output : JSON.stringify(output, null, 2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tfy-relay: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (err instanceof AdminError || err instanceof SyntaxError) {
      console.error(`tfy-relay: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}
