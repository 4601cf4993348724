import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";
import { z } from "zod";
import { adminClient } from "../../scripts/lib/admin-client.js";
import { toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { ADMIN_TOKEN, freePort, type RelayProcess, startRelay } from "../../scripts/lib/wrangler-dev.js";
import { standinClient } from "../standin/client.js";
import { type CliRun, runCli, runCliAtTerminal } from "../support/cli.js";

const standin = standinClient(inject("standinUrl"));
const root = join(import.meta.dirname, "..", "..");
let relay: RelayProcess;

beforeAll(async () => {
  // Statistics flushed right after each request, so the stats command sees them at once.
  relay = await startRelay({ STATS_FLUSH_SECONDS: "0" });
});

afterAll(async () => {
  await relay?.stop();
});

/** `npx tfy-relay …` against this file's relay, or `url`. */
function cli(args: string[], env: Record<string, string | undefined> = {}, url = relay.url): Promise<CliRun> {
  return runCli(url, args, env);
}

/** An admin API call to this file's relay, made apart from the CLI. */
/** Where a test writes a tenant's --config file, in a folder of its own removed once the test ends: such a file may hold a key. */
function tenantConfigFile(): string {
  const folder = mkdtempSync(join(tmpdir(), "cli-"));
  onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
  return join(folder, "tenant.json");
}

function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${relay.url}/admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...init.headers },
  });
}

/** Another operator's change of the tenant's parent, to `project_name:theirs`. */
async function changedBySomeoneElse(tenant: string): Promise<void> {
  const theirs = await admin(`/tenants/${tenant}`, { method: "PUT", body: JSON.stringify({ parent: "project_name:theirs" }) });
  expect(theirs.status).toBe(200);
}

/**
 * A proxy in front of this file's relay, as an operator's network may put one: it passes on the
 * credentials and conditions, gives back the relay's ETag as `etag` makes it, and runs `beforePut`
 * before it passes on a PUT.
 */
function relayProxy({
  etag = (tag) => tag ?? undefined,
  beforePut,
}: {
  etag?: (tag: string | null) => string | undefined;
  beforePut?: () => Promise<void>;
}) {
  return otherServer(async (req, res, body) => {
    if (req.method === "PUT") await beforePut?.();
    const headers = Object.fromEntries(
      ["authorization", "content-type", "if-match", "if-none-match"].flatMap((name) => {
        const value = req.headers[name];
        return typeof value === "string" ? [[name, value]] : [];
      }),
    );
    const answer = await fetch(`${relay.url}${req.url}`, { method: req.method, headers, ...(body ? { body } : {}) });
    const tag = etag(answer.headers.get("etag"));
    res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "", ...(tag ? { etag: tag } : {}) });
    res.end(await answer.text());
  });
}

