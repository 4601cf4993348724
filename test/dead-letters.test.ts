import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, randomId, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import type { ReplayAnswer } from "../src/console/answers.js";
import { DeadLetterStore } from "../src/deliver/dead-letters.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { REPLAY_CLAIM_MS } from "../src/tenants/dead-letter-claims.js";
import { failingBinding, failingObject, listingOnly, meddlingObjects, recordingQueue } from "./support/bindings.js";
import { deadLettersFor, deadLettersOf, storedDeadLetterKeys, waitForDeadLetters } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import { admin, adminWith, createTenant, createTenantAgain, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, requestOf, spanIdsOf, spanWith } from "./support/traces.js";

describe.concurrent("dead letters", () => {
  it("400 → dead letter (the client is told) → replay after the fix → delivered and removed", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"project is archived"}' }]);

    const response = await sendTraces(tenant, toProtobuf(trace));

    expect(response.status).toBe(200);
    const partial = (await exportResponseOf(response)).partialSuccess;
    expect(partial?.rejectedSpans).toBe(3n);
    const [deadLetter, ...others] = await deadLettersOf(tenant.id);
    expect(others).toEqual([]);
    expect(partial?.errorMessage).toBe(
      `3 spans kept as dead letter ${deadLetter!.id} for an operator to replay: Braintrust answered 400: {"error":"project is archived"}`,
    );
    expect(deadLetter).toMatchObject({
      tenant: tenant.id,
      parent: tenant.parent,
      attempts: 1,
      spans: 3,
      reason: 'Braintrust answered 400: {"error":"project is archived"}',
    });
    expect(Date.parse(deadLetter!.dead_lettered_at)).toBeGreaterThan(Date.now() - 60_000);

    const replay = await admin("POST", "/dead-letters/replay", { id: deadLetter!.id });

    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ replayed: [deadLetter!.id], orphaned: [], replaying: [], unavailable: [], cursor: null });
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("spans that waited for their trace, dead-lettered, are replayed and deleted by the id the API lists", async () => {
    const route = { match: { field: "span_name", equals: "never-matches" }, parent: "experiment_id:never" };
    const tenant = await createTenant({ config: { routes: [route], trace_wait_seconds: 1 } });
    await standin.script(tenant.apiKey, [{ status: 400, body: "bad spans" }]);
    // A child: it decides nothing, so it waits for its trace, and is then released to the queue.
    const waited = requestOf([spanWith("waited", [attr("note", "x")], { parentSpanId: randomId(8) })]);
    expect((await sendTraces(tenant, toProtobuf(waited))).status).toBe(200);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);

    const byTenant = await admin("POST", "/dead-letters/replay", { tenant: tenant.id });

    expect(await byTenant.json()).toEqual({ replayed: [deadLetter!.id], orphaned: [], replaying: [], unavailable: [], cursor: null });
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(waited))).missing).toEqual([]);
    // Another, dead-lettered, then deleted by its id.
    await standin.script(tenant.apiKey, [{ status: 400, body: "bad spans" }]);
    expect((await sendTraces(tenant, toProtobuf(requestOf([spanWith("again", [], { parentSpanId: randomId(8) })])))).status).toBe(200);
    const [again] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    expect((await admin("DELETE", `/dead-letters/${encodeURIComponent(again!.id)}`)).status).toBe(204);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("replays a backlog 40 a call, each call within a Worker's subrequests, going on from its cursor", async () => {
    const tenant = await createTenant();
    const traces = await deadLettersFor(tenant, 41);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 41)).toHaveLength(41);

    expect((await admin("POST", "/dead-letters/replay", { tenant: tenant.id, limit: 41 })).status).toBe(400);
    const first = (await (await admin("POST", "/dead-letters/replay", { tenant: tenant.id })).json()) as ReplayAnswer;
    const second = (await (
      await admin("POST", "/dead-letters/replay", { tenant: tenant.id, cursor: first.cursor })
    ).json()) as ReplayAnswer;

    expect([first.replayed.length, second.replayed.length, second.cursor]).toEqual([40, 1, null]);
    expect(new Set([...first.replayed, ...second.replayed]).size).toBe(41);
    const arrival = await standin.waitForSpans(tenant.apiKey, traces.flatMap(spanIdsOf));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("sends a dead letter replayed twice at once once: one replay claims it and queues it, the other is answered 409", async () => {
    const tenant = await createTenant();
    const [trace] = await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

    const answers = await Promise.all(
      [0, 1].map(async () => {
        const response = await adminWith({ DELIVERY_QUEUE: queue }, "POST", "/dead-letters/replay", { id: deadLetter!.id });
        return { status: response.status, body: await response.json() };
      }),
    );

    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 200)!.body).toEqual({
      replayed: [deadLetter!.id],
      orphaned: [],
      replaying: [],
      unavailable: [],
      cursor: null,
    });
    expect(answers.find((a) => a.status === 409)!.body).toEqual({
      error: {
        code: "conflict",
        message: expect.stringMatching(
          new RegExp(
            `^dead letter "${deadLetter!.id}" is being replayed already, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: its spans are on the delivery queue, and it goes once they are delivered, or stays with the new reason should they fail again$`,
          ),
        ),
        request_id: expect.any(String),
      },
    });
    expect(queue.sent.map((m) => `${m.body.tenant}:${m.body.id}`)).toEqual([deadLetter!.id]);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace!));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
    // The 400 that made the dead letter, and the replay's one delivery.
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([400, 200]);
  });

  it("replays a tenant's dead letters but one another replay has on the queue, which it names as replaying and leaves be", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant, 2);
    const [first, second] = await waitForDeadLetters(tenant.id, (list) => list.length === 2);
    // A replay whose message stays on a queue that never delivers it: its claim holds.
    const held = recordingQueue<DeliveryMessage>();
    expect((await adminWith({ DELIVERY_QUEUE: held }, "POST", "/dead-letters/replay", { id: first!.id })).status).toBe(200);
    const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

    const byTenant = await adminWith({ DELIVERY_QUEUE: queue }, "POST", "/dead-letters/replay", { tenant: tenant.id });

    expect(byTenant.status).toBe(200);
    expect(await byTenant.json()).toEqual({ replayed: [second!.id], orphaned: [], replaying: [first!.id], unavailable: [], cursor: null });
    expect(queue.sent.map((m) => `${m.body.tenant}:${m.body.id}`)).toEqual([second!.id]);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 1)).toEqual([first]);
  });

  it("replays a dead letter its replay kept again, with the same spans, at once: the claim was on the dead letter as it was", async () => {
    const tenant = await createTenant();
    const [trace] = await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    await standin.script(tenant.apiKey, [{ status: 400, body: "still archived" }]);
    expect((await admin("POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(200);
    const [keptAgain] = await waitForDeadLetters(tenant.id, ([kept]) => kept?.reason === "Braintrust answered 400: still archived");
    expect(keptAgain).toMatchObject({ id: deadLetter!.id, attempts: 1 });

    const again = await admin("POST", "/dead-letters/replay", { id: deadLetter!.id });

    expect(await again.json()).toEqual({ replayed: [deadLetter!.id], orphaned: [], replaying: [], unavailable: [], cursor: null });
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace!));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
  });

  it("lets go of a replay's own claim only: a later replay's claim on the dead letter written anew holds on", async () => {
    const tenant = await createTenant();
    const object = env.TENANT_OBJECTS.getByName(tenant.id);
    const { incarnation } = (await object.read(tenant.id))!;
    const deliveryId = crypto.randomUUID();
    const [earlier] = await object.claimDeadLetters(tenant.id, [{ deliveryId, version: "v1", incarnation }]);
    // Its replay failed again: the dead letter was written anew, and another replay claimed it as it is now.
    const [later] = await object.claimDeadLetters(tenant.id, [{ deliveryId, version: "v2", incarnation }]);
    expect([earlier?.outcome, later?.outcome]).toEqual(["claimed", "claimed"]);

    // A copy of the earlier replay's message, skipped as a repeat in its batch, lets go of its own claim.
    await object.releaseDeadLetters([{ deliveryId, claim: (earlier as { claim: string }).claim }]);

    const third = await object.claimDeadLetters(tenant.id, [{ deliveryId, version: "v2", incarnation }]);
    expect(third).toEqual([{ outcome: "replaying", since: expect.any(String) }]);
  });

  it("lets a dead letter whose replay never reached Braintrust be replayed again once its claim is a day old", async () => {
    const tenant = await createTenant();
    const [trace] = await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    // Claimed, and its message lost: the queue it went to never delivers.
    expect((await adminWith({ DELIVERY_QUEUE: recordingQueue() }, "POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(
      200,
    );
    expect((await admin("POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(409);

    await runInDurableObject(env.TENANT_OBJECTS.getByName(tenant.id), (_object, state) => {
      state.storage.sql.exec("UPDATE dead_letter_claims SET claimed_at = claimed_at - ?", REPLAY_CLAIM_MS);
    });
    const again = await admin("POST", "/dead-letters/replay", { id: deadLetter!.id });

    expect(await again.json()).toEqual({ replayed: [deadLetter!.id], orphaned: [], replaying: [], unavailable: [], cursor: null });
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace!));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
  });

  it("replays everyone's dead letters but those of a tenant whose object fails, which it names unavailable and leaves for the next replay", async () => {
    const [claimed, failing] = [await createTenant(), await createTenant()];
    const [trace] = await deadLettersFor(claimed);
    const [failingTrace] = await deadLettersFor(failing);
    const [claimedLetter] = await waitForDeadLetters(claimed.id, (list) => list.length === 1);
    const [failingLetter] = await waitForDeadLetters(failing.id, (list) => list.length === 1);
    // Everyone's dead letters, as this test's tenants alone make them, whatever the tests beside it keep.
    const everyone = listingOnly(env.PAYLOADS, "dead-letters/", [`dead-letters/${claimed.id}/`, `dead-letters/${failing.id}/`]);
    const objects = failingObject(env.TENANT_OBJECTS, failing.id, "claimDeadLetters", "Durable Object reset because its code was updated.");

    const { result: replay, errors } = await loggedWhile(() =>
      adminWith({ PAYLOADS: everyone, TENANT_OBJECTS: objects }, "POST", "/dead-letters/replay", {}),
    );

    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({
      replayed: [claimedLetter!.id],
      orphaned: [],
      replaying: [],
      unavailable: [failingLetter!.id],
      cursor: null,
    });
    // The tests beside this one make such lines for their own tenants meanwhile: this test's tenants' alone.
    const ours = [claimed.id, failing.id];
    expect(errors.filter((e) => e.event === "replay_claim_failed" && ours.includes(String(e.tenant)))).toEqual([
      {
        event: "replay_claim_failed",
        tenant: failing.id,
        error: expect.stringContaining("Durable Object reset"),
        request_id: expect.any(String),
      },
    ]);
    const arrival = await standin.waitForSpans(claimed.apiKey, spanIdsOf(trace!));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
    expect(await deadLettersOf(failing.id)).toEqual([failingLetter]);
    const again = await admin("POST", "/dead-letters/replay", { tenant: failing.id });
    expect(await again.json()).toEqual({ replayed: [failingLetter!.id], orphaned: [], replaying: [], unavailable: [], cursor: null });
    const sentLater = await standin.waitForSpans(failing.apiKey, spanIdsOf(failingTrace!));
    expect([sentLater.missing, sentLater.duplicates]).toEqual([[], 0]);
  });

  it("goes on past a page of everyone's dead letters that holds only a tenant whose object fails, naming them unavailable", async () => {
    // R2 lists by key, `dead-letters/<tenant>/…`: a tenant with a page's worth of dead letters fills pages of everyone's alone.
    const failing = await createTenant();
    await deadLettersFor(failing);
    const [failingLetter] = await waitForDeadLetters(failing.id, (list) => list.length === 1);
    const onlyFailing = listingOnly(env.PAYLOADS, "dead-letters/", [`dead-letters/${failing.id}/`]);
    // As a backlog has it: more of everyone's dead letters after this page.
    const more = new Proxy(onlyFailing, {
      get: (target, property) =>
        property === "list"
          ? async (options?: R2ListOptions) => ({ ...(await target.list(options)), truncated: true, cursor: "further" })
          : Reflect.get(target, property),
    });
    const objects = failingObject(env.TENANT_OBJECTS, failing.id, "claimDeadLetters", "Durable Object reset because its code was updated.");

    const replay = await adminWith({ PAYLOADS: more, TENANT_OBJECTS: objects }, "POST", "/dead-letters/replay", {});

    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({
      replayed: [],
      orphaned: [],
      replaying: [],
      unavailable: [failingLetter!.id],
      cursor: expect.any(String),
    });
  });

  it("answers 503 for a replay by tenant or id whose tenant's object fails, and replays nothing: the next replay sends its dead letters", async () => {
    const tenant = await createTenant();
    const [trace] = await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    const objects = failingObject(env.TENANT_OBJECTS, tenant.id, "claimDeadLetters", "Durable Object reset because its code was updated.");

    for (const target of [{ tenant: tenant.id }, { id: deadLetter!.id }]) {
      const refused = await adminWith({ TENANT_OBJECTS: objects }, "POST", "/dead-letters/replay", target);

      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({
        error: {
          code: "unavailable",
          message: `tenant ${tenant.id}'s Durable Object did not answer to claim its dead letters: nothing was replayed, to replay again`,
          request_id: expect.any(String),
        },
      });
    }
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
    const again = await admin("POST", "/dead-letters/replay", { id: deadLetter!.id });
    expect(await again.json()).toEqual({ replayed: [deadLetter!.id], orphaned: [], replaying: [], unavailable: [], cursor: null });
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace!));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
  });

  it("answers 503 for a replay the queue refuses and leaves its dead letter as it was, to be replayed, once, by the next", async () => {
    const tenant = await createTenant();
    const [trace] = await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    const refusing = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: 503 Service Unavailable");

    const refused = await adminWith({ DELIVERY_QUEUE: refusing }, "POST", "/dead-letters/replay", { id: deadLetter!.id });

    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({
      error: {
        code: "unavailable",
        message: "the delivery queue refused 1 dead letter: it stays as it was, to replay again",
        request_id: expect.any(String),
      },
    });
    expect(await deadLettersOf(tenant.id)).toEqual([deadLetter]);
    const again = await admin("POST", "/dead-letters/replay", { id: deadLetter!.id });
    expect(await again.json()).toEqual({ replayed: [deadLetter!.id], orphaned: [], replaying: [], unavailable: [], cursor: null });
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace!));
    expect([arrival.missing, arrival.duplicates]).toEqual([[], 0]);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("refuses a replay by id that also names a tenant, a page size or a cursor with 400, replaying nothing", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    const other = await createTenant();

    for (const extra of [{ tenant: other.id }, { tenant: tenant.id }, { limit: 1 }, { cursor: "c" }]) {
      const response = await admin("POST", "/dead-letters/replay", { id: deadLetter!.id, ...extra });

      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          code: "invalid_field",
          message: "id: names the one dead letter to replay: tenant, limit and cursor go without it",
          field: "id",
          request_id: expect.any(String),
        },
      });
    }
    expect(await deadLettersOf(tenant.id)).toEqual([deadLetter]);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
  });

  it("answers 404 naming the tenant for a replay of a tenant that does not exist, rather than 200 with nothing replayed", async () => {
    const tenant = await createTenant();

    const mistyped = await admin("POST", "/dead-letters/replay", { tenant: `${tenant.id}-tpyo` });
    const nothingToDo = await admin("POST", "/dead-letters/replay", { tenant: tenant.id });

    expect(mistyped.status).toBe(404);
    expect(await mistyped.json()).toEqual({
      error: { code: "not_found", message: `no such tenant: ${tenant.id}-tpyo`, request_id: expect.any(String) },
    });
    // A tenant that exists with nothing dead-lettered is no mistake.
    expect(nothingToDo.status).toBe(200);
    expect(await nothingToDo.json()).toEqual({ replayed: [], orphaned: [], replaying: [], unavailable: [], cursor: null });
  });

  it("401 with a stored key → dead letter → rotate the key → replay the tenant's → delivered", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.revokeKey(tenant.apiKey);

    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);
    const [deadLetter] = await deadLettersOf(tenant.id);
    expect(deadLetter!.reason).toBe(
      'Braintrust refused the tenant\'s stored API key: Braintrust answered 401: {"error":"Invalid API key"}',
    );

    const rotated = await standin.issueKey();
    await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, braintrust: { api_url: standin.url, api_key: rotated } });
    const replay = await admin("POST", "/dead-letters/replay", { tenant: tenant.id });

    expect(await replay.json()).toEqual({ replayed: [deadLetter!.id], orphaned: [], replaying: [], unavailable: [], cursor: null });
    expect((await standin.waitForSpans(rotated, spanIdsOf(trace))).missing).toEqual([]);
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("413 is answered by splitting the spans in halves and sending each", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ status: 413 }]);

    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);

    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect(arrival.requests.map((r) => r.request.resourceSpans[0]!.scopeSpans[0]!.spans.length).sort()).toEqual([1, 2]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("a single span Braintrust still finds too large, even compressed, is dead-lettered", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    trace.resourceSpans[0]!.scopeSpans[0]!.spans.splice(1);
    await standin.script(tenant.apiKey, [{ status: 413 }, { status: 413 }]);

    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);

    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length > 0);
    expect(deadLetter).toMatchObject({ spans: 1, reason: expect.stringMatching(/^a single span is over Braintrust's request limit/) });
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.contentEncoding)).toEqual(["", "gzip"]);
  });

  it("keeps a passthrough client's key out of the dead letter in plaintext, yet replays with it", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const trace = trueFoundryTrace();
    // Only a key Braintrust has accepted has its spans kept (passthrough-trust.test.ts).
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    await standin.script(tenant.apiKey, [{ status: 400 }]);
    await sendTraces(tenant, toProtobuf(trace));
    const [deadLetter] = await deadLettersOf(tenant.id);

    const object = await env.PAYLOADS.get(`dead-letters/${tenant.id}/${deadLetter!.id.split(":")[1]}`);
    expect(JSON.stringify(object!.customMetadata)).not.toContain(tenant.apiKey);
    expect(new TextDecoder().decode(await object!.arrayBuffer())).not.toContain(tenant.apiKey);
    await admin("POST", "/dead-letters/replay", { id: deadLetter!.id });
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
  });

  it("lists a page at a time, deletes by id, and answers 404 for unknown ids", async () => {
    const tenant = await createTenant();
    for (let i = 0; i < 3; i++) {
      await standin.script(tenant.apiKey, [{ status: 400 }]);
      await sendTraces(tenant, toProtobuf(trueFoundryTrace()));
    }

    const first = (await (await admin("GET", `/dead-letters?tenant=${tenant.id}&limit=2`)).json()) as {
      dead_letters: { id: string }[];
      cursor: string;
    };
    const second = (await (
      await admin("GET", `/dead-letters?tenant=${tenant.id}&limit=2&cursor=${encodeURIComponent(first.cursor)}`)
    ).json()) as { dead_letters: { id: string }[]; cursor: string | null };
    expect(first.dead_letters).toHaveLength(2);
    expect(second.dead_letters).toHaveLength(1);
    expect(second.cursor).toBeNull();

    const id = first.dead_letters[0]!.id;
    expect((await admin("DELETE", `/dead-letters/${id}`)).status).toBe(204);
    expect((await admin("DELETE", `/dead-letters/${id}`)).status).toBe(404);
    expect((await admin("POST", "/dead-letters/replay", { id })).status).toBe(404);
    expect((await admin("DELETE", "/dead-letters/not-an-id")).status).toBe(404);
    expect(await deadLettersOf(tenant.id)).toHaveLength(2);
    expect((await admin("GET", "/dead-letters?tenant=Not_Valid")).status).toBe(400);
    expect((await admin("GET", "/dead-letters", undefined, "wrong")).status).toBe(401);
    expect((await admin("POST", "/dead-letters/replay", {}, null)).status).toBe(401);
  });

  it("answers 404 naming the tenant for a list of a tenant that does not exist, and an empty list for one that does", async () => {
    const tenant = await createTenant();

    const mistyped = await admin("GET", `/dead-letters?tenant=${tenant.id}-tpyo`);
    const nothingDead = await admin("GET", `/dead-letters?tenant=${tenant.id}`);

    expect(mistyped.status).toBe(404);
    expect(await mistyped.json()).toEqual({
      error: { code: "not_found", message: `no such tenant: ${tenant.id}-tpyo`, request_id: expect.any(String) },
    });
    expect(nothingDead.status).toBe(200);
    expect(await nothingDead.json()).toEqual({ dead_letters: [], cursor: null });
  });

  it("deleting a tenant deletes its dead letters: a tenant created again under its id, with another key and URL, never gets them", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant);
    const [deadLetter] = await deadLettersOf(tenant.id);

    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);

    // Nothing is left to list of a tenant that no longer exists.
    expect((await admin("GET", `/dead-letters?tenant=${tenant.id}`)).status).toBe(404);
    expect(await storedDeadLetterKeys(tenant.id)).toEqual([]);
    const nextOwnersKey = await createTenantAgain(tenant.id);
    const replayOne = await admin("POST", "/dead-letters/replay", { id: deadLetter!.id });
    expect(replayOne.status).toBe(404);
    expect(await replayOne.json()).toEqual({
      error: { code: "not_found", message: `no such dead letter: "${deadLetter!.id}"`, request_id: expect.any(String) },
    });
    expect(await (await admin("POST", "/dead-letters/replay", { tenant: tenant.id })).json()).toEqual({
      replayed: [],
      orphaned: [],
      replaying: [],
      unavailable: [],
      cursor: null,
    });
    expect(await standin.attempts(nextOwnersKey)).toEqual([]);
  });

  it("counts the dead letters and spans an admin replays or deletes in the admin_change line, a tenant's deleted with it too", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant, 4);
    const [first, second] = await waitForDeadLetters(tenant.id, (list) => list.length === 4);

    const { events } = await loggedWhile(async () => {
      expect((await admin("DELETE", `/dead-letters/${encodeURIComponent(first!.id)}`)).status).toBe(204);
      expect((await admin("POST", "/dead-letters/replay", { id: second!.id })).status).toBe(200);
      // The replay may still be on the queue: its dead letter goes with the tenant's others, or once delivered.
      expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);
    });

    const changes = events
      .filter((e) => e.event === "admin_change" && e.tenant === tenant.id)
      .map(({ request_id: _id, ...change }) => change);
    expect(changes.slice(0, 2)).toEqual([
      {
        event: "admin_change",
        method: "DELETE",
        path: `/admin/dead-letters/${encodeURIComponent(first!.id)}`,
        status: 204,
        tenant: tenant.id,
        dead_letters: 1,
        spans: 3,
      },
      {
        event: "admin_change",
        method: "POST",
        path: "/admin/dead-letters/replay",
        status: 200,
        tenant: tenant.id,
        dead_letters: 1,
        spans: 3,
      },
    ]);
    expect(changes[2]).toMatchObject({ method: "DELETE", path: `/admin/tenants/${tenant.id}`, status: 204, tenant: tenant.id });
    expect([2, 3]).toContain(changes[2]!.dead_letters);
    expect(changes[2]!.spans).toBe(Number(changes[2]!.dead_letters) * 3);
  });

  it("logs a tenant's deletion refused with 412 once its dead letters were deleted as the admin change it was, with their count", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant, 2);
    await waitForDeadLetters(tenant.id, (list) => list.length === 2);
    const etag = (await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag")!;
    // Another admin changes the tenant while its dead letters are being deleted: the record is not deleted.
    const objects = meddlingObjects(env.TENANT_OBJECTS, "remove", "before", async () => {
      expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: "project_name:changed" })).status).toBe(200);
    });

    const { result: refused, events } = await loggedWhile(() =>
      adminWith({ TENANT_OBJECTS: objects }, "DELETE", `/tenants/${tenant.id}`, undefined, { "if-match": etag }),
    );

    expect(refused.status).toBe(412);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
    const changes = events.filter((e) => e.event === "admin_change" && e.method === "DELETE" && e.tenant === tenant.id);
    expect(changes.map(({ request_id: _id, ...change }) => change)).toEqual([
      {
        event: "admin_change",
        method: "DELETE",
        path: `/admin/tenants/${tenant.id}`,
        status: 412,
        tenant: tenant.id,
        dead_letters: 2,
        spans: 6,
      },
    ]);
  });

  it("leaves no admin_change line for a replay the queue refused whole: nothing was changed", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    const refusing = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: 503 Service Unavailable");

    const { events } = await loggedWhile(async () => {
      expect((await adminWith({ DELIVERY_QUEUE: refusing }, "POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(503);
    });

    expect(events.filter((e) => e.event === "admin_change" && e.tenant === tenant.id)).toEqual([]);
  });

  it("deletes a tenant's dead letters at most so many per call, and only that tenant's", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    await deadLettersFor(tenant, 3);
    await deadLettersFor(other);
    const store = new DeadLetterStore(env.PAYLOADS);

    expect(await store.deleteOfTenant(tenant.id, 2)).toEqual({ done: false, deadLetters: 2, spans: 6 });
    expect(await deadLettersOf(tenant.id)).toHaveLength(1);
    expect(await store.deleteOfTenant(tenant.id, 2)).toEqual({ done: true, deadLetters: 1, spans: 3 });
    expect(await deadLettersOf(tenant.id)).toEqual([]);
    expect(await deadLettersOf(other.id)).toHaveLength(1);
  });

  it("keeps a reason cut before a character its limit would halve: no half of an emoji is stored", async () => {
    const tenant = await createTenant();
    const message: DeliveryMessage = {
      id: crypto.randomUUID(),
      tenant: tenant.id,
      parent: `project_name:${tenant.id}`,
      payload: { inline: new Uint8Array() },
      spans: 0,
      bytes: 0,
      attempts: 1,
      serverErrors: 0,
      receivedAt: Date.now(),
    };
    // 1000 UTF-16 units are kept: the emoji's first half would be the 1000th.
    await new DeadLetterStore(env.PAYLOADS).put(message, new Uint8Array(), `${"x".repeat(999)}😀 and more`);

    const [kept] = await deadLettersOf(tenant.id);
    expect(kept?.reason).toBe("x".repeat(999));
  });
});
