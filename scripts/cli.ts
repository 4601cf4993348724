/**
 * tfy-relay: the relay's admin API for operators. `npx tfy-relay --help`.
 * The admin token comes from RELAY_ADMIN_TOKEN, never from the command line (shell history, ps).
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { z } from "zod";
import { adminPath } from "../src/admin/api-path.js";
import { rateLimitText, redactionText, VIEW_ONLY_FIELDS } from "../src/admin/views.js";
import { GIVEN_TWICE, repeatedKey } from "../src/encoding/json-text.js";
import { placeShown } from "../src/http/caller-text.js";
import { RelayError } from "../src/http/errors.js";
import { processingSettingsOf } from "../src/tenants/processing-schema.js";
import { routesTraces } from "../src/tenants/routing.js";
import { TENANT_ID } from "../src/tenants/schema.js";
import {
  DeadLetterPage,
  IssuedToken,
  ReplayAnswer,
  ResealAnswer,
  StatsPage,
  TenantPage,
  TenantStatsAnswer,
  TenantView,
  WaitingTraces,
} from "./lib/admin-answers.js";
import { type AdminClient, AdminError, adminClient, mayBeSecret, NotTheAdminApi } from "./lib/admin-client.js";
import {
  lastErrorText,
  STATS_COLUMNS,
  STATS_WINDOWS,
  type StatsWindow,
  statsColumns,
  type TenantStats,
  tenantStatsOutput,
} from "./lib/stats-table.js";
import { oneLine, table } from "./lib/table.js";

class UsageError extends Error {}
/** Input the command line points to that cannot be used, such as a --config file: said in one line, exit 2 like a usage mistake. */
class InputError extends Error {}
/** A deletion the operator did not confirm: nothing was sent, exit 1 like a call not made. */
class NotConfirmed extends Error {}

/** Every command's flags in one parse, so `--tenant x` reads x as its value wherever it stands; chosenCommand refuses the ones a command does not take. */
const FLAGS = {
  // An empty RELAY_URL, as a shell leaves one set to nothing, is none.
  url: { type: "string", default: process.env.RELAY_URL || "http://127.0.0.1:8787" },
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
  window: { type: "string" },
  yes: { type: "boolean", default: false },
} as const;
const GLOBAL_FLAGS = new Set(["url", "json", "help"]);

function parseCommandLine(args: string[]) {
  const parsed = parsedArgs(args);
  // An empty value (an unset $TENANT) is no value: read as none, `--tenant ""` would replay every tenant's dead letters.
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind === "option" && token.value === "") throw new UsageError(`--${token.name} needs a value, not an empty one`);
    // Given twice, one of its values would be chosen without a word (`--tenant a --tenant b` replays b's alone).
    if (token.kind === "option" && seen.has(token.name)) throw new UsageError(`--${token.name} is given twice: give it once`);
    if (token.kind === "option") seen.add(token.name);
  }
  return parsed;
}

function parsedArgs(args: string[]) {
  try {
    return parseArgs({ args, options: FLAGS, allowPositionals: true, tokens: true });
  } catch (err) {
    // Node's own words for an unknown option quote it unevenly, and repeat whatever was typed.
    if ((err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const option = /'([^']*)'/.exec((err as Error).message)?.[1] ?? "";
      // Where other users of the machine could read it (ps, shell history): the key goes in a variable.
      if (option === "--api-key")
        throw new UsageError(
          "a key is never given on the command line: put it in an environment variable and name that with --api-key-env VAR",
        );
      throw new UsageError(`unknown option ${repeated([option])} (an argument starting with '-' goes after '--')`);
    }
    // Node's words, which may run to several lines: the first says what is wrong.
    throw new UsageError((err as Error).message.split("\n")[0]!);
  }
}

type CommandLine = ReturnType<typeof parseCommandLine>;
type Flags = CommandLine["values"];
/** What a command prints: text as it is, anything else as JSON (`printed`). */
type CommandOutput = unknown;
type Run = (admin: AdminClient, flags: Flags, ...args: string[]) => Promise<CommandOutput>;

interface Command {
  usage: string;
  /** The words that name it: all before the first argument or flag. */
  name: string;
  args: string[];
  /** Those of `args` shown in brackets, `[<tenant>]`. */
  optional: Set<string>;
  flags: Set<string>;
  run: Run;
}

/** A command whose usage line is also its grammar: it takes exactly the <args> and --flags the line shows. */
function commandOf(usage: string, run: Run): Command {
  const words = usage.split(" ");
  const firstNonName = words.findIndex((w) => !/^[a-z-]+$/.test(w));
  return {
    usage,
    name: words.slice(0, firstNonName < 0 ? words.length : firstNonName).join(" "),
    args: Array.from(usage.matchAll(/<([a-z-]+)>/g), (m) => m[1]!),
    optional: new Set(Array.from(usage.matchAll(/\[<([a-z-]+)>\]/g), (m) => m[1]!)),
    flags: new Set(Array.from(usage.matchAll(/--([a-z-]+)/g), (m) => m[1]!)),
    run,
  };
}