describe("tfy-relay, against a running relay", () => {
  it("puts, gets and lists tenants, as tables and as JSON", async () => {
    const apiKey = await standin.issueKey();
    const config = tenantConfigFile();
    writeFileSync(
      config,
      JSON.stringify({
        routes: [{ match: { field: "span_name", prefix: "Model" }, parent: "project_name:models" }],
        drop_non_ai_spans: true,
        redact: { keys: [{ pattern: "tfy.input*" }], values: ["emails", "api_keys"] },
        rate_limit: { requests_per_second: 5, burst: 10 },
      }),
    );

    const put = await cli(
      [
        "tenants",
        "put",
        "cli-acme",
        "--config",
        config,
        "--parent",
        "project_name:cli",
        "--api-url",
        standin.url,
        "--api-key-env",
        "CLI_TEST_KEY",
      ],
      { CLI_TEST_KEY: apiKey },
    );
    const get = await cli(["tenants", "get", "cli-acme", "--json"]);
    const list = await cli(["tenants", "list"]);

    expect(put).toMatchObject({ code: 0 });
    expect(put.stdout).toMatch(/^FIELD\s+VALUE\ntenant\s+cli-acme\nparent\s+project_name:cli\n/);
    expect(put.stdout).not.toContain(apiKey);
    // Every setting that changes what the tenant's spans become shows in the table, not in --json alone.
    expect(put.stdout).toMatch(/\ndrop non-AI spans\s+true\nparent from attribute\s+false\n/);
    expect(put.stdout).toMatch(/\nredact\s+1 key rule, 2 value rules\nrate limit\s+5\/s, burst 10\n/);
    expect(JSON.parse(get.stdout)).toMatchObject({
      id: "cli-acme",
      parent: "project_name:cli",
      auth: "stored_key",
      routes: [{ parent: "project_name:models" }],
    });
    expect(list.stdout).toMatch(/^TENANT\s+PARENT\s+AUTH\n/);
    expect(list.stdout).toMatch(/\ncli-acme\s+project_name:cli\s+stored_key/);
  });

  it("rotates a tenant's key with --api-key-env alone, keeping the rest of the tenant as it is", async () => {
    const [oldKey, newKey] = [await standin.issueKey(), await standin.issueKey()];
    const config = tenantConfigFile();
    writeFileSync(
      config,
      JSON.stringify({
        routes: [{ match: { field: "span_name", prefix: "Model" }, parent: "project_name:models" }],
        trace_wait_seconds: 30,
        redact: { keys: [{ pattern: "tfy.prompt_variables" }], values: ["emails"] },
        rate_limit: { requests_per_second: 5, burst: 10 },
      }),
    );
    await cli(
      ["tenants", "put", "cli-rotate", "--config", config, "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"],
      {
        K: oldKey,
      },
    );
    const { token } = JSON.parse((await cli(["tokens", "issue", "cli-rotate", "--json"])).stdout) as { token: string };
    const before = JSON.parse((await cli(["tenants", "get", "cli-rotate", "--json"])).stdout) as Record<string, unknown>;

    const rotated = await cli(["tenants", "put", "cli-rotate", "--api-key-env", "K"], { K: newKey });
    const after = JSON.parse((await cli(["tenants", "get", "cli-rotate", "--json"])).stdout) as Record<string, unknown>;
    const sent = await fetch(`${relay.url}/t/cli-rotate/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${token}` },
      body: toProtobuf(trueFoundryTrace()).slice(),
    });

    expect(rotated.code).toBe(0);
    expect({ ...after, updated_at: undefined }).toEqual({ ...before, updated_at: undefined });
    expect(after).toMatchObject({ trace_wait_seconds: 30, rate_limit: { requests_per_second: 5, burst: 10 }, auth: "stored_key" });
    expect(sent.status).toBe(200);
    expect((await standin.attempts(newKey)).map((a) => a.status)).toEqual([200]);
    expect(await standin.attempts(oldKey)).toHaveLength(0);
  });

  it("puts back, with --config, a tenant that tenants get --json saved and a user edited, keeping its tokens and key", async () => {
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-saved", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });
    await cli(["tokens", "issue", "cli-saved"]);
    const saved = JSON.parse((await cli(["tenants", "get", "cli-saved", "--json"])).stdout) as Record<string, unknown>;
    const config = tenantConfigFile();
    writeFileSync(config, JSON.stringify({ ...saved, trace_wait_seconds: 45 }));

    const put = await cli(["tenants", "put", "cli-saved", "--config", config]);
    const after = JSON.parse((await cli(["tenants", "get", "cli-saved", "--json"])).stdout) as Record<string, unknown>;

    expect(put).toMatchObject({ code: 0, stderr: "" });
    expect({ ...after, updated_at: undefined }).toEqual({ ...saved, trace_wait_seconds: 45, updated_at: undefined });
    expect(after).toMatchObject({ auth: "stored_key", tokens: [{ id: expect.any(String) }] });
  });

  it("puts back, with --config, what tenants put --json printed, the created and revoked_tokens it adds left out", async () => {
    const config = tenantConfigFile();
    const printed = await cli(["tenants", "put", "cli-put-printed", "--parent", "project_id:p", "--passthrough", "--json"]);
    writeFileSync(config, printed.stdout);
    const saved = JSON.parse(printed.stdout) as Record<string, unknown>;
    expect(saved).toMatchObject({ created: true, revoked_tokens: 0 });

    const put = await cli(["tenants", "put", "cli-put-printed", "--config", config, "--json"]);

    expect(put).toMatchObject({ code: 0, stderr: "" });
    const after = JSON.parse(put.stdout) as Record<string, unknown>;
    expect({ ...after, updated_at: undefined }).toEqual({ ...saved, created: false, revoked_tokens: undefined, updated_at: undefined });
  });

  it("prints an issued token with how the gateway's header holds it, and the header so written is taken", async () => {
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-header", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });

    const issued = await cli(["tokens", "issue", "cli-header"]);

    const printed = /^token [0-9a-f]{16} for cli-header \(shown only now; (.+)\):\n(tbr_\S+)\n$/.exec(issued.stdout);
    expect(printed, issued.stdout).not.toBeNull();
    const [, instruction, token] = printed!;
    // The word, a space, the token: the value TrueFoundry's Headers field takes (README, "Configuring TrueFoundry").
    expect(instruction).toBe("the gateway's Authorization header is Bearer, a space, then this token");
    const sent = await fetch(`${relay.url}/t/cli-header/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${token}` },
      body: toProtobuf(trueFoundryTrace()).slice(),
    });
    expect(sent.status).toBe(200);
  });

  it("issues a token that works, revokes it, and deletes the tenant", async () => {
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-tokens", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });

    const issued = await cli(["tokens", "issue", "cli-tokens", "--json"]);
    const { id, token } = JSON.parse(issued.stdout) as { id: string; token: string };
    const send = () =>
      fetch(`${relay.url}/t/cli-tokens/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${token}` },
        body: toProtobuf(trueFoundryTrace()).slice(),
      });
    expect((await send()).status).toBe(200);

    expect(await cli(["tokens", "revoke", "cli-tokens", id, "--yes"])).toMatchObject({ code: 0, stdout: `revoked token ${id}\n` });
    expect((await send()).status).toBe(401);
    expect(await cli(["tenants", "delete", "cli-tokens", "--yes"])).toMatchObject({ code: 0, stdout: "deleted tenant cli-tokens\n" });
    expect((await cli(["tenants", "get", "cli-tokens"])).code).toBe(1);
  });

  it("says so when --passthrough revokes the tenant's ingest tokens with its stored key", async () => {
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-to-passthrough", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], {
      K: apiKey,
    });
    await cli(["tokens", "issue", "cli-to-passthrough"]);
    await cli(["tokens", "issue", "cli-to-passthrough"]);

    const put = await cli(["tenants", "put", "cli-to-passthrough", "--passthrough"]);

    expect(put).toMatchObject({ code: 0, stderr: "" });
    expect(put.stdout).toMatch(
      /\n\nchanged tenant cli-to-passthrough\nrevoked 2 ingest tokens with the stored key: clients now send their own Braintrust key\n$/,
    );
    // Once passthrough, there is nothing left to revoke, and nothing said.
    expect((await cli(["tenants", "put", "cli-to-passthrough", "--passthrough"])).stdout).not.toContain("revoked");
    // Nor a token to issue: the refusal names the command that stores a key, not the API's field.
    const issue = await cli(["tokens", "issue", "cli-to-passthrough"]);
    expect(issue.code).toBe(1);
    expect(issue.stderr).toContain("store a key (tfy-relay tenants put cli-to-passthrough --api-key-env VAR) to issue them");
    expect(issue.stderr).not.toContain("braintrust.api_key");
    // Put whole from a file, the tenant is read for its tokens all the same.
    await cli(["tenants", "put", "cli-to-passthrough", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });
    await cli(["tokens", "issue", "cli-to-passthrough"]);
    const config = tenantConfigFile();
    writeFileSync(config, JSON.stringify({ parent: "project_id:p", braintrust: { api_url: standin.url } }));
    const fromFile = await cli(["tenants", "put", "cli-to-passthrough", "--config", config, "--passthrough"]);
    expect(fromFile.stdout).toMatch(
      /\n\nchanged tenant cli-to-passthrough\nrevoked 1 ingest token with the stored key: clients now send their own Braintrust key\n$/,
    );
    // With --json, the count as a field, 0 once there is nothing left to revoke.
    await cli(["tenants", "put", "cli-to-passthrough", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });
    await cli(["tokens", "issue", "cli-to-passthrough"]);
    await cli(["tokens", "issue", "cli-to-passthrough"]);
    const json = JSON.parse((await cli(["tenants", "put", "cli-to-passthrough", "--passthrough", "--json"])).stdout) as unknown;
    const again = JSON.parse((await cli(["tenants", "put", "cli-to-passthrough", "--passthrough", "--json"])).stdout) as unknown;
    expect(json).toMatchObject({ id: "cli-to-passthrough", auth: "passthrough", tokens: [], revoked_tokens: 2 });
    expect(again).toMatchObject({ revoked_tokens: 0 });
  });

  it("names the flag typed, not the admin API's field, when the relay refuses what a flag gave; the --config file for what the file gave", async () => {
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-flags", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });
    const config = tenantConfigFile();
    writeFileSync(config, JSON.stringify({ parent: "project_id:p", translate: "yes", colour: "blue" }));
    const unknown = tenantConfigFile();
    writeFileSync(unknown, JSON.stringify({ parent: "project_id:p", colour: "blue" }));

    const refusals = {
      url: await cli(["tenants", "put", "cli-flags", "--api-url", "not a url"]),
      // The stored key was given for the tenant's URL: --api-url without a key asks to send it elsewhere.
      keyElsewhere: await cli(["tenants", "put", "cli-flags", "--api-url", `${standin.url}/other`]),
      // The stored key the put keeps, which the relay's tenant object opens to find it, said without it.
      storedKeyInUrl: await cli(["tenants", "put", "cli-flags", "--api-url", `${standin.url}/${apiKey}`]),
      storedKeyInParent: await cli(["tenants", "put", "cli-flags", "--parent", `project_name:${apiKey}`]),
      key: await cli(["tenants", "put", "cli-flags", "--api-key-env", "K"], { K: "a key with spaces" }),
      fromFile: await cli(["tenants", "put", "cli-flags", "--config", config]),
      unknownInFile: await cli(["tenants", "put", "cli-flags", "--config", unknown]),
      // The path's tenant is the <tenant> typed, in the relay's words.
      tenantId: await cli(["tenants", "put", "Not An Id", "--config", unknown]),
      replay: await cli(["dead-letters", "replay", "--tenant", "x#y"]),
    };

    expect(Object.fromEntries(Object.entries(refusals).map(([what, run]) => [what, [run.code, run.stderr.trimEnd()]]))).toEqual({
      url: [1, expect.stringMatching(/^tfy-relay: --api-url: \S/)],
      keyElsewhere: [
        1,
        expect.stringMatching(/^tfy-relay: --api-url: tenant cli-flags's stored key was given for its api_url, not the one this PUT gives/),
      ],
      storedKeyInUrl: [1, expect.stringMatching(/^tfy-relay: --api-url: holds the tenant's stored Braintrust key, /)],
      storedKeyInParent: [1, expect.stringMatching(/^tfy-relay: --parent: holds the tenant's stored Braintrust key, /)],
      key: [1, "tfy-relay: the key --api-key-env names: must be printable ASCII without spaces"],
      fromFile: [1, expect.stringMatching(new RegExp(`^tfy-relay: --config ${config}: translate: must be`))],
      unknownInFile: [1, `tfy-relay: --config ${unknown}: "colour" is not a known field`],
      tenantId: [1, expect.stringMatching(/^tfy-relay: tenant: ids are 1-64 characters/)],
      replay: [1, "tfy-relay: --tenant: must be a tenant id"],
    });
    for (const [what, run] of Object.entries(refusals)) {
      // The API URL's refusal says where a key goes instead: "the key in braintrust.api_key".
      if (what !== "storedKeyInUrl") expect(run.stderr).not.toMatch(/braintrust\.api_(url|key)|(?<!--)\bparent:/);
      expect(run.stderr).not.toContain(apiKey);
    }
  });

  it("deletes a tenant, revokes a token or deletes a dead letter only once confirmed: the tenant's id typed at a terminal, or --yes", async () => {
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-confirm", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });
    const { id: tokenId } = JSON.parse((await cli(["tokens", "issue", "cli-confirm", "--json"])).stdout) as { id: string };
    const tokensLeft = async () => ((await (await admin("/tenants/cli-confirm")).json()) as { tokens: unknown[] }).tokens.length;
    const atTerminal = (args: string[], typed: string) => runCliAtTerminal(relay.url, args, typed);

    // Where it cannot ask (a pipe, a script), --yes is required, and said so: a usage mistake.
    const unasked = {
      tenant: await cli(["tenants", "delete", "cli-confirm"]),
      token: await cli(["tokens", "revoke", "cli-confirm", tokenId]),
      deadLetter: await cli(["dead-letters", "delete", "cli-confirm:0123456789abcdef"]),
    };
    expect(Object.values(unasked).map((run) => [run.code, run.stdout, run.stderr.split("\n")[0]])).toEqual(
      ["tenants delete", "tokens revoke", "dead-letters delete"].map((command) => [
        2,
        "",
        `tfy-relay: ${command} asks to confirm, and stdin is not a terminal to ask at: give --yes to delete without asking`,
      ]),
    );
    expect(await tokensLeft()).toBe(1);

    // At a terminal, it asks for the tenant's id, and goes ahead only once it is typed.
    const mistyped = await atTerminal(["tenants", "delete", "cli-confirm"], "cli-confrim\n");
    expect(mistyped.code).toBe(1);
    expect(mistyped.shown).toContain(
      "Delete tenant cli-confirm, with its dead letters and queued retries? Type the tenant's id (cli-confirm) to confirm: ",
    );
    expect(mistyped.shown).toMatch(/\ntfy-relay: not confirmed: nothing was deleted\n$/);
    expect((await admin("/tenants/cli-confirm")).status).toBe(200);

    const revoked = await atTerminal(["tokens", "revoke", "cli-confirm", tokenId], "cli-confirm\n");
    expect(revoked.code).toBe(0);
    expect(revoked.shown).toContain(`Revoke token ${tokenId} of tenant cli-confirm?`);
    expect(revoked.shown).toMatch(new RegExp(`\nrevoked token ${tokenId}\n$`));
    expect(await tokensLeft()).toBe(0);

    // --yes at a terminal: nothing asked.
    const deleted = await atTerminal(["tenants", "delete", "cli-confirm", "--yes"], "");
    expect(deleted.code).toBe(0);
    expect(deleted.shown).not.toContain("to confirm");
    expect(deleted.shown).toMatch(/deleted tenant cli-confirm\n$/);
    expect((await admin("/tenants/cli-confirm")).status).toBe(404);
  });

  it("says whether tenants put created the tenant or changed it, as the relay's 201 or 200 tells, in the table and in --json", async () => {
    const config = tenantConfigFile();
    writeFileSync(config, JSON.stringify({ parent: "project_name:p" }));

    const created = await cli(["tenants", "put", "cli-created", "--parent", "project_id:p", "--passthrough"]);
    const changed = await cli(["tenants", "put", "cli-created", "--parent", "project_id:q"]);
    // With --config too: a mistyped id there makes a new tenant, which the words tell from a change.
    const createdFromFile = await cli(["tenants", "put", "cli-created-from-file", "--config", config, "--passthrough", "--json"]);
    const changedFromFile = await cli(["tenants", "put", "cli-created-from-file", "--config", config, "--passthrough", "--json"]);

    expect(created).toMatchObject({ code: 0, stderr: "" });
    expect(created.stdout).toMatch(/^FIELD\s+VALUE\ntenant\s+cli-created\n[\s\S]*\n\ncreated tenant cli-created\n$/);
    expect(changed.stdout).toMatch(/^FIELD\s+VALUE\ntenant\s+cli-created\nparent\s+project_id:q\n[\s\S]*\n\nchanged tenant cli-created\n$/);
    expect(JSON.parse(createdFromFile.stdout)).toMatchObject({ id: "cli-created-from-file", parent: "project_name:p", created: true });
    expect(JSON.parse(changedFromFile.stdout)).toMatchObject({ id: "cli-created-from-file", created: false });
  });

  it("prints a tenant's statistics, and every tenant's, as tables and as JSON", async () => {
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-stats", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });
    const { token } = JSON.parse((await cli(["tokens", "issue", "cli-stats", "--json"])).stdout) as { token: string };
    await fetch(`${relay.url}/t/cli-stats/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${token}` },
      body: toProtobuf(trueFoundryTrace()).slice(),
    });
    const deadline = Date.now() + 30_000;
    let stats: { total: { spans: { delivered: number } } } | undefined;
    while (Date.now() < deadline) {
      stats = JSON.parse((await cli(["stats", "cli-stats", "--json"])).stdout) as typeof stats;
      if (stats?.total.spans.delivered === 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    expect(stats?.total.spans.delivered).toBe(3);
    const one = await cli(["stats", "cli-stats"]);
    expect(one.stdout).toMatch(
      /^WINDOW\s+REQUESTS\s+RECEIVED\s+ACCEPTED\s+REJECTED\s+DELIVERED\s+RETRIED\s+DEAD-LETTERED\s+P50 MS\s+P99 MS\n5m\s+1\s+3\s+3\s+0\s+3\s+0\s+0\s/,
    );
    expect(one.stdout).toContain("requests by status (total)  200: 1");
    expect(one.stdout).toMatch(
      /\nMODEL \(24H\)\s+CALLS\s+PROMPT TOKENS\s+COMPLETION TOKENS\s+COST USD\ngpt-4\.1-mini\s+1\s+14\s+3\s+0\.000013\n?$/,
    );
    const lastHour = await cli(["stats", "cli-stats", "--window", "1h"]);
    expect(lastHour.stdout).toMatch(
      /^WINDOW\s+REQUESTS.*\n1h\s+1\s+3\s+3\s+0\s+3\s+0\s+0\s[^\n]*\n\nrequests by status \(1h\) {5}200: 1\n/,
    );
    // In JSON too, the window named alone.
    const lastHourJson = JSON.parse((await cli(["stats", "cli-stats", "--window", "1h", "--json"])).stdout) as Record<string, unknown>;
    expect(Object.keys(lastHourJson).filter((key) => /^(last_(5m|1h|24h)|total)$/.test(key))).toEqual(["last_1h"]);
    expect(lastHourJson).toMatchObject({ tenant: "cli-stats", last_1h: { spans: { delivered: 3 } } });
    const allJson = JSON.parse((await cli(["stats", "--window", "total", "--json"])).stdout) as Record<string, unknown>[];
    const mine = allJson.find((stats) => stats.tenant === "cli-stats")!;
    expect(Object.keys(mine).filter((key) => /^(last_(5m|1h|24h)|total)$/.test(key))).toEqual(["total"]);
    // Every tenant's table names the window its numbers count, as the model table names its 24 hours.
    const all = await cli(["stats", "--window", "24h"]);
    expect(all.stdout).toMatch(/^TENANT \(24H\)\s+REQUESTS/);
    expect((await cli(["stats"])).stdout).toMatch(/^TENANT \(1H\)\s+REQUESTS/);
    expect(all.stdout).toMatch(/\ncli-stats\s+1\s+3\s+3\s+0\s+3\s/);
    expect(await cli(["stats", "--window", "week"])).toMatchObject({ code: 2 });
    // A name every object has is no window either.
    expect(await cli(["stats", "cli-stats", "--window", "toString"])).toMatchObject({ code: 2 });
    expect(await cli(["stats", "no-such-tenant"])).toMatchObject({ code: 1, stderr: "tfy-relay: no such tenant: no-such-tenant\n" });
  });

  it("prints how many traces and spans of a routing tenant wait for their parent", async () => {
    const apiKey = await standin.issueKey();
    const config = tenantConfigFile();
    const route = { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:e" };
    writeFileSync(config, JSON.stringify({ translate: false, routes: [route], trace_wait_seconds: 3600 }));
    await cli(
      ["tenants", "put", "cli-waiting", "--config", config, "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"],
      {
        K: apiKey,
      },
    );
    const { token } = JSON.parse((await cli(["tokens", "issue", "cli-waiting", "--json"])).stdout) as { token: string };
    // The trace's children without its top span: nothing decides where they go yet.
    const children = trueFoundryTrace();
    for (const rs of children.resourceSpans) for (const ss of rs.scopeSpans) ss.spans = ss.spans.filter((s) => s.parentSpanId.length > 0);
    const sent = await fetch(`${relay.url}/t/cli-waiting/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${token}` },
      body: toProtobuf(children).slice(),
    });
    expect(sent.status).toBe(200);

    const table = await cli(["traces", "waiting", "cli-waiting"]);
    const json = JSON.parse((await cli(["traces", "waiting", "cli-waiting", "--json"])).stdout) as unknown;

    expect((await cli(["tenants", "get", "cli-waiting"])).stdout).toMatch(/\ntrace wait \(s\)\s+3600\n/);
    expect(table.stdout).toMatch(/^cli-waiting: 1 trace, 2 spans \(\d+ bytes\) waiting for their parent to be decided\n$/);
    expect(json).toMatchObject({ tenant: "cli-waiting", traces: 1, spans: 2, routes_traces: true });
    expect(await cli(["traces", "waiting", "no-such-tenant"])).toMatchObject({
      code: 1,
      stderr: "tfy-relay: no such tenant: no-such-tenant\n",
    });

    // Its routes gone, the tenant still holds its traces back for a day: the wait still applies.
    writeFileSync(config, JSON.stringify({ translate: false, routes: [], trace_wait_seconds: 3600 }));
    const put = await cli(["tenants", "put", "cli-waiting", "--config", config, "--parent", "project_id:p", "--api-url", standin.url]);
    expect(put).toMatchObject({ code: 0, stderr: "" });
    expect((await cli(["tenants", "get", "cli-waiting"])).stdout).toMatch(/\ntrace wait \(s\)\s+3600\n/);
    expect(JSON.parse((await cli(["traces", "waiting", "cli-waiting", "--json"])).stdout)).toMatchObject({
      traces: 1,
      routes_traces: true,
    });
  });

  it("says a tenant that does not route holds no trace back, naming the settings that would, rather than counting 0 alone", async () => {
    await cli(["tenants", "put", "cli-not-routing", "--parent", "project_id:p", "--passthrough"]);

    const table = await cli(["traces", "waiting", "cli-not-routing"]);
    const json = JSON.parse((await cli(["traces", "waiting", "cli-not-routing", "--json"])).stdout) as unknown;

    expect(table).toMatchObject({ code: 0, stderr: "" });
    expect(table.stdout).toBe(
      "cli-not-routing: 0 traces, 0 spans (0 bytes) waiting for their parent to be decided: it holds no trace back, as it has no routes and parent_from_attribute is off\n",
    );
    expect(json).toEqual({ tenant: "cli-not-routing", traces: 0, spans: 0, bytes: 0, routes_traces: false });
    expect((await cli(["tenants", "get", "cli-not-routing"])).stdout).not.toContain("trace wait");
  });

  it("says a tenant that stopped routing holds traces back for a day by the relay's clock, whatever the clock of the CLI's machine says", async () => {
    const config = tenantConfigFile();
    const route = { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:e" };
    writeFileSync(config, JSON.stringify({ routes: [route] }));
    await cli(["tenants", "put", "cli-stopped-routing", "--config", config, "--parent", "project_id:p", "--passthrough"]);
    writeFileSync(config, JSON.stringify({ routes: [] }));
    expect(await cli(["tenants", "put", "cli-stopped-routing", "--config", config, "--parent", "project_id:p"])).toMatchObject({ code: 0 });
    // The CLI's machine two days on (its Date.now), past the tenant's routed_until; the relay's clock is not.
    const shifted = "data:text/javascript,const%20now=Date.now;Date.now=()=>now()+172800000";
    const later = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${shifted}` };

    const table = await cli(["traces", "waiting", "cli-stopped-routing"], later);
    const json = JSON.parse((await cli(["traces", "waiting", "cli-stopped-routing", "--json"], later)).stdout) as unknown;

    expect(table).toEqual({
      code: 0,
      stdout: "cli-stopped-routing: 0 traces, 0 spans (0 bytes) waiting for their parent to be decided\n",
      stderr: "",
    });
    expect(json).toEqual({ tenant: "cli-stopped-routing", traces: 0, spans: 0, bytes: 0, routes_traces: true });
  });

  it("lists, replays and deletes dead letters", async () => {
    const ARCHIVED = '{"error": "Project archived",\n "detail": "restore it to send spans"}';
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-dead", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], { K: apiKey });
    const { token } = JSON.parse((await cli(["tokens", "issue", "cli-dead", "--json"])).stdout) as { token: string };
    for (let i = 0; i < 2; i++) {
      await standin.script(apiKey, [{ status: 400, body: ARCHIVED }]);
      await fetch(`${relay.url}/t/cli-dead/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${token}` },
        body: toProtobuf(trueFoundryTrace()).slice(),
      });
    }

    const list = await cli(["dead-letters", "list", "--tenant", "cli-dead", "--json"]);
    const [first, second] = JSON.parse(list.stdout) as Array<{ id: string; reason: string }>;
    expect(first!.reason).toBe(`Braintrust answered 400: ${ARCHIVED.replace("\n", " ")}`);
    // The whole reason, on its row: what tells one refusal from another is at its end. Beside it the
    // parent its spans were for: "Project archived" names no project, and a routing tenant has several.
    const rows = (await cli(["dead-letters", "list", "--tenant", "cli-dead"])).stdout.split("\n");
    expect(rows[0]).toMatch(/^ID\s+PARENT\s+SPANS\s+ATTEMPTS\s+DEAD-LETTERED\s+REASON$/);
    expect(rows[1]).toMatch(
      new RegExp(
        `^${first!.id}\\s+project_id:p\\s+3\\s+1\\s+\\S+\\s+Braintrust answered 400: \\{"error": "Project archived", "detail": "restore it to send spans"\\}$`,
      ),
    );
    // Not at a terminal, where it cannot ask, a delete without --yes deletes nothing.
    expect(await cli(["dead-letters", "delete", second!.id])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^tfy-relay: dead-letters delete asks to confirm, and stdin is not a terminal to ask at: give --yes to delete without asking\n/,
      ),
    });
    expect(JSON.parse((await cli(["dead-letters", "list", "--tenant", "cli-dead", "--json"])).stdout)).toHaveLength(2);
    expect(await cli(["dead-letters", "delete", second!.id, "--yes"])).toMatchObject({ code: 0 });
    expect(await cli(["dead-letters", "replay", "--tenant", "cli-dead"])).toMatchObject({ code: 0, stdout: "replayed 1 dead letter\n" });
    const deadline = Date.now() + 30_000;
    while ((await standin.received(apiKey)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await standin.received(apiKey)).toHaveLength(1);
    expect(JSON.parse((await cli(["dead-letters", "list", "--tenant", "cli-dead", "--json"])).stdout)).toEqual([]);
  });

  it("deletes every dead letter kept for a tenant at once, asking first", async () => {
    const apiKey = await standin.issueKey();
    await cli(["tenants", "put", "cli-dead-all", "--parent", "project_id:p", "--api-url", standin.url, "--api-key-env", "K"], {
      K: apiKey,
    });
    const { token } = JSON.parse((await cli(["tokens", "issue", "cli-dead-all", "--json"])).stdout) as { token: string };
    for (let i = 0; i < 3; i++) {
      await standin.script(apiKey, [{ status: 400, body: '{"error": "Project archived"}' }]);
      await fetch(`${relay.url}/t/cli-dead-all/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${token}` },
        body: toProtobuf(trueFoundryTrace()).slice(),
      });
    }
    const listed = async () =>
      (JSON.parse((await cli(["dead-letters", "list", "--tenant", "cli-dead-all", "--json"])).stdout) as Array<{ id: string }>).map(
        (d) => d.id,
      );
    const ids = await listed();
    expect(ids).toHaveLength(3);

    expect(await cli(["dead-letters", "delete", "--tenant", "cli-dead-all"])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^tfy-relay: dead-letters delete asks to confirm, and stdin is not a terminal to ask at/),
    });
    expect(await listed()).toEqual(ids);
    expect(await cli(["dead-letters", "delete", ids[0]!, "--tenant", "cli-dead-all", "--yes"])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^tfy-relay: say which, one of: <id> or --tenant TENANT\n/),
    });
    expect(await cli(["dead-letters", "delete", "--yes"])).toMatchObject({ code: 2 });
    expect(await listed()).toEqual(ids);

    const deleted = await cli(["dead-letters", "delete", "--tenant", "cli-dead-all", "--yes", "--json"]);
    expect(deleted.code).toBe(0);
    expect((JSON.parse(deleted.stdout) as { deleted: string[] }).deleted.sort()).toEqual([...ids].sort());
    expect(await listed()).toEqual([]);
    expect(await cli(["dead-letters", "delete", "--tenant", "cli-dead-all", "--yes"])).toEqual({
      code: 0,
      stdout: "deleted 0 dead letters of cli-dead-all\n",
      stderr: "",
    });
    expect(await cli(["dead-letters", "delete", "--tenant", "cli-dead-al", "--yes"])).toMatchObject({
      code: 1,
      stderr: "tfy-relay: no such tenant: cli-dead-al\n",
    });
  });

  it("says there is no such tenant when a mistyped --tenant finds no dead letters, rather than replaying nothing and exiting 0", async () => {
    await cli(["tenants", "put", "cli-typo", "--parent", "project_id:p", "--passthrough"]);

    for (const command of ["list", "replay"])
      expect(await cli(["dead-letters", command, "--tenant", "cli-tpyo"])).toMatchObject({
        code: 1,
        stdout: "",
        stderr: "tfy-relay: no such tenant: cli-tpyo\n",
      });
    // A tenant that exists with nothing dead-lettered is no mistake.
    expect(await cli(["dead-letters", "replay", "--tenant", "cli-typo"])).toMatchObject({ code: 0, stdout: "replayed 0 dead letters\n" });
    expect(JSON.parse((await cli(["dead-letters", "list", "--tenant", "cli-typo", "--json"])).stdout)).toEqual([]);
  });

  it("prints a failure with --json as one line of JSON on stderr, with the relay's status when it answered, for a script to tell them apart", async () => {
    const closedPort = await freePort();
    const failures = {
      missing: await cli(["tenants", "get", "no-such-tenant", "--json"]),
      refused: await cli(["--json", "tenants", "list"], { RELAY_ADMIN_TOKEN: "wrong" }),
      unreached: await cli(["tenants", "list", "--json"], {}, `http://127.0.0.1:${closedPort}`),
      usage: await cli(["--json", "tenants", "remove", "acme"]),
    };

    expect(
      Object.fromEntries(Object.entries(failures).map(([what, run]) => [what, [run.code, run.stdout, JSON.parse(run.stderr)]])),
    ).toEqual({
      missing: [1, "", { error: { message: "no such tenant: no-such-tenant", status: 404 } }],
      refused: [
        1,
        "",
        { error: { message: expect.stringMatching(/^the relay refused the admin token .*: check RELAY_ADMIN_TOKEN$/), status: 401 } },
      ],
      unreached: [1, "", { error: { message: expect.stringMatching(/^cannot reach the relay at .*ECONNREFUSED/) } }],
      usage: [2, "", { error: { message: "unknown command: tenants remove acme" } }],
    });
    // Without --json, the line people read, as before.
    expect(await cli(["tenants", "get", "no-such-tenant"])).toMatchObject({
      code: 1,
      stderr: "tfy-relay: no such tenant: no-such-tenant\n",
    });
  });

  it("says an https --url to the dev server reaches one that speaks plain http, rather than asking whether it runs", async () => {
    const https = relay.url.replace("http:", "https:");

    expect(await cli(["tenants", "list"], {}, https)).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `tfy-relay: cannot reach the relay at ${https}: it answers plain http, not https, so nothing was sent; the local dev server (wrangler dev) is ${relay.url}\n`,
    });
  });

  it.each([
    ["an unknown tenant", 1, ["tenants", "get", "no-such-tenant"], {}, /^tfy-relay: no such tenant: no-such-tenant\n$/],
    [
      "a wrong admin token",
      1,
      ["tenants", "list"],
      { RELAY_ADMIN_TOKEN: "wrong" },
      /^tfy-relay: the relay refused the admin token \(missing or wrong admin token\): check RELAY_ADMIN_TOKEN\n$/,
    ],
    [
      "no admin token",
      1,
      ["tenants", "list"],
      { RELAY_ADMIN_TOKEN: undefined },
      /^tfy-relay: set RELAY_ADMIN_TOKEN to the relay's ADMIN_TOKEN\n$/,
    ],
    [
      "an invalid config",
      1,
      ["tenants", "put", "cli-bad", "--parent", "workspace:x"],
      {},
      /^tfy-relay: --parent: must be project_id:<id>, project_name:<name> or experiment_id:<id>/,
    ],
    [
      "a new tenant without --parent",
      2,
      ["tenants", "put", "cli-no-parent", "--passthrough"],
      {},
      /^tfy-relay: tenant cli-no-parent does not exist yet: give --parent \(project_id:…, project_name:… or experiment_id:…\) to create it\n\nusage:/,
    ],
    [
      "a --config file that is not there",
      2,
      ["tenants", "put", "cli-bad", "--config", "/nonexistent/tenant.json"],
      {},
      /^tfy-relay: cannot read --config \/nonexistent\/tenant\.json: ENOENT\n$/,
    ],
    [
      "a --config file that is not JSON",
      2,
      ["tenants", "put", "cli-bad", "--config", "README.md"],
      {},
      /^tfy-relay: --config README\.md is not JSON: /,
    ],
    ["an unknown command", 2, ["tenants", "explode"], {}, /^tfy-relay: unknown command: tenants explode\n\nusage:/],
    [
      "an unknown command with a key in it, not repeated",
      2,
      ["tenants", "sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"],
      {},
      /^tfy-relay: unknown command: tenants \(an argument not repeated: it may be a key\)\n\nusage:/,
    ],
    ["replay without a target", 2, ["dead-letters", "replay"], {}, /^tfy-relay: say which, one of: --id ID, --tenant TENANT or --all/],
    [
      "replay with two targets",
      2,
      ["dead-letters", "replay", "--tenant", "acme", "--all"],
      {},
      /^tfy-relay: say which, one of: --id ID, --tenant TENANT or --all/,
    ],
    [
      "a key and passthrough at once",
      2,
      ["tenants", "put", "acme", "--api-key-env", "HOME", "--passthrough"],
      {},
      /^tfy-relay: --api-key-env stores a key and --passthrough removes it: give one/,
    ],
    ["a flag of another command", 2, ["tenants", "list", "--all"], {}, /^tfy-relay: tenants list does not take --all\n\nusage:/],
    [
      "a flag of another command, after an argument",
      2,
      ["tokens", "issue", "acme", "--parent", "x"],
      {},
      /^tfy-relay: tokens issue does not take --parent\n\nusage:/,
    ],
    ["an argument too many", 2, ["tenants", "get", "acme", "extra"], {}, /^tfy-relay: too many arguments for tenants get: extra\n\nusage:/],
    [
      "an option no command takes",
      2,
      ["tenants", "list", "--frobnicate"],
      {},
      /^tfy-relay: unknown option --frobnicate \(an argument starting with '-' goes after '--'\)\n\nusage:/,
    ],
    [
      "an option no command takes, a key in it, not repeated",
      2,
      ["tenants", "list", "--sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"],
      {},
      /^tfy-relay: unknown option \(an argument not repeated: it may be a key\) /,
    ],
    [
      "a key given as --api-key, where other users of the machine could read it",
      2,
      ["tenants", "put", "acme", "--api-key", "sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"],
      {},
      /^tfy-relay: a key is never given on the command line: put it in an environment variable and name that with --api-key-env VAR\n\nusage:/,
    ],
    [
      "a token given to --api-key-env that has a variable name's letters, not repeated",
      2,
      ["tenants", "put", "acme", "--api-key-env", "tbr_0123456789abcdef_AbCdEfGhIjKlMnOp"],
      {},
      /^tfy-relay: the environment variable --api-key-env names is not set, or empty\n\nusage:/,
    ],
    [
      "a key given to --api-key-env, not repeated",
      2,
      ["tenants", "put", "acme", "--api-key-env", "sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"],
      {},
      /^tfy-relay: --api-key-env takes the name of an environment variable \(letters, digits and _\), not its value\n\nusage:/,
    ],
    [
      "a key typed as an argument too many, not repeated",
      2,
      ["tenants", "put", "acme", "sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "extra"],
      {},
      /^tfy-relay: too many arguments for tenants put: \(an argument not repeated: it may be a key\) extra\n\nusage:/,
    ],
    [
      "a usage mistake, not the admin token it would need",
      2,
      ["stats", "--window", "2h"],
      { RELAY_ADMIN_TOKEN: undefined },
      /^tfy-relay: --window is one of 5m, 1h, 24h, total\n\nusage:/,
    ],
    [
      "replay without a target, not the admin token it would need",
      2,
      ["dead-letters", "replay"],
      { RELAY_ADMIN_TOKEN: undefined },
      /^tfy-relay: say which, one of: --id ID, --tenant TENANT or --all/,
    ],
  ] as const)("reports %s clearly and exits %i", async (_what, code, args, env, message) => {
    const run = await cli([...args], env);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
  });

  it.each([
    [["tenants", "get", "a/b"], /^tfy-relay: tenant: ids are 1-64 characters/],
    [["tenants", "get", "x?y"], /^tfy-relay: tenant: ids are 1-64 characters/],
    [["tenants", "delete", "a#b", "--yes"], /^tfy-relay: tenant: ids are 1-64 characters/],
    [["tenants", "get", ".."], /^tfy-relay: ".." cannot be an id/],
    [["dead-letters", "delete", "x/../y", "--yes"], /^tfy-relay: no such dead letter: "x\/\.\.\/y"\n$/],
    [["dead-letters", "delete", "x%2Fy", "--yes"], /^tfy-relay: no such dead letter: "x%2Fy"\n$/],
    [["dead-letters", "list", "--tenant", "x#y"], /^tfy-relay: --tenant: must be a tenant id\n$/],
  ] as const)("never lets the argument in %j reach another route or query", async (args, message) => {
    const run = await cli([...args]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
  });

  it("puts nothing over a change made between its read and its write, and says so", async () => {
    const created = await admin("/tenants/cli-race", { method: "PUT", body: JSON.stringify({ parent: "project_name:before" }) });
    expect(created.status).toBe(201);
    // Between the CLI's GET and its PUT, another operator changes the tenant.
    const between = await relayProxy({ beforePut: () => changedBySomeoneElse("cli-race") });

    const put = await cli(["tenants", "put", "cli-race", "--parent", "project_name:mine"], {}, between.url);
    await between.close();
    const now = await (await admin("/tenants/cli-race")).json();

    expect(between.received.map((r) => r.method)).toEqual(["GET", "PUT"]);
    expect(put).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "tfy-relay: tenant cli-race was changed (or created, or deleted) by someone else while this ran: nothing was changed; run the command again\n",
    });
    expect(now).toMatchObject({ parent: "project_name:theirs" });
  });

  it("changes a tenant whose ETag came back weak, as a proxy that compresses the answer makes it", async () => {
    const created = await admin("/tenants/cli-weak", { method: "PUT", body: JSON.stringify({ parent: "project_name:before" }) });
    expect(created.status).toBe(201);
    const compressing = await relayProxy({ etag: (tag) => (tag ? `W/${tag}` : undefined) });

    const put = await cli(["tenants", "put", "cli-weak", "--parent", "project_name:after"], {}, compressing.url);
    await compressing.close();

    expect(put).toMatchObject({ code: 0, stderr: "" });
    expect(await (await admin("/tenants/cli-weak")).json()).toMatchObject({ parent: "project_name:after" });
    expect(compressing.received.find((r) => r.method === "PUT")?.headers["if-match"]).toBe(created.headers.get("etag"));
  });

  it("puts nothing back, unconditionally, of a tenant whose ETag was lost on the way, and says so", async () => {
    const created = await admin("/tenants/cli-noetag", { method: "PUT", body: JSON.stringify({ parent: "project_name:before" }) });
    expect(created.status).toBe(201);
    const stripping = await relayProxy({ etag: () => undefined, beforePut: () => changedBySomeoneElse("cli-noetag") });

    const put = await cli(["tenants", "put", "cli-noetag", "--parent", "project_name:mine"], {}, stripping.url);
    await stripping.close();

    expect(put).toMatchObject({
      code: 1,
      stderr:
        "tfy-relay: the relay's answer for tenant cli-noetag came without its ETag, so it cannot be put back only if unchanged: use --config, which puts the file as it is, whatever changed meanwhile\n",
    });
    expect(stripping.received.map((r) => r.method)).toEqual(["GET"]);
  });

  it("stores no key, and says so, when --api-key-env names a variable every object has but the environment does not", async () => {
    const put = await cli(["tenants", "put", "cli-proto", "--parent", "project_id:p", "--api-key-env", "constructor"]);

    expect(put).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^tfy-relay: environment variable constructor is not set, or empty/),
    });
    expect((await admin("/tenants/cli-proto")).status).toBe(404);
  });

  it("revokes no token, and deletes nothing, for a token id that reads like a path", async () => {
    await cli(["tenants", "put", "cli-paths", "--parent", "project_id:p"]);

    expect(await cli(["tokens", "revoke", "cli-paths", "../../cli-paths", "--yes"])).toMatchObject({
      code: 1,
      stderr: 'tfy-relay: tenant cli-paths has no token "../../cli-paths"\n',
    });
    expect(await cli(["tenants", "get", "cli-paths"])).toMatchObject({ code: 0 });
  });

  it("lists its commands in --help as the README's table does, in its order", async () => {
    // A command's name: its words up to the first argument or flag, as the CLI reads it.
    const names = (usages: string[]) =>
      usages.map((usage) => {
        const words = usage.split(" ");
        const end = words.findIndex((word) => !/^[a-z-]+$/.test(word));
        return words.slice(0, end < 0 ? words.length : end).join(" ");
      });
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("### The `tfy-relay` CLI"), readme.indexOf("## Configuring TrueFoundry"));
    const documented = Array.from(table.matchAll(/^\| (`.*?) +\|/gm), ([, cell]) =>
      Array.from(cell!.matchAll(/`([^`]+)`/g), ([, usage]) => usage!),
    ).flat();
    const help = await cli(["--help"]);
    const listed = help.stdout
      .split("\n\n")[1]!
      .split("\n")
      .map((line) => line.trim());

    expect(names(documented).length).toBeGreaterThan(10);
    expect(names(listed)).toEqual(names(documented));

    // And says what each flag does, beside the command that takes it.
    const explained = Array.from(help.stdout.matchAll(/^ {2}(--[a-z-]+) /gm), ([, flag]) => flag);
    expect(explained).toEqual([
      "--url",
      "--json",
      "--config",
      "--parent",
      "--api-url",
      "--api-key-env",
      "--passthrough",
      "--id",
      "--tenant",
      "--all",
      "--yes",
      "--window",
    ]);
  });

  it("refuses a --config file that is not JSON saying where, without the text around a key pasted in it", async () => {
    const config = tenantConfigFile();
    const env = { RELAY_ADMIN_TOKEN: "x" };
    // Its quotes forgotten, as a key pasted in can be: V8's message would quote it.
    writeFileSync(config, '{"parent": "project_name:p", "braintrust": {"api_key": sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ}}');
    const pasted = await runCli("http://127.0.0.1:1", ["tenants", "put", "acme", "--config", config], env);
    writeFileSync(config, '{"parent": "project_name:p",}');
    const trailingComma = await runCli("http://127.0.0.1:1", ["tenants", "put", "acme", "--config", config], env);

    expect(pasted).toMatchObject({
      code: 2,
      stderr: `tfy-relay: --config ${config} is not JSON: the text around the error is not shown, as it may hold a key (\`jq . ${config}\` shows where)\n`,
    });
    expect(trailingComma).toMatchObject({
      code: 2,
      stderr: `tfy-relay: --config ${config} is not JSON: Expected double-quoted property name in JSON at position 28 (line 1 column 29)\n`,
    });
  });

  it("refuses a --config file that gives a key twice in one object, which JSON.parse would read as its last alone", async () => {
    const config = tenantConfigFile();
    writeFileSync(
      config,
      '{"parent": "project_name:p", "routes": [{"match": {"field": "a", "equals": "b", "equals": "c"}, "parent": "project_name:q"}]}',
    );

    const refused = await runCli("http://127.0.0.1:1", ["tenants", "put", "acme", "--config", config], { RELAY_ADMIN_TOKEN: "x" });

    expect(refused).toMatchObject({
      code: 2,
      stderr: `tfy-relay: --config ${config}: routes.0.match.equals: given twice in one object, where only the last would be read\n`,
    });
  });

  it("reports a bad or unreachable URL", async () => {
    const run = (url: string) =>
      promisify(execFile)("npx", ["tfy-relay", "--url", url, "tenants", "list"], {
        cwd: root,
        env: { ...process.env, RELAY_ADMIN_TOKEN: "x" },
      }).catch((e: CliRun) => e);

    expect(await run("not a url")).toMatchObject({ code: 1, stderr: 'tfy-relay: --url "not a url" is not an http(s) URL\n' });
    for (const url of [
      "ftp://admin:s3cret@relay.example",
      "https://admin:s3cret@relay.example:99999",
      "htps//admin:s3cret@relay.example",
      "3f9c2a7b1e8d4c6a9b0e2f4d6c8a1b3e",
      // A token given as a parameter of a URL that does not parse (its port, a space pasted in).
      "https://relay.example.com:99999/?admin_token=s3cret-0123456789abcdef",
      "https://relay.example.com /?token=s3cret-0123456789abcdef",
    ]) {
      expect(await run(url)).toMatchObject({
        code: 1,
        stderr: "tfy-relay: --url (not shown: it may hold a password or token) is not an http(s) URL\n",
      });
    }
    // Given by RELAY_URL, the address is named as that.
    const fromEnvironment = await promisify(execFile)("npx", ["tfy-relay", "tenants", "list"], {
      cwd: root,
      env: { ...process.env, RELAY_ADMIN_TOKEN: "x", RELAY_URL: "http://127.0.0.1:8811/admin" },
    }).catch((e: CliRun) => e);
    expect(fromEnvironment).toMatchObject({
      code: 1,
      stderr: "tfy-relay: RELAY_URL must be the relay's address alone, without a path: give http://127.0.0.1:8811\n",
    });
    const alone = "tfy-relay: --url must be the relay's address alone, without a path, user name, password, query or fragment\n";
    for (const url of ["https://admin:s3cret@relay.example", "https://relay.example/?region=eu", "https://relay.example/#x"]) {
      const refused = await run(url);
      expect(refused).toMatchObject({ code: 1, stderr: alone });
      expect((refused as CliRun).stderr).not.toContain("s3cret");
    }
    // A path alone (the console's address, copied from the browser) is refused naming the address to give instead.
    for (const [url, origin] of [
      ["http://127.0.0.1:8811/admin/", "http://127.0.0.1:8811"],
      ["https://relay.example/relay", "https://relay.example"],
    ] as const) {
      expect(await run(url)).toMatchObject({
        code: 1,
        stderr: `tfy-relay: --url must be the relay's address alone, without a path: give ${origin}\n`,
      });
    }
    // Plain http to another machine would carry the admin token in clear: refused before anything is sent.
    // A name under .localhost too: Node asks DNS for it, where a browser takes it to this machine.
    for (const origin of ["http://relay.example.com", "http://relay.localhost:8787"]) {
      expect(await run(origin)).toMatchObject({
        code: 1,
        stderr: `tfy-relay: --url ${origin} is plain http to another machine, where the admin token would travel in clear: use https (http only at localhost)\n`,
      });
    }
    // Found free just before it is tried: any other process starting meanwhile may take a port found free earlier.
    const closedPort = await freePort();
    expect(await run(`http://127.0.0.1:${closedPort}`)).toMatchObject({
      code: 1,
      stderr: `tfy-relay: cannot reach the relay at http://127.0.0.1:${closedPort} (ECONNREFUSED): is it running? Give its address with --url or RELAY_URL\n`,
    });
  });
});

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A local server that is not the relay: it answers as `answer` says and keeps every request it got. */
async function otherServer(answer: (req: IncomingMessage, res: ServerResponse, body: string) => unknown) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    received.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
    await answer(req, res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A tenant as the admin API answers for it, `fields` changed. */
function tenantAnswer(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "acme",
    parent: "project_id:p",
    auth: "passthrough",
    braintrust: { api_url: "https://api.braintrust.dev" },
    tokens: [],
    routes: [],
    parent_from_attribute: false,
    trace_wait_seconds: 600,
    translate: true,
    keep_source_attributes: false,
    keep_caller_parent: false,
    drop_non_ai_spans: false,
    redact: { keys: [], values: [] },
    updated_at: "2026-12-02T00:00:00.000Z",
    ...fields,
  };
}

