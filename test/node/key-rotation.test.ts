import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it, onTestFinished } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { adminCall, ENCRYPTION_KEY, type RelayProcess, startRelay } from "../../scripts/lib/wrangler-dev.js";
import { standinClient } from "../standin/client.js";
import { runCli } from "../support/cli.js";

const standin = standinClient(inject("standinUrl"));
const NEXT_KEY = Buffer.alloc(32, 9).toString("base64");
/** One relay's state (KV, Durable Objects, queues) across restarts with other keys, as a deploy keeps it. */
const state = mkdtempSync(join(tmpdir(), "relay-rotation-"));
let relay: RelayProcess | undefined;

afterAll(async () => {
  await relay?.stop();
  rmSync(state, { recursive: true, force: true });
});

/** The relay restarted on the same state with these secrets. */
async function restart(secrets: Record<string, string>): Promise<RelayProcess> {
  await relay?.stop();
  relay = await startRelay(secrets, { state });
  return relay;
}

function sendTraces(url: string, token: string): Promise<Response> {
  return fetch(`${url}/t/rotating/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${token}` },
    body: toProtobuf(trueFoundryTrace()).slice(),
  });
}

describe("rotating ENCRYPTION_KEY", () => {
  it("keeps delivering with stored keys while the previous key is kept, seals them again, then needs only the new key", async () => {
    const apiKey = await standin.issueKey();
    const first = await restart({ ENCRYPTION_KEY });
    const put = await adminCall(first, "PUT", "/tenants/rotating", {
      parent: "project_name:rotating",
      braintrust: { api_url: standin.url, api_key: apiKey },
    });
    expect(put.status).toBe(201);
    const { token } = (await (await adminCall(first, "POST", "/tenants/rotating/tokens")).json()) as { token: string };

    // The new key alone cannot open what the old one sealed.
    const newKeyOnly = await restart({ ENCRYPTION_KEY: NEXT_KEY });
    const refused = await sendTraces(newKeyOnly.url, token);
    // 503, which an exporter sends again, while the operator sets ENCRYPTION_KEY_PREVIOUS.
    expect(refused.status).toBe(503);

    // With the old key kept as the previous one, delivery goes on, and the keys are sealed again.
    const rotating = await restart({ ENCRYPTION_KEY: NEXT_KEY, ENCRYPTION_KEY_PREVIOUS: ENCRYPTION_KEY });
    expect((await sendTraces(rotating.url, token)).status).toBe(200);
    const resealed = await runCli(rotating.url, ["keys", "reseal"]);
    const again = await runCli(rotating.url, ["keys", "reseal", "--json"]);
    // Sealed again by the CLI, or already by the tenant's object, should its alarm have written the
    // record to KV again since this server started (it seals the key again as it writes).
    expect([
      { code: 0, stdout: "sealed again under ENCRYPTION_KEY: 1; already under it: 0\n", stderr: "" },
      { code: 0, stdout: "sealed again under ENCRYPTION_KEY: 0; already under it: 1\n", stderr: "" },
    ]).toContainEqual(resealed);
    expect(JSON.parse(again.stdout)).toEqual({
      resealed: [],
      current: ["rotating"],
      unreadable: [],
      changed: [],
      replica_behind: [],
      failed: [],
    });

    // The previous key dropped: the tenant, token and settings as they were, the key opened by the new one.
    const rotated = await restart({ ENCRYPTION_KEY: NEXT_KEY });
    expect((await sendTraces(rotated.url, token)).status).toBe(200);
    expect(await standin.received(apiKey)).toHaveLength(2);
    const tenant = (await (await adminCall(rotated, "GET", "/tenants/rotating")).json()) as Record<string, unknown>;
    expect(tenant).toMatchObject({ parent: "project_name:rotating", auth: "stored_key", tokens: [expect.anything()] });
    expect(JSON.stringify(tenant)).not.toContain(apiKey);

    // A key sealed under neither is named, not skipped in silence.
    // It exits 1 then, so a script rotating the key stops before the old one is dropped.
    const lost = await restart({ ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS: Buffer.alloc(32, 1).toString("base64") });
    const unreadable = await runCli(lost.url, ["keys", "reseal", "--json"]);
    expect(unreadable.code).toBe(1);
    expect(JSON.parse(unreadable.stdout)).toEqual({
      resealed: [],
      current: [],
      unreadable: ["rotating"],
      changed: [],
      replica_behind: [],
      failed: [],
    });
  });

  it("says a put keeping a stored key neither ENCRYPTION_KEY opens is refused for that key, not for the --api-url or --config file it gave", async () => {
    const apiKey = await standin.issueKey();
    const sealing = await restart({ ENCRYPTION_KEY });
    const put = await adminCall(sealing, "PUT", "/tenants/key-lost", {
      parent: "project_name:lost",
      braintrust: { api_url: standin.url, api_key: apiKey },
    });
    expect(put.status).toBe(201);
    const folder = mkdtempSync(join(tmpdir(), "key-lost-"));
    onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
    const config = join(folder, "tenant.json");
    writeFileSync(config, JSON.stringify({ parent: "project_name:lost", braintrust: { api_url: standin.url } }));

    // The key sealed under ENCRYPTION_KEY, which this relay has neither as its key nor as the previous one.
    const lost = await restart({ ENCRYPTION_KEY: NEXT_KEY });
    const refusals = {
      apiUrl: await runCli(lost.url, ["tenants", "put", "key-lost", "--api-url", `${standin.url}/other`]),
      config: await runCli(lost.url, ["tenants", "put", "key-lost", "--config", config]),
    };

    const unreadable =
      "tfy-relay: braintrust.api_key: tenant key-lost's stored key opens with neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS, so whether this PUT's api_url and parents hold it cannot be told: give the key again, or make the tenant passthrough\n";
    expect(refusals).toEqual({
      apiUrl: { code: 1, stdout: "", stderr: unreadable },
      config: { code: 1, stdout: "", stderr: unreadable },
    });
  });
});