/** A delete's answer: 204, nothing. */
const NO_CONTENT = z.undefined();

/** Every item of a listing, fetched a page of the most the admin API gives at a time. */
async function allPages<Page extends { cursor: string | null }, T>(
  admin: AdminClient,
  path: string,
  answer: z.ZodType<Page>,
  itemsOf: (page: Page) => T[],
  query: Record<string, string> = {},
): Promise<T[]> {
  const items: T[] = [];
  await eachPage(
    (cursor) => admin.call("GET", `${path}?${new URLSearchParams({ limit: "1000", ...query, ...(cursor ? { cursor } : {}) })}`, answer),
    (page) => items.push(...itemsOf(page)),
  );
  return items;
}

const ENVIRONMENT_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The PUT, with the headers that guard it. With --config the file is the whole tenant, put as it
 * is; without it, the tenant as it is now (nothing, for a new one), so the flags change only what
 * they name, and the PUT goes ahead only if nothing changed the tenant since it was read
 * (If-Match, or If-None-Match: * for a new one). The flags override either.
 */
async function tenantPut(
  admin: AdminClient,
  id: string,
  flags: Flags,
): Promise<{ body: Record<string, unknown>; headers: Record<string, string>; tokens: number }> {
  if (flags.passthrough && flags["api-key-env"]) throw new UsageError("--api-key-env stores a key and --passthrough removes it: give one");
  const keyVariable = flags["api-key-env"];
  // The likely slip is the key itself (`--api-key-env $BRAINTRUST_API_KEY`): refused without repeating it.
  if (keyVariable !== undefined && !ENVIRONMENT_VARIABLE.test(keyVariable))
    throw new UsageError("--api-key-env takes the name of an environment variable (letters, digits and _), not its value");
  // Its own variables alone: `constructor` or `toString` would read Object's, a function JSON leaves out, and no key be sent.
  const key = keyVariable === undefined || !Object.hasOwn(process.env, keyVariable) ? undefined : process.env[keyVariable];
  // Named only when it reads as a variable's name: a hex token or key has a name's letters too.
  if (keyVariable !== undefined && !key) {
    const named =
      /^[A-Z][A-Z0-9_]*$/.test(keyVariable) || keyVariable.length <= 24
        ? `environment variable ${keyVariable}`
        : "the environment variable --api-key-env names";
    throw new UsageError(`${named} is not set, or empty`);
  }
  const { body, headers, tokens } = flags.config
    ? { body: configFile(flags.config), headers: {}, tokens: flags.passthrough ? await tokensOf(admin, id) : 0 }
    : await currentSettings(admin, id);
  if (flags.parent) body.parent = flags.parent;
  if (headers["if-none-match"] && body.parent === undefined)
    throw new UsageError(`tenant ${id} does not exist yet: give --parent (project_id:…, project_name:… or experiment_id:…) to create it`);
  if (body.braintrust !== undefined && (typeof body.braintrust !== "object" || body.braintrust === null || Array.isArray(body.braintrust)))
    throw new InputError(`--config ${flags.config}: braintrust must be an object, {"api_url": …}`);
  const braintrust = { ...(body.braintrust as Record<string, unknown> | undefined) };
  if (flags["api-url"]) braintrust.api_url = flags["api-url"];
  if (flags.passthrough) braintrust.api_key = null;
  if (key) braintrust.api_key = key;
  if (Object.keys(braintrust).length > 0) body.braintrust = braintrust;
  return { body, headers, tokens };
}

/**
 * The relay's 400 over a field the command's flags gave, reworded to name the flag typed (`--api-url:
 * must be …`) rather than the admin API's field (`braintrust.api_url: must be …`); over a field a
 * --config file gave, to name the file. `flagOf`: the flag each field came from, when one was given.
 * The path's tenant id, which the relay calls `tenant` too, is the <tenant> typed: left as it is.
 */
function flagsNamed(err: unknown, flagOf: Record<string, string | undefined>, config?: string): unknown {
  if (!(err instanceof AdminError) || err.status !== 400 || err.field === undefined) return err;
  // A stored key neither encryption key opens is refused for what the tenant keeps, which no flag or file gave: said as the relay says it.
  if (err.reason === "key_unreadable") return err;
  const { field } = err;
  const fromFile =
    config === undefined || field === "tenant" ? undefined : field === "body" ? `--config ${config}` : `--config ${config}: ${field}`;
  // Its own fields alone: `constructor` would read Object's.
  const named = (Object.hasOwn(flagOf, field) ? flagOf[field] : undefined) ?? fromFile;
  // The relay words a field's refusal `<field>: <why>` (src/admin/parse.ts).
  if (named === undefined || !err.message.startsWith(`${field}: `)) return err;
  return new AdminError(`${named}${err.message.slice(field.length)}`, err.status, field, err.reason);
}