describe("tfy-relay, against a server that is not the relay", () => {
  it('takes an empty value for no value at all: `--tenant ""` (an unset $TENANT) is a usage mistake, never every tenant', async () => {
    const server = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    try {
      for (const args of [
        ["dead-letters", "replay", "--tenant", ""],
        ["dead-letters", "replay", "--id="],
        ["dead-letters", "list", "--tenant", ""],
        ["tenants", "put", "acme", "--parent", ""],
      ]) {
        const run = await runCli(server.url, args);
        const flag = args.find((a) => a.startsWith("--"))!.replace("=", "");
        expect(run, args.join(" ")).toMatchObject({
          code: 2,
          stderr: expect.stringMatching(new RegExp(`^tfy-relay: ${flag} needs a value, not an empty one\n`)),
        });
      }
      expect(server.received).toEqual([]);
      // Node's own refusal, which runs to several lines, in its first.
      const ambiguous = await runCli(server.url, ["dead-letters", "replay", "--tenant", "--all"]);
      expect(ambiguous.code).toBe(2);
      expect(ambiguous.stderr.split("\n").slice(0, 3)).toEqual([
        "tfy-relay: Option '--tenant' argument is ambiguous.",
        "",
        "usage: tfy-relay [--url URL] [--json] <command>",
      ]);
    } finally {
      await server.close();
    }
  });

  it("says a change whose connection broke after it was sent may have been made, rather than that the relay was not reached", async () => {
    const server = await otherServer((req) => req.socket.destroy());

    const run = await runCli(server.url, ["tokens", "issue", "acme"]);
    await server.close();

    expect(server.received.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /admin/tenants/acme/tokens"]);
    expect(run).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        new RegExp(
          `^tfy-relay: the connection to the relay at ${server.url} broke before its answer came \\(\\w+\\): the call may have been carried out; check before running it again\n$`,
        ),
      ),
    });
  });

  it("says the relay was not reached when https meets a server that speaks plain http: nothing was sent", async () => {
    const server = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    const https = server.url.replace("http:", "https:");

    const run = await runCli(https, ["tokens", "issue", "acme"]);
    await server.close();

    expect(server.received).toEqual([]);
    expect(run).toMatchObject({
      code: 1,
      stderr: `tfy-relay: cannot reach the relay at ${https}: it answers plain http, not https, so nothing was sent; the local dev server (wrangler dev) is ${server.url}\n`,
    });
  });

  it("prints what earlier pages of a replay did when a later page is refused, then the refusal", async () => {
    const server = await otherServer((_req, res, body) => {
      const { cursor } = JSON.parse(body) as { cursor?: string };
      const answer = cursor
        ? [
            503,
            {
              error: {
                message: "tenant acme's Durable Object did not answer to claim its dead letters: nothing was replayed, to replay again",
              },
            },
          ]
        : [200, { replayed: ["acme:1", "acme:2"], orphaned: [], replaying: [], unavailable: [], cursor: "page-2" }];
      res.writeHead(answer[0] as number, { "content-type": "application/json" }).end(JSON.stringify(answer[1]));
    });

    const run = await runCli(server.url, ["dead-letters", "replay", "--tenant", "acme"]);
    await server.close();

    expect(run).toEqual({
      code: 1,
      stdout: "replayed 2 dead letters\n",
      stderr:
        "tfy-relay: tenant acme's Durable Object did not answer to claim its dead letters: nothing was replayed, to replay again (on page 2: what the pages before it did is above)\n",
    });
  });

  it("prints the earlier pages' outcome whole before a later page's failure, however long, to a pipe", async () => {
    // Enough to fill a pipe many times over: exiting at once would cut it off.
    const replayed = Array.from({ length: 20_000 }, (_, i) => `acme:dead-letter-${i}`);
    const server = await otherServer((req, res, body) => {
      const { cursor } = JSON.parse(body) as { cursor?: string };
      if (cursor) return req.socket.destroy();
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ replayed, orphaned: [], replaying: [], unavailable: [], cursor: "page-2" }));
    });

    const run = await runCli(server.url, ["dead-letters", "replay", "--all", "--json"]);
    await server.close();

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ replayed, orphaned: [], replaying: [], unavailable: [], incomplete: true });
  });

  it("says a change whose answer broke off after its status came may have been carried out", async () => {
    const server = await otherServer(async (_req, res) => {
      res.writeHead(201, { "content-type": "application/json", "content-length": "100" });
      res.write('{"token": "tbr_');
      await new Promise((resolve) => setTimeout(resolve, 200));
      res.socket?.destroy();
    });

    const run = await runCli(server.url, ["tokens", "issue", "acme"]);
    await server.close();

    expect(run).toMatchObject({
      code: 1,
      stderr: `tfy-relay: the connection to the relay at ${server.url} broke while its answer (201) was read: the call may have been carried out; check before running it again\n`,
    });
  });

  it("exits 1 when a replay leaves dead letters whose tenant's object did not answer, for a script to replay again", async () => {
    const server = await otherServer((_req, res) =>
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ replayed: ["globex:1"], orphaned: [], replaying: [], unavailable: ["acme:3"], cursor: null })),
    );

    const run = await runCli(server.url, ["dead-letters", "replay", "--all"]);
    await server.close();

    expect(run).toEqual({
      code: 1,
      stdout:
        "replayed 1 dead letter; 1 dead letter not replayed, their tenant's Durable Object did not answer (replay again with --tenant): acme\n",
      stderr: "",
    });
  });

  it("says which dead letters a delete of a tenant's deleted before one failed, and counts one already gone as deleted", async () => {
    const deadLetter = (id: string) => ({
      id,
      tenant: "acme",
      parent: "project_id:p",
      reason: "x",
      attempts: 1,
      spans: 1,
      dead_lettered_at: "2026-12-07T00:00:00.000Z",
    });
    const server = await otherServer((req, res) => {
      if (req.method === "GET")
        return res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ dead_letters: ["acme:1", "acme:2", "acme:3"].map(deadLetter), cursor: null }));
      if (req.url?.endsWith("acme%3A1")) return res.writeHead(204).end();
      if (req.url?.endsWith("acme%3A2"))
        return res.writeHead(404, { "content-type": "application/json" }).end('{"error": {"message": "no such dead letter"}}');
      res.writeHead(503, { "content-type": "application/json" }).end('{"error": {"message": "R2 did not answer"}}');
    });

    const run = await runCli(server.url, ["dead-letters", "delete", "--tenant", "acme", "--yes", "--json"]);
    await server.close();

    expect(server.received.map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual([
      "GET /admin/dead-letters",
      "DELETE /admin/dead-letters/acme%3A1",
      "DELETE /admin/dead-letters/acme%3A2",
      "DELETE /admin/dead-letters/acme%3A3",
    ]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ deleted: ["acme:1", "acme:2"], incomplete: true });
    expect(JSON.parse(run.stderr).error.message).toBe("R2 did not answer (deleting acme:3: those deleted before it are above)");
  });

  it("names the tenants earlier pages of keys reseal found unreadable when a later page fails", async () => {
    const page = { resealed: [], current: [], unreadable: [], changed: [], replica_behind: [], failed: [] };
    const server = await otherServer((req, res, body) => {
      const { cursor } = JSON.parse(body) as { cursor?: string };
      if (cursor) return req.socket.destroy();
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ ...page, resealed: ["a"], unreadable: ["lost"], cursor: "page-2" }));
    });

    const run = await runCli(server.url, ["keys", "reseal", "--json"]);
    await server.close();

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ ...page, resealed: ["a"], unreadable: ["lost"], incomplete: true });
    expect(JSON.parse(run.stderr).error.message).toMatch(
      /^the connection to the relay at .* broke before its answer came .*\(on page 2: what the pages before it did is above\)$/,
    );
  });

  it("refuses a flag given twice, rather than one of its values chosen: --tenant a --tenant b would replay b's alone", async () => {
    const server = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));

    const run = await runCli(server.url, ["dead-letters", "replay", "--tenant", "acme", "--tenant", "globex"]);
    await server.close();

    expect(run).toMatchObject({ code: 2, stderr: expect.stringMatching(/^tfy-relay: --tenant is given twice: give it once\n/) });
    expect(server.received).toEqual([]);
  });

  it("prints a refusal's message on one line, without its control characters", async () => {
    const server = await otherServer((_req, res) =>
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: "boom \u001b[2J\u001b[31mred\nsecond line" } })),
    );

    const run = await runCli(server.url, ["tenants", "list"]);
    await server.close();

    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain("\u001b");
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("refuses a --config whose braintrust is no object, rather than send it as one field per character", async () => {
    const config = tenantConfigFile();
    // The key pasted as braintrust's value, rather than as its api_key.
    writeFileSync(config, JSON.stringify({ parent: "project_name:p", braintrust: "sk-PASTED-abcdefghijklmnop" }));
    const server = await otherServer((_req, res) => res.writeHead(400, { "content-type": "application/json" }).end("{}"));

    const run = await runCli(server.url, ["tenants", "put", "acme", "--config", config]);
    await server.close();

    expect(run).toMatchObject({ code: 2, stderr: `tfy-relay: --config ${config}: braintrust must be an object, {"api_url": …}\n` });
    expect(server.received).toEqual([]);
  });

  it("reads a --config file that starts with a byte order mark, as Windows editors and PowerShell write UTF-8", async () => {
    const config = tenantConfigFile();
    writeFileSync(config, `\ufeff${JSON.stringify({ parent: "project_name:p" })}`);
    const server = await otherServer((_req, res) =>
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "refused" } })),
    );

    const run = await runCli(server.url, ["tenants", "put", "acme", "--config", config]);
    await server.close();

    expect(run).toMatchObject({ code: 1, stderr: "tfy-relay: refused\n" });
    expect(server.received.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ parent: "project_name:p" }]);
  });

  it("says in one line, never with the token, that RELAY_ADMIN_TOKEN holds what no header can carry, and that an answer broke off", async () => {
    const token = "dev-admin-token-0123456789abcdef";
    const broken = await otherServer(async (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"tenants": [');
      // Broken once the answer's head is on its way: the client is reading its body.
      await new Promise((resolve) => setTimeout(resolve, 200));
      res.socket?.destroy();
    });
    try {
      const badToken = await runCli(broken.url, ["tenants", "list"], { RELAY_ADMIN_TOKEN: `${token}\nx` });
      expect(badToken).toMatchObject({
        code: 1,
        stderr: "tfy-relay: RELAY_ADMIN_TOKEN holds a character no HTTP header can carry, such as a line break\n",
      });
      expect(await runCli(broken.url, ["tenants", "list"])).toMatchObject({
        code: 1,
        stderr: `tfy-relay: the connection to the relay at ${broken.url} broke while its answer was read: try again\n`,
      });
    } finally {
      await broken.close();
    }
  });

  it("follows no redirect, so a tenant's key in a PUT goes nowhere else, and says so in one line", async () => {
    const elsewhere = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    const redirecting = await otherServer((req, res) => {
      if (req.method === "GET")
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "no such tenant: acme" } }));
      else res.writeHead(308, { location: `${elsewhere.url}/admin/tenants/acme` }).end();
    });

    const put = await cli(
      ["tenants", "put", "acme", "--parent", "project_id:p", "--api-key-env", "CLI_TEST_KEY"],
      {
        CLI_TEST_KEY: "sk-SECRET-never-sent-elsewhere",
      },
      redirecting.url,
    );
    await Promise.all([elsewhere.close(), redirecting.close()]);

    expect(redirecting.received.map((r) => r.method)).toEqual(["GET", "PUT"]);
    expect(redirecting.received[1]!.body).toContain("sk-SECRET-never-sent-elsewhere");
    expect(elsewhere.received).toEqual([]);
    expect(put).toEqual({
      code: 1,
      stdout: "",
      stderr: `tfy-relay: ${redirecting.url} answered 308, a redirect to ${elsewhere.url}/admin/tenants/acme: the CLI does not follow redirects; point --url at the relay itself\n`,
    });
  });

  it("judges whether a tenant holds traces back from its view when a relay from before its waiting-traces said so leaves it out", async () => {
    const tenant = (routes: unknown[], routedUntil?: string) =>
      tenantAnswer({ routes, ...(routedUntil ? { routed_until: routedUntil } : {}) });
    const waiting = { tenant: "acme", traces: 0, spans: 0, bytes: 0 };
    const relayOf = (view: unknown) =>
      otherServer((req, res) =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(req.url?.endsWith("/waiting-traces") ? waiting : view)),
      );
    const notRouting = await relayOf(tenant([]));
    const stopped = await relayOf(tenant([], new Date(Date.now() + 3_600_000).toISOString()));

    const runs = {
      notRouting: await cli(["traces", "waiting", "acme", "--json"], {}, notRouting.url),
      stopped: await cli(["traces", "waiting", "acme", "--json"], {}, stopped.url),
    };
    await notRouting.close();
    await stopped.close();

    expect(notRouting.received.map((r) => r.path)).toEqual(["/admin/tenants/acme/waiting-traces", "/admin/tenants/acme"]);
    expect(JSON.parse(runs.notRouting.stdout)).toEqual({ ...waiting, routes_traces: false });
    expect(JSON.parse(runs.stopped.stdout)).toEqual({ ...waiting, routes_traces: true });
  });

  it("prints --json as the relay sent it: its keys in its order, a model named __proto__ kept", async () => {
    const usage = { calls: 5, prompt_tokens: 50, completion_tokens: 5, cost_usd: 0.01 };
    // The relay's order, not its schema's; and keys the CLI does not know.
    const { id, parent, braintrust, ...rest } = tenantAnswer({ auth: "stored_key" });
    const tenant = { id, parent, auth: "stored_key", future_field: { kept: true }, braintrust, ...rest };
    const summary = {
      requests: { "200": 1 },
      spans: { received: 3, accepted: 3, rejected: { invalid: 0, refused_upstream: 0 }, delivered: 3, retried: 0, dead_lettered: 0 },
      upstream: { latency_ms: { p50: 5, p99: 9 } },
      llm_usage: "USAGE",
    };
    const windows = JSON.stringify({ last_5m: summary, last_1h: summary, last_24h: summary, total: summary });
    // A model named __proto__ is a model like any other, as the relay counts it.
    const statsText =
      `{"tenant":"acme","as_of":"2026-12-02T00:00:00.000Z","waiting_in_queue":0,"last_upstream_error":null,${windows.slice(1, -1)}}`.replaceAll(
        '"USAGE"',
        `{"__proto__":${JSON.stringify(usage)},"gpt-4o":${JSON.stringify(usage)}}`,
      );
    const server = await otherServer((req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(req.url?.includes("/stats") ? statsText : JSON.stringify(tenant)),
    );

    const get = await cli(["tenants", "get", "acme", "--json"], {}, server.url);
    const stats = await cli(["stats", "acme", "--json"], {}, server.url);
    await server.close();

    expect(get.stdout).toBe(`${JSON.stringify(tenant, null, 2)}\n`);
    expect(Object.keys(JSON.parse(stats.stdout).total.llm_usage)).toEqual(["__proto__", "gpt-4o"]);
  });

  it("names a tenant whose statistics the relay could not read on a line of its own, in the table and in --json, and exits 1", async () => {
    // The relay's page when one tenant's Durable Object did not answer, which no local relay can be made to give.
    const page = { tenants: [], unavailable: ["acme"], cursor: null };
    const server = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(page)));

    const shown = await cli(["stats"], {}, server.url);
    const json = await cli(["stats", "--json"], {}, server.url);
    await server.close();

    expect(shown.stdout).toMatch(/\nacme(\s+\?){9}\s+statistics unavailable: its Durable Object did not answer \(run it again\)\n/);
    expect(JSON.parse(json.stdout)).toEqual([{ tenant: "acme", unavailable: true }]);
    expect([shown.code, json.code]).toEqual([1, 1]);
  });

  it("reports an answer of another shape in one line, rather than crashing on it", async () => {
    const server = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));

    const get = await cli(["tenants", "get", "acme"], {}, server.url);
    const put = await cli(["tenants", "put", "acme", "--parent", "project_id:p"], {}, server.url);
    const list = await cli(["dead-letters", "list"], {}, server.url);
    await server.close();

    const notTheRelay = `tfy-relay: ${server.url} answered 200 with something that is not the relay's admin API`;
    expect(get).toEqual({ code: 1, stdout: "", stderr: `${notTheRelay} (id: Invalid input: expected string, received undefined)\n` });
    expect(put).toEqual(get);
    expect(list).toEqual({
      code: 1,
      stdout: "",
      stderr: `${notTheRelay} (dead_letters: Invalid input: expected array, received undefined)\n`,
    });
  });

  it("never prints the admin token or the key it sent that a server at --url echoes in its refusal, --json or not", async () => {
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    // A proxy's refusal in the shape of the relay's, quoting what it was sent.
    const server = await otherServer((req, res, body) => {
      // No tenant `newco` yet, so the put goes on to its PUT.
      const status = req.method === "PUT" ? 400 : req.url?.endsWith("/newco") ? 404 : 401;
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: `refused ${req.headers.authorization} with ${body}` } }));
    });

    const runs = [
      await cli(["tenants", "get", "acme"], {}, server.url),
      await cli(["tenants", "put", "newco", "--parent", "project_name:p", "--api-key-env", "KEY"], { KEY: key }, server.url),
      await cli(["--json", "stats", "acme"], {}, server.url),
    ];
    await server.close();

    expect(server.received.some((r) => r.body.includes(key))).toBe(true);
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("refused Bearer [the admin token]");
      expect(`${run.stdout}${run.stderr}`).not.toContain(ADMIN_TOKEN);
      expect(`${run.stdout}${run.stderr}`).not.toContain(key);
    }
  });

  it("reports a refusal of another shape as an answer that is not the relay's, not as the relay's refusal", async () => {
    const server = await otherServer((req, res) =>
      res.writeHead(req.url?.includes("/stats") ? 401 : 403, { "content-type": "application/json" }).end('{"message":"Forbidden"}'),
    );

    const get = await cli(["tenants", "get", "acme"], {}, server.url);
    const stats = await cli(["stats", "acme"], {}, server.url);
    await server.close();

    const notTheRelay = (status: number) => `tfy-relay: ${server.url} answered ${status} with something that is not the relay's admin API`;
    expect(get).toEqual({
      code: 1,
      stdout: "",
      stderr: `${notTheRelay(403)} (error: Invalid input: expected object, received undefined)\n`,
    });
    expect(stats).toEqual({
      code: 1,
      stdout: "",
      stderr: `${notTheRelay(401)} (error: Invalid input: expected object, received undefined)\n`,
    });
  });

  it("stops paging when a server gives back a cursor already sent, rather than ask (and replay) the same page without end", async () => {
    const json = (res: ServerResponse, body: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    const listing = await otherServer((_req, res) =>
      json(res, { tenants: [{ id: "acme", parent: "project_id:p", auth: "passthrough" }], cursor: "same" }),
    );
    const replaying = await otherServer((_req, res) =>
      json(res, { replayed: ["acme:0123456789abcdef"], orphaned: [], replaying: [], unavailable: [], cursor: "same" }),
    );

    const list = await runCli(listing.url, ["tenants", "list"]);
    const replay = await runCli(replaying.url, ["dead-letters", "replay", "--all", "--json"]);
    await Promise.all([listing.close(), replaying.close()]);

    // The first page, then the page its cursor names, whose cursor is the one just sent: no third call.
    expect([listing.received.length, replaying.received.length]).toEqual([2, 2]);
    const stopped = "the relay gave back a cursor it had given before: stopped, rather than ask for that page again";
    expect(list).toMatchObject({ code: 1, stderr: `tfy-relay: ${stopped}\n` });
    // Each page replayed was replayed: the output says so, marked incomplete.
    expect(replay.code).toBe(1);
    expect(JSON.parse(replay.stdout)).toEqual({
      replayed: ["acme:0123456789abcdef", "acme:0123456789abcdef"],
      orphaned: [],
      replaying: [],
      unavailable: [],
      incomplete: true,
    });
    expect(JSON.parse(replay.stderr)).toEqual({ error: { message: `${stopped} (on page 2: what the pages before it did is above)` } });
  });

  it("names a difference under a key the server chose on one line, without its control characters", async () => {
    const summary = {
      requests: {},
      spans: { received: 0, accepted: 0, rejected: { invalid: 0, refused_upstream: 0 }, delivered: 0, retried: 0, dead_lettered: 0 },
      upstream: { latency_ms: { p50: null, p99: null } },
      // A model's name is an upstream's words: here a terminal's escape codes and a line break.
      llm_usage: { "evil\u001b[2J\nINJECTED LINE": 5 },
    };
    const report = { tenant: "acme", as_of: "x", waiting_in_queue: 0, last_upstream_error: null };
    const server = await otherServer((_req, res) =>
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ ...report, last_5m: summary, last_1h: summary, last_24h: summary, total: summary })),
    );

    const run = await runCli(server.url, ["stats", "acme"]);
    await server.close();

    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain("\u001b");
    expect(run.stderr).toMatch(/^tfy-relay: .* is not the relay's admin API \(last_5m\.llm_usage\.evil\uFFFD\[2J INJECTED LINE: .*\)\n$/);
  });

  it('takes `stats ""` (an unset $TENANT) as a usage mistake, never as every tenant\'s statistics', async () => {
    const server = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));

    const stats = await runCli(server.url, ["stats", "", "--json"]);
    await server.close();

    expect(server.received).toEqual([]);
    expect(stats).toMatchObject({ code: 2, stderr: '{"error":{"message":"<tenant> is empty"}}\n' });
  });

  it("never shows an ingest token pasted in place of its id in the revoke's question at a terminal", async () => {
    const token = `tbr_0123456789abcdef_${"A".repeat(21)}${"b".repeat(22)}`;
    const server = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"));

    const run = await runCliAtTerminal(server.url, ["tokens", "revoke", "acme", token], "nope\n");
    await server.close();

    expect(run.shown).toContain("Revoke token (its id not repeated: it may be a token) of tenant acme?");
    expect(run.shown).not.toContain(token);
    expect(server.received).toEqual([]);
  });

  it("gives, with --json, the status of a refusal that is not the relay's (a proxy's 503 page): a script tells it from no answer", async () => {
    const server = await otherServer((_req, res) =>
      res.writeHead(503, { "content-type": "text/html" }).end("<html><body>Worker exceeded resource limits</body></html>"),
    );

    const run = await runCli(server.url, ["tenants", "list", "--json"]);
    await server.close();

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stderr)).toEqual({
      error: { message: `${server.url} answered 503 with something that is not the relay's admin API`, status: 503 },
    });
  });

  it("never takes a 404 that is not the relay's for no such tenant: tenants put sends nothing after it", async () => {
    const server = await otherServer((_req, res) => res.writeHead(404, { "content-type": "text/html" }).end("<html>Not Found</html>"));

    const run = await runCli(server.url, ["tenants", "put", "acme", "--parent", "project_name:new", "--json"]);
    await server.close();

    expect(server.received.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /admin/tenants/acme"]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stderr)).toEqual({
      error: { message: `${server.url} answered 404 with something that is not the relay's admin API`, status: 404 },
    });
  });

  it("refuses a delete without --yes from a pipe as a usage mistake, sending nothing, whatever the id typed", async () => {
    const server = await otherServer((_req, res) => res.writeHead(400, { "content-type": "application/json" }).end("{}"));

    // A capital, a trailing space from a pasted value: ids no tenant has, which the relay would refuse.
    const runs = [
      await runCli(server.url, ["tenants", "delete", "Acme"]),
      await runCli(server.url, ["tokens", "revoke", "acme ", "0123456789abcdef"]),
      await runCli(server.url, ["dead-letters", "delete", "Acme:0123456789abcdef"]),
    ];
    await server.close();

    expect(server.received).toEqual([]);
    expect(runs.map((r) => [r.code, r.stderr.split("\n")[0]])).toEqual(
      ["tenants delete", "tokens revoke", "dead-letters delete"].map((command) => [
        2,
        `tfy-relay: ${command} asks to confirm, and stdin is not a terminal to ask at: give --yes to delete without asking`,
      ]),
    );
  });

  it("reports an answer nested too deep to print in one line of JSON on stderr with --json, not a stack trace", async () => {
    // Past the check of the answer's shape (routes: a list of anything), then too deep for JSON.stringify.
    const deep = JSON.stringify(tenantAnswer({ routes: "ROUTES" })).replace('"ROUTES"', `${"[".repeat(20_000)}${"]".repeat(20_000)}`);
    const server = await otherServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(deep));

    const run = await runCli(server.url, ["tenants", "get", "acme", "--json"]);
    await server.close();

    expect(run).toMatchObject({
      code: 1,
      stdout: "",
      stderr: '{"error":{"message":"the relay\'s answer is nested too deep to print: it is not the relay\'s admin API"}}\n',
    });
  });

  it("gives up on a server that does not answer, or trickles its answer, in its time, saying whether a change may have been made", async () => {
    const silent = await otherServer(() => new Promise(() => {}));
    const trickling = await otherServer(async (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      for (;;) {
        if (!res.write(" ")) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });

    const read = adminClient(silent.url, ADMIN_TOKEN, "--url", 500).call("GET", "/tenants", z.unknown());
    const change = adminClient(trickling.url, ADMIN_TOKEN, "--url", 500).call("POST", "/tenants/acme/tokens", z.unknown(), {});
    const [readFailure, changeFailure] = await Promise.all([
      read.catch((err: Error) => err.message),
      change.catch((err: Error) => err.message),
    ]);
    await Promise.all([silent.close(), trickling.close()]);

    expect(readFailure).toBe(`the relay at ${silent.url} did not answer within 0.5 s: try again`);
    expect(changeFailure).toBe(
      `the relay at ${trickling.url} did not answer within 0.5 s: the call may have been carried out; check before running it again`,
    );
  });
});