/**
 * The relay's 409 for a passthrough tenant's token says to store a key by the admin API's field
 * (`braintrust.api_key`): reworded to name the command that does it here, as flagsNamed names flags.
 */
function keyCommandNamed(err: unknown, tenant: string): unknown {
  const field = "(braintrust.api_key)";
  if (!(err instanceof AdminError) || err.status !== 409 || !err.message.includes(field)) return err;
  return new AdminError(err.message.replace(field, `(tfy-relay tenants put ${tenant} --api-key-env VAR)`), err.status);
}

/** How many ingest tokens the tenant has, which a PUT making it passthrough revokes; none for a new one. */
async function tokensOf(admin: AdminClient, id: string): Promise<number> {
  try {
    return (await admin.call("GET", adminPath`/tenants/${id}`, TenantView)).tokens.length;
  } catch (err) {
    if (err instanceof AdminError && err.status === 404) return 0;
    throw err;
  }
}

/**
 * A tenant as a PUT takes it: its parent, URL and every setting of the processing schema, with the
 * precondition that it is still so. The key, never shown, is kept by leaving it out. `tokens`: the
 * ingest tokens it has, which a PUT making it passthrough revokes.
 */
async function currentSettings(
  admin: AdminClient,
  id: string,
): Promise<{ body: Record<string, unknown>; headers: Record<string, string>; tokens: number }> {
  let read: { body: TenantView; etag: string | undefined };
  try {
    read = await admin.read(adminPath`/tenants/${id}`, TenantView);
  } catch (err) {
    if (err instanceof AdminError && err.status === 404) return { body: {}, headers: { "if-none-match": "*" }, tokens: 0 };
    throw err;
  }
  const view = read.body;
  // Without it, the PUT would overwrite unseen whatever changed the tenant since it was read.
  if (!read.etag)
    throw new AdminError(
      `the relay's answer for tenant ${id} came without its ETag, so it cannot be put back only if unchanged: use --config, which puts the file as it is, whatever changed meanwhile`,
    );
  return {
    body: {
      ...processingSettingsOf(view),
      parent: view.parent,
      braintrust: { api_url: view.braintrust.api_url },
    },
    // The relay's ETags are strong: a `W/` is a proxy's that compressed the answer (Cloudflare's network
    // does so), and sent back it could never match (If-Match compares strongly), so the tag goes without it.
    headers: { "if-match": read.etag.replace(/^W\//, "") },
    tokens: view.tokens.length,
  };
}

/** What `tenants put --json` prints beside the tenant's own fields. */
const PUT_OUTCOME = ["created", "revoked_tokens"] as const;
type PutOutcome = Partial<Record<(typeof PUT_OUTCOME)[number], unknown>>;

/**
 * What a tenant the CLI prints holds that a PUT does not take: the view's read-only fields, and what
 * `tenants put --json` adds. A --config file leaves them out, so any tenant the CLI printed, edited
 * or not, can be put back as it is.
 */
const PRINTED_ONLY_FIELDS = [...VIEW_ONLY_FIELDS, ...PUT_OUTCOME];

function configFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    // A byte order mark, as Windows editors and PowerShell write UTF-8, is no part of the JSON.
    text = readFileSync(path, "utf8").replace(/^\ufeff/, "");
  } catch (err) {
    throw new InputError(`cannot read --config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // V8 says where, or quotes the text around the error instead, which may be a key pasted without its quotes.
    const where = /at position \d+ \(line \d+ column \d+\)$/.test((err as Error).message)
      ? (err as Error).message
      : `the text around the error is not shown, as it may hold a key (\`jq . ${path}\` shows where)`;
    throw new InputError(`--config ${path} is not JSON: ${where}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new InputError(`--config ${path} must hold a JSON object`);
  const repeated = repeatedKey(text);
  if (repeated !== undefined) throw new InputError(`--config ${path}: ${placeShown(repeated)}: ${GIVEN_TWICE}`);
  const config = { ...(json as Record<string, unknown>) };
  for (const field of PRINTED_ONLY_FIELDS) delete config[field];
  return config;
}

function tenantOutput(tenant: TenantView, flags: Flags): unknown {
  if (flags.json) return tenant;
  const lines = [
    table(
      ["FIELD", "VALUE"],
      [
        ["tenant", tenant.id],
        ["parent", tenant.parent],
        ["braintrust", tenant.braintrust.api_url],
        ["auth", tenant.auth],
        ["routes", tenant.routes.length],
        // Only a tenant that routes, or did within the day, waits for a trace's deciding span (README, "Routing by trace").
        ...(routesTraces(tenant) ? [["trace wait (s)", tenant.trace_wait_seconds]] : []),
        ["translate", String(tenant.translate)],
        ["keep source attributes", String(tenant.keep_source_attributes)],
        ["keep callers' parents", String(tenant.keep_caller_parent)],
        ["drop non-AI spans", String(tenant.drop_non_ai_spans)],
        ["parent from attribute", String(tenant.parent_from_attribute)],
        ["redact", redactionText(tenant.redact)],
        ["rate limit", rateLimitText(tenant.rate_limit)],
        ["updated", tenant.updated_at],
      ],
    ),
  ];
  if (tenant.tokens.length > 0)
    lines.push(
      "",
      table(
        ["TOKEN ID", "CREATED"],
        tenant.tokens.map((t) => [t.id, t.created_at]),
      ),
    );
  return lines.join("\n");
}

function statsWindow(flags: Flags): StatsWindow {
  const window = flags.window ?? "1h";
  if (!Object.hasOwn(STATS_WINDOWS, window)) throw new UsageError(`--window is one of ${Object.keys(STATS_WINDOWS).join(", ")}`);
  return window as StatsWindow;
}

const COMMANDS = [
  commandOf("tenants list", async (admin, flags) => {
    const tenants = await allPages(admin, "/tenants", TenantPage, (page) => page.tenants);
    return flags.json
      ? tenants
      : table(
          ["TENANT", "PARENT", "AUTH"],
          tenants.map((t) => [t.id, t.parent, t.auth]),
        );
  }),
  commandOf("tenants get <tenant>", async (admin, flags, id) =>
    tenantOutput(await admin.call("GET", adminPath`/tenants/${id}`, TenantView), flags),
  ),
  commandOf(
    "tenants put <tenant> [--config FILE] [--parent PARENT] [--api-url URL] [--api-key-env VAR | --passthrough]",
    async (admin, flags, id) => {
      const { body, headers, tokens } = await tenantPut(admin, id, flags);
      try {
        const put = await admin.send("PUT", adminPath`/tenants/${id}`, TenantView, body, headers);
        // Which of the two it was, as the relay's status says: in the table a new tenant and a changed
        // one look alike, and a mistyped id with --config creates one.
        const created = put.status === 201;
        // The tokens --passthrough revoked are gone from the tenant's `tokens`: counted here, as the table's last line does.
        // Only PUT_OUTCOME's fields, which a --config file leaves out; revoked_tokens, undefined without --passthrough, is not printed.
        const outcome = { created, revoked_tokens: flags.passthrough ? tokens : undefined } satisfies PutOutcome;
        if (flags.json) return { ...put.body, ...outcome };
        const output = `${tenantOutput(put.body, flags)}\n\n${created ? "created" : "changed"} tenant ${id}`;
        // Its gateway's token stops working: said, not left for the gateway's 401s to tell.
        if (!flags.passthrough || tokens === 0) return output;
        return `${output}\nrevoked ${counted(tokens, "ingest token")} with the stored key: clients now send their own Braintrust key`;
      } catch (err) {
        if (err instanceof AdminError && err.status === 412)
          throw new AdminError(
            `tenant ${id} was changed (or created, or deleted) by someone else while this ran: nothing was changed; run the command again`,
            412,
          );
        throw flagsNamed(
          err,
          {
            parent: flags.parent && "--parent",
            "braintrust.api_url": flags["api-url"] && "--api-url",
            // The stored key refused for another URL (it goes only to the one it was given for): --api-url is what asked for it.
            "braintrust.api_key": flags["api-key-env"]
              ? "the key --api-key-env names"
              : err instanceof AdminError && err.reason === "key_for_another_url"
                ? flags["api-url"] && "--api-url"
                : undefined,
          },
          flags.config,
        );
      }
    },
  ),
  commandOf("tenants delete <tenant> [--yes]", async (admin, flags, id) => {
    await confirmed(flags, "tenants delete", id, `Delete tenant ${id}, with its dead letters and queued retries?`);
    await admin.call("DELETE", adminPath`/tenants/${id}`, NO_CONTENT);
    return flags.json ? { deleted: id } : `deleted tenant ${id}`;
  }),
  commandOf("tokens issue <tenant>", async (admin, flags, tenant) => {
    const issued = await admin.call("POST", adminPath`/tenants/${tenant}/tokens`, IssuedToken).catch((err: unknown) => {
      throw keyCommandNamed(err, tenant);
    });
    return flags.json
      ? issued
      : `token ${issued.id} for ${tenant} (shown only now; the gateway's Authorization header is Bearer, a space, then this token):\n${issued.token}`;
  }),
  commandOf("tokens revoke <tenant> <token-id> [--yes]", async (admin, flags, tenant, tokenId) => {
    // A token pasted in place of its id is not shown back: the terminal, or a log of stderr, would keep it.
    const named = mayBeSecret(tokenId) ? "(its id not repeated: it may be a token)" : tokenId;
    await confirmed(flags, "tokens revoke", tenant, `Revoke token ${named} of tenant ${tenant}? A gateway sending it is then refused.`);
    await admin.call("DELETE", adminPath`/tenants/${tenant}/tokens/${tokenId}`, NO_CONTENT);
    return flags.json ? { revoked: tokenId } : `revoked token ${tokenId}`;
  }),
  commandOf("dead-letters list [--tenant TENANT]", async (admin, flags) => {
    const list = await allPages(
      admin,
      "/dead-letters",
      DeadLetterPage,
      (page) => page.dead_letters,
      flags.tenant ? { tenant: flags.tenant } : {},
    ).catch((err: unknown) => {
      throw flagsNamed(err, { tenant: "--tenant" });
    });
    return flags.json
      ? list
      : table(
          // The parent beside the reason: Braintrust's ("Project archived") seldom names the project to fix.
          ["ID", "PARENT", "SPANS", "ATTEMPTS", "DEAD-LETTERED", "REASON"],
          list.map((d) => [d.id, d.parent, d.spans, d.attempts, d.dead_lettered_at, oneLine(d.reason)]),
        );
  }),
  commandOf("dead-letters replay (--id ID | --tenant TENANT | --all)", async (admin, flags) => {
    const targets = [flags.id, flags.tenant, flags.all || undefined].filter((t) => t !== undefined).length;
    if (targets !== 1) throw new UsageError("say which, one of: --id ID, --tenant TENANT or --all");
    const outcomes = { replayed: [] as string[], orphaned: [] as string[], replaying: [] as string[], unavailable: [] as string[] };
    await eachPage(
      (cursor) =>
        admin.call("POST", "/dead-letters/replay", ReplayAnswer, {
          ...(flags.id ? { id: flags.id } : {}),
          ...(flags.tenant ? { tenant: flags.tenant } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      (page) => {
        for (const outcome of ["replayed", "orphaned", "replaying", "unavailable"] as const) outcomes[outcome].push(...page[outcome]);
      },
      () => replayOutput(outcomes, flags.json),
    ).catch((err: unknown) => {
      throw flagsNamed(err, { tenant: "--tenant" });
    });
    // Exit 1 while dead letters are left for another run, as keys reseal does, so a script knows to replay again.
    if (outcomes.unavailable.length > 0) process.exitCode = 1;
    return replayOutput(outcomes, flags.json);
  }),
  commandOf("dead-letters delete [<id>] [--tenant TENANT] [--yes]", async (admin, flags, id) => {
    if ((id === undefined) === (flags.tenant === undefined)) throw new UsageError("say which, one of: <id> or --tenant TENANT");
    if (id !== undefined) {
      // A dead letter's id is its tenant's, a colon, then its delivery's.
      await confirmed(flags, "dead-letters delete", id.split(":")[0]!, `Delete dead letter ${id} and its spans for good?`);
      await admin.call("DELETE", adminPath`/dead-letters/${id}`, NO_CONTENT);
      return flags.json ? { deleted: id } : `deleted dead letter ${id}`;
    }
    // Every dead letter kept for the tenant, as it is now or as it was: those of a tenant deleted
    // since, which replay leaves (orphaned), can only go this way or one by one.
    const tenant = flags.tenant!;
    const ids = (
      await allPages(admin, "/dead-letters", DeadLetterPage, (page) => page.dead_letters, { tenant }).catch((err: unknown) => {
        throw flagsNamed(err, { tenant: "--tenant" });
      })
    ).map((deadLetter) => deadLetter.id);
    if (ids.length > 0)
      await confirmed(
        flags,
        "dead-letters delete",
        tenant,
        `Delete ${counted(ids.length, "dead letter")} of ${tenant} and their spans for good?`,
      );
    const deleted: string[] = [];
    const output = () => (flags.json ? { deleted } : `deleted ${counted(deleted.length, "dead letter")} of ${tenant}`);
    for (const each of ids) {
      // One a replay delivered meanwhile is gone already, as asked.
      await admin.call("DELETE", adminPath`/dead-letters/${each}`, NO_CONTENT).catch((err: unknown) => {
        if (err instanceof AdminError && err.status === 404) return;
        if (!(err instanceof AdminError) || deleted.length === 0) throw err;
        throw stoppedPartWay(err, output(), `deleting ${each}: those deleted before it are above`);
      });
      deleted.push(each);
    }
    return output();
  }),
  commandOf("stats [<tenant>] [--window 5m|1h|24h|total]", async (admin, flags, tenant) => {
    const window = statsWindow(flags);
    if (tenant) {
      const stats = await admin.call("GET", adminPath`/tenants/${tenant}/stats`, TenantStatsAnswer);
      // A tenant's table has a row per window; one named keeps that row alone, in JSON too.
      if (flags.json) return flags.window === undefined ? stats : windowOnly(stats, window);
      return tenantStatsOutput(stats, flags.window === undefined ? undefined : window);
    }
    // The admin API lists at most 49 tenants' statistics a page, one call to each tenant's object.
    // A tenant whose object did not answer is a line of its own, never left out in silence.
    const all = await allPages(
      admin,
      "/stats",
      StatsPage,
      (page) => [...page.tenants, ...page.unavailable.map((tenant) => ({ tenant, unavailable: true as const }))],
      { limit: "49" },
    );
    // As a replay that left some out: a script reading these numbers learns they are not all there.
    if (all.some((stats) => "unavailable" in stats)) process.exitCode = 1;
    if (flags.json)
      return flags.window === undefined ? all : all.map((stats) => ("unavailable" in stats ? stats : windowOnly(stats, window)));
    return table(
      // The window its numbers count, named as the model table names its 24 hours: a saved table says which.
      [`TENANT (${window.toUpperCase()})`, ...STATS_COLUMNS, "LAST UPSTREAM ERROR"],
      all.map((stats) =>
        "unavailable" in stats
          ? [stats.tenant, ...STATS_COLUMNS.map(() => "?"), "statistics unavailable: its Durable Object did not answer (run it again)"]
          : [stats.tenant, ...statsColumns(stats[STATS_WINDOWS[window]]), lastErrorText(stats)],
      ),
    );
  }),
  commandOf("traces waiting <tenant>", async (admin, flags, tenant) => {
    const waiting = await admin.call("GET", adminPath`/tenants/${tenant}/waiting-traces`, WaitingTraces);
    // The relay counts 0 for a tenant that holds nothing back as for one whose traces were all decided:
    // said apart as the relay judges it, by its clock. A relay from before it said so leaves that to
    // this machine's clock against the tenant's routed_until.
    const routes =
      waiting.routes_traces ?? (routesTraces(await admin.call("GET", adminPath`/tenants/${tenant}`, TenantView)) || waiting.traces > 0);
    if (flags.json) return { ...waiting, routes_traces: routes };
    const counts = `${tenant}: ${counted(waiting.traces, "trace")}, ${counted(waiting.spans, "span")} (${waiting.bytes} bytes) waiting for their parent to be decided`;
    return routes ? counts : `${counts}: it holds no trace back, as it has no routes and parent_from_attribute is off`;
  }),
  commandOf("keys reseal", async (admin, flags) => {
    const outcomes = {
      resealed: [] as string[],
      current: [] as string[],
      unreadable: [] as string[],
      changed: [] as string[],
      replica_behind: [] as string[],
      failed: [] as string[],
    };
    await eachPage(
      (cursor) => admin.call("POST", "/keys/reseal", ResealAnswer, cursor ? { cursor } : {}),
      (page) => {
        for (const outcome of ["resealed", "current", "unreadable", "changed", "replica_behind", "failed"] as const)
          outcomes[outcome].push(...page[outcome]);
      },
      () => resealOutput(outcomes, flags.json),
    );
    const { unreadable, changed, replica_behind, failed } = outcomes;
    // Exit 1 while a tenant is left for another run or for a person, so a script rotating the key stops before dropping the old one.
    if (unreadable.length + changed.length + replica_behind.length + failed.length > 0) process.exitCode = 1;
    return resealOutput(outcomes, flags.json);
  }),
];

/**
 * The error a command stopped by part way, once what it did before is printed: marked, so a script
 * reading the JSON alone does not take it for the whole. `where`: where it stopped, after the error.
 */
function stoppedPartWay(err: AdminError, done: CommandOutput, where: string): AdminError {
  printed(typeof done === "string" ? done : { ...(done as object), incomplete: true });
  const message = `${err.message} (${where})`;
  return err instanceof NotTheAdminApi ? new NotTheAdminApi(message, err.answered) : new AdminError(message, err.status);
}

/**
 * The pages of a call, each asked for with the cursor the one before it gave. For a call that
 * changes things a page at a time (a replay, a reseal), `doneSoFar`: should a later page fail, what
 * the pages before it did is printed first, as the command prints it, then the failure, since those
 * pages were done and the failure's own words ("nothing was replayed") are about its page alone.
 */
async function eachPage<Page extends { cursor: string | null }>(
  next: (cursor: string | null) => Promise<Page>,
  take: (page: Page) => void,
  doneSoFar?: () => CommandOutput,
): Promise<void> {
  let cursor: string | null = null;
  let pages = 0;
  const sent = new Set<string>();
  const stopped = (err: AdminError, page: number) => {
    if (!doneSoFar || pages === 0) return err;
    return stoppedPartWay(err, doneSoFar(), `on page ${page}: what the pages before it did is above`);
  };
  do {
    let page: Page;
    try {
      page = await next(cursor);
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      throw stopped(err, pages + 1);
    }
    take(page);
    pages++;
    // A relay that gives back a cursor already sent would be asked for the same page without end (a
    // replay's page replayed again each time): not the relay's admin API, or one that went wrong.
    if (page.cursor !== null && sent.has(page.cursor))
      throw stopped(
        new AdminError("the relay gave back a cursor it had given before: stopped, rather than ask for that page again"),
        pages,
      );
    cursor = page.cursor;
    if (cursor !== null) sent.add(cursor);
  } while (cursor);
}

/**
 * A deletion goes ahead once confirmed: with --yes, or, at a terminal, once the operator has typed
 * the tenant's id, as a mistyped or recalled command (shell history) should not delete at a keypress.
 * Where it cannot ask (stdin a pipe, a script, a scheduled job), --yes is required, so that a script
 * says in its text that it deletes. At a terminal, an id that is no tenant's is the relay's to refuse: nothing
 * to confirm, and nothing to type that would match it.
 */
async function confirmed(flags: Flags, command: string, tenant: string, question: string): Promise<void> {
  if (flags.yes) return;
  if (!process.stdin.isTTY)
    throw new UsageError(`${command} asks to confirm, and stdin is not a terminal to ask at: give --yes to delete without asking`);
  if (!TENANT_ID.test(tenant)) return;
  const typed = await typedLine(`${question} Type the tenant's id (${tenant}) to confirm: `);
  if (typed?.trim() !== tenant) throw new NotConfirmed(`${typed === undefined ? "no answer" : "not confirmed"}: nothing was deleted`);
}

/** A line typed at the terminal after `prompt`, which goes to stderr (stdout is the command's output); undefined at end of input. */
function typedLine(prompt: string): Promise<string | undefined> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  let answered = false;
  return new Promise((resolve) => {
    terminal.once("close", () => {
      if (answered) return;
      // Ctrl-C or Ctrl-D at the prompt: what follows goes on a line of its own, not after the question.
      process.stderr.write("\n");
      resolve(undefined);
    });
    terminal.question(prompt, (line) => {
      answered = true;
      resolve(line);
      terminal.close();
    });
  });
}

/** What `dead-letters replay` prints of its outcomes. */
function replayOutput(
  { replayed, orphaned, replaying, unavailable }: Record<"replayed" | "orphaned" | "replaying" | "unavailable", string[]>,
  json: boolean | undefined,
): CommandOutput {
  if (json) return { replayed, orphaned, replaying, unavailable };
  return [
    `replayed ${counted(replayed.length, "dead letter")}`,
    ...(orphaned.length > 0 ? [`${counted(orphaned.length, "dead letter")} of deleted tenants not replayed (delete them)`] : []),
    ...(replaying.length > 0 ? [`${counted(replaying.length, "dead letter")} already being replayed, left to that replay`] : []),
    // Named by tenant, so that one whose object was down is replayed again with --tenant, not forgotten.
    ...(unavailable.length > 0
      ? [
          `${counted(unavailable.length, "dead letter")} not replayed, their tenant's Durable Object did not answer (replay again with --tenant): ${[...new Set(unavailable.map((id) => id.split(":")[0]))].join(", ")}`,
        ]
      : []),
  ].join("; ");
}

/** What `keys reseal` prints of its outcomes. */
function resealOutput(
  outcomes: Record<"resealed" | "current" | "unreadable" | "changed" | "replica_behind" | "failed", string[]>,
  json: boolean | undefined,
): CommandOutput {
  if (json) return outcomes;
  const { resealed, current, unreadable, changed, replica_behind, failed } = outcomes;
  return [
    `sealed again under ENCRYPTION_KEY: ${resealed.length}; already under it: ${current.length}`,
    ...(unreadable.length > 0 ? [`opened by neither key (put their API keys again): ${unreadable.join(", ")}`] : []),
    ...(changed.length > 0 ? [`changed while this ran (run it again): ${changed.join(", ")}`] : []),
    ...(replica_behind.length > 0
      ? [`sealed again, but KV refused the copy ingest reads (run it again): ${replica_behind.join(", ")}`]
      : []),
    ...(failed.length > 0 ? [`their Durable Object did not answer (run it again): ${failed.join(", ")}`] : []),
  ].join("\n");
}

const USAGE = `usage: tfy-relay [--url URL] [--json] <command>

${COMMANDS.map((c) => `  ${c.usage}`).join("\n")}

  --url URL           the relay (default RELAY_URL, else http://127.0.0.1:8787, the local dev server)
  --json              machine-readable output; a failure is then {"error": {"message", "status"}} on stderr
  --config FILE       tenants put: the whole tenant as JSON (what tenants get or put --json prints will do);
                      it replaces the tenant: routes, redaction and the rest left out take their defaults
                      (but api_url and the key, which stay the tenant's), and the flags override it
  --parent PARENT     tenants put: project_id:…, project_name:… or experiment_id:…
  --api-url URL       tenants put: the Braintrust base URL (default https://api.braintrust.dev)
  --api-key-env VAR   tenants put: store the Braintrust API key read from environment variable VAR
  --passthrough       tenants put: store no key; clients send their own Braintrust key
  --id ID             dead-letters replay: that dead letter
  --tenant TENANT     dead-letters list, replay and delete: that tenant's dead letters (delete: every one
                      kept for it, a tenant deleted since included)
  --all               dead-letters replay: every tenant's dead letters
  --yes               tenants delete, tokens revoke, dead-letters delete: delete without asking; required when
                      stdin is not a terminal (at one, the command asks for the tenant's id to be typed)
  --window WINDOW     stats: the window the all-tenants table shows (default 1h), or the one row a tenant's
                      shows; with --json, that window's figures alone
  RELAY_URL           the relay, when --url is not given (environment)
  RELAY_ADMIN_TOKEN   the relay's ADMIN_TOKEN (environment)`;

/** A command's output on stdout: text as it is, anything else as JSON. */
function printed(output: CommandOutput): void {
  let text: string;
  try {
    text = typeof output === "string" ? output : JSON.stringify(output, null, 2);
  } catch {
    // Only an answer nested past the stack JSON.stringify recurses on: the relay's are shallow.
    throw new AdminError("the relay's answer is nested too deep to print: it is not the relay's admin API");
  }
  console.log(text);
}

/** A count of a noun, in words: "1 trace", "2 spans". */
function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Arguments a refusal repeats, but one that could be a secret (a key typed where a flag's value was meant, or pasted in the wrong place). */
function repeated(args: string[]): string {
  return args.map((arg) => (mayBeSecret(arg) ? "(an argument not repeated: it may be a key)" : arg)).join(" ");
}

/** The command the first two words name, with its arguments; a usage error for anything it does not take. */
function chosenCommand({ positionals, tokens }: CommandLine): { command: Command; args: string[] } {
  const command = COMMANDS.find((c) => c.name.split(" ").every((word, i) => positionals[i] === word));
  if (!command) throw new UsageError(positionals.length > 0 ? `unknown command: ${repeated(positionals)}` : "no command given");
  const args = positionals.slice(command.name.split(" ").length);
  for (const token of tokens) {
    if (token.kind === "option" && !GLOBAL_FLAGS.has(token.name) && !command.flags.has(token.name))
      throw new UsageError(`${command.name} does not take ${token.rawName}`);
  }
  if (args.length > command.args.length)
    throw new UsageError(`too many arguments for ${command.name}: ${repeated(args.slice(command.args.length))}`);
  const missing = command.args.find((arg, i) => !args[i] && !command.optional.has(arg));
  if (missing) throw new UsageError(`missing <${missing}>`);
  // Given empty, as an unset $TENANT gives it, an optional argument is a mistake, never the same as none (every tenant's).
  const empty = command.args.find((_, i) => args[i] === "");
  if (empty) throw new UsageError(`<${empty}> is empty`);
  return { command, args };
}

/** A tenant's statistics with one window's summary, the other windows' left out, as `--window` asks. */
function windowOnly(stats: TenantStats, window: StatsWindow): Record<string, unknown> {
  const others = new Set<string>(Object.entries(STATS_WINDOWS).flatMap(([name, key]) => (name === window ? [] : [key])));
  return Object.fromEntries(Object.entries(stats).filter(([key]) => !others.has(key)));
}

// A reader that stops early (`| head`) closes the pipe: the rest of the output has nowhere to go, which is no failure to report.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit();
});

try {
  const commandLine = parseCommandLine(process.argv.slice(2));
  const flags = commandLine.values;
  if (flags.help) {
    console.log(USAGE);
  } else {
    const { command, args } = chosenCommand(commandLine);
    // The address came from RELAY_URL when --url was not given: a refusal of it names where it came from.
    const urlSource = commandLine.tokens.some((t) => t.kind === "option" && t.name === "url") ? "--url" : "RELAY_URL";
    printed(await command.run(adminClient(flags.url, process.env.RELAY_ADMIN_TOKEN, urlSource), flags, ...args));
  }
} catch (err) {
  // exitCode, not exit(): output printed before the failure (the pages done so far) is written
  // to a pipe after this returns, and exit() would cut it off.
  if (err instanceof UsageError) failed(err.message, 2, undefined, USAGE);
  else if (err instanceof InputError) failed(err.message, 2);
  else if (err instanceof NotConfirmed) failed(err.message, 1);
  else if (err instanceof AdminError) failed(err.message, 1, statusShown(err));
  else if (err instanceof RelayError || err instanceof SyntaxError) failed(err.message, 1);
  else throw err;
}

/**
 * A failure on stderr, with its exit code. With --json, one line of JSON, `{"error": {"message",
 * "status"}}` (`status`: the relay's answer, when it gave one), so a script tells "no such tenant"
 * (404) from a relay it did not reach without reading the words; the usage is left out.
 */
function failed(message: string, exitCode: 1 | 2, status?: number, usage?: string): void {
  if (jsonAsked(process.argv.slice(2))) console.error(JSON.stringify({ error: { message, ...(status === undefined ? {} : { status }) } }));
  else console.error(`tfy-relay: ${message}${usage ? `\n\n${usage}` : ""}`);
  process.exitCode = exitCode;
}

/** The status a failure gives with --json: the relay's refusal's, or that of a refusal in its place (a proxy's 503 page). */
function statusShown(err: AdminError): number | undefined {
  if (!(err instanceof NotTheAdminApi)) return err.status;
  return err.answered >= 400 ? err.answered : undefined;
}

/** Whether --json stands among the flags, read from the words themselves: a usage mistake comes before any parse. */
function jsonAsked(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).includes("--json");
}
