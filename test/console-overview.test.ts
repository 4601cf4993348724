import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, randomId, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { noticeOf } from "../src/console/notices.js";
import { traceRoutesName } from "../src/deliver/trace-routes-name.js";
import { type Counts, emptyCounts } from "../src/stats/counts.js";
import type { TenantStatsReport } from "../src/stats/store.js";
import { failingBinding, failingObject, recordingQueue } from "./support/bindings.js";
import {
  csrfIn,
  fieldIn,
  overviewPageOf,
  overviewRow,
  postForm,
  refusalShown,
  SIGNED,
  statsPageRow,
  unescaped,
} from "./support/console.js";
import { deadLettersFor, deadLettersOf, storedDeadLetterKeys, waitForDeadLetters } from "./support/dead-letters.js";
import {
  admin,
  adminWith,
  consoleSessionCookie,
  createTenant,
  OTHER_ENCRYPTION_KEY,
  relayFetch,
  relayFetchWith,
  sendTraces,
  sendTracesWith,
  uniqueTenantId,
} from "./support/relay.js";
import { standin } from "./support/standin.js";
import { requestOf, spanWith } from "./support/traces.js";

type DeadLetterPage = { dead_letters: unknown[]; cursor: string | null };

/** What the overview and a tenant's page say about traffic and health, and replaying and deleting dead letters. */
describe("the console's overview, statistics, replays and dead letters", () => {
  it("shows a tenant's LLM usage of the last day: cost and tokens on the overview, by model on its page", async () => {
    const tenant = await createTenant();
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    const cookie = await consoleSessionCookie();
    const deadline = Date.now() + 30_000;
    let page = "";
    while (Date.now() < deadline && !page.includes("gpt-4.1-mini")) {
      page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
      if (!page.includes("gpt-4.1-mini")) await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(page).toMatch(
      /<td class="mono">gpt-4\.1-mini<\/td><td class="num">1<\/td><td class="num">14<\/td><td class="num">3<\/td><td class="num">0\.000013<\/td>/,
    );
    expect(await overviewRow(tenant.id, cookie)).toContain("$0.000013 · 17 tokens");
  });

  it("says on the overview which tenants need attention and why, above the table: Braintrust refusing now; a tenant delivering is ok", async () => {
    const healthy = await createTenant();
    const failing = await createTenant();
    // Down for every attempt the test can see: the queue's retries fail too.
    await standin.script(
      failing.apiKey,
      Array.from({ length: 10 }, () => ({ status: 503 })),
    );
    expect((await sendTraces(healthy, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    expect((await sendTraces(failing, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    const cookie = await consoleSessionCookie();
    const deadline = Date.now() + 30_000;
    let row = "";
    while (Date.now() < deadline && !row.includes("Braintrust took nothing")) {
      row = await overviewRow(failing.id, cookie);
      if (!row.includes("Braintrust took nothing")) await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(row).toMatch(/<li class="bad">Braintrust took nothing in 5 min: \d+ attempts? failed<\/li>/);
    expect(row).toContain('<li class="watch">');
    expect(await overviewRow(healthy.id, cookie)).toContain('<span class="health ok">ok</span>');
    const page = await overviewPageOf(failing.id, cookie);
    const attention = /<p class="attention">([\s\S]*?)<\/p>/.exec(page)?.[1] ?? "";
    expect(attention).toMatch(/tenants? on this page needs? attention/);
    expect(attention).toContain(`<a href="/admin/console/tenants/${failing.id}">${failing.id}</a>`);
    expect(attention).not.toContain(`>${healthy.id}</a>`);
  });

  it("shows a tenant whose object cannot answer for its statistics as needing attention, and every other tenant as usual", async () => {
    const healthy = await createTenant();
    const overloaded = await createTenant();
    const cookie = await consoleSessionCookie();
    const bindings = { TENANT_OBJECTS: failingObject(env.TENANT_OBJECTS, overloaded.id, "statsReport", "Durable Object is overloaded") };

    const row = await overviewRow(overloaded.id, cookie, bindings);

    expect(row).toContain('<li class="bad">statistics unavailable: its Durable Object did not answer</li>');
    expect(row).toContain('<span class="muted">unknown</span>');
    expect(await overviewRow(healthy.id, cookie, bindings)).toContain('<span class="health ok">ok</span>');
  });

  it("names on the statistics page a tenant whose object cannot answer, on a line of its own, and every other tenant as usual", async () => {
    const healthy = await createTenant();
    const overloaded = await createTenant();
    const cookie = await consoleSessionCookie();
    const bindings = { TENANT_OBJECTS: failingObject(env.TENANT_OBJECTS, overloaded.id, "statsReport", "Durable Object is overloaded") };

    const row = await statsPageRow(overloaded.id, cookie, bindings);

    expect(row).toContain(`<a href="/admin/console/tenants/${overloaded.id}">${overloaded.id}</a>`);
    expect(row).toContain("statistics unavailable: its Durable Object did not answer");
    expect(await statsPageRow(healthy.id, cookie, bindings)).toContain('<span class="muted">none</span>');
  });

  it("shows a last upstream error the tenant's deliveries got past muted alike on the overview, the statistics page and its page", async () => {
    const tenant = await createTenant();
    const cookie = await consoleSessionCookie();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const counts = (more: Partial<Counts>): Counts => ({ ...emptyCounts(), ...more });
    // An attempt failed ten minutes ago; spans were delivered seven minutes ago, outside the last 5, and nothing failed since.
    await env.TENANT_OBJECTS.getByName(tenant.id).recordStats(tenant.id, {
      incarnation: tenant.incarnation,
      minutes: {
        [minute - 10 * 60_000]: counts({ upstreamAttempts: 1, upstreamErrors: 1 }),
        [minute - 7 * 60_000]: counts({ spans: { received: 10, accepted: 10, delivered: 10 }, upstreamAttempts: 1 }),
      },
      lastError: { status: 503, reason: "Service Unavailable", at: minute - 10 * 60_000 + 1000 },
      lastDeliveredAt: minute - 7 * 60_000 + 2000,
    });
    const errorCell = (html: string) => /<span class="last-error[^"]*">[\s\S]*?<\/span>/.exec(html)?.[0] ?? "";

    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    for (const html of [await overviewRow(tenant.id, cookie), await statsPageRow(tenant.id, cookie), page]) {
      expect(errorCell(html)).toContain('<span class="last-error past">');
      expect(errorCell(html)).toContain("(spans delivered since) 503: Service Unavailable");
    }
    // Its page says when spans last reached Braintrust.
    const lastDelivery = new Date(minute - 7 * 60_000 + 2000).toISOString();
    expect(page).toContain(
      `<dd class="last-delivery"><time datetime="${lastDelivery}">${lastDelivery.slice(0, 19).replace("T", " ")} UTC</time></dd>`,
    );
    expect(((await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as TenantStatsReport).last_upstream_error).toMatchObject({
      status: 503,
      spans_delivered_since: 10,
    });
  });

  it("shows a tenant's page, its forms and a token just issued, when its statistics, dead letters or waiting traces cannot be read", async () => {
    const tenant = await createTenant({ config: { parent_from_attribute: true } });
    const { cookie, csrf, issueKey } = await (async () => {
      const session = await consoleSessionCookie();
      const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie: session } })).text();
      return { cookie: session, csrf: csrfIn(page), issueKey: fieldIn(page, "issue_key")! };
    })();
    const issued = await postForm(`/admin/console/tenants/${tenant.id}/tokens`, cookie, { csrf, issue_key: issueKey });
    const handedOver = /tfy_relay_issued_token=[^;]+/.exec(issued.headers.get("set-cookie") ?? "")![0];
    const failing = {
      TENANT_OBJECTS: failingObject(env.TENANT_OBJECTS, tenant.id, "statsReport", "Durable Object is overloaded"),
      PAYLOADS: failingBinding(env.PAYLOADS, "list", "R2 is unavailable"),
      TRACE_ROUTES: failingObject(env.TRACE_ROUTES, traceRoutesName(tenant, "5"), "waiting", "Durable Object is overloaded"),
    };

    const page = await relayFetchWith(failing, issued.headers.get("location")!, { headers: { cookie: `${cookie}; ${handedOver}` } });

    expect(page.status).toBe(200);
    const html = unescaped(await page.text());
    expect(html).toContain("Statistics unavailable: the tenant's Durable Object could not answer for them.");
    expect(html).toContain("Dead letters unavailable: they could not be listed.");
    expect(html).toContain("unavailable: some of the tenant's trace-routes objects could not answer");
    expect(html).toMatch(/Token [0-9a-f]{16} issued\. It is shown only now/);
    expect(html).toContain('<h2 id="change">Change</h2>');
    expect(html).toContain(`action="/admin/console/tenants/${tenant.id}/delete"`);
  });

  it("counts a tenant's requests the relay could not serve, misconfigured (503), among its errors and apart from an outage's, on its page and the overview", async () => {
    const tenant = await createTenant();
    // ENCRYPTION_KEY changed without ENCRYPTION_KEY_PREVIOUS: the tenant's stored key opens no more.
    for (let i = 0; i < 3; i++) {
      expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { ENCRYPTION_KEY: OTHER_ENCRYPTION_KEY })).status).toBe(503);
    }
    const cookie = await consoleSessionCookie();
    const errorsShown = (html: string) => /<svg class="chart errors"[^>]*data-total="(\d+)"/.exec(html)?.[1];
    const deadline = Date.now() + 30_000;
    let page = "";
    while (Date.now() < deadline && errorsShown(page) !== "3") {
      page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
      if (errorsShown(page) !== "3") await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(errorsShown(page)).toBe("3");
    const row = await overviewRow(tenant.id, cookie);
    expect(errorsShown(row)).toBe("3");
    // Told apart from an outage's 503s: the operator's to fix, and where to look.
    expect(unescaped(row)).toContain(
      "3 requests refused in 5 min because the relay is misconfigured: its log lines (code misconfigured) say how",
    );
    const report = (await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as TenantStatsReport;
    expect(report.last_5m.requests).toEqual({ "503": 3 });
    expect(report.last_5m.rejected_requests).toMatchObject({ unavailable: 0, misconfigured: 3 });
  });

  it("shows a routing tenant's traces waiting for their parent, and none for a tenant that does not route", async () => {
    const routing = await createTenant({
      config: { routes: [{ match: { field: "attributes.env", equals: "eval" }, parent: "experiment_id:e" }] },
    });
    const plain = await createTenant();
    // A child whose trace's top span has not come: its trace waits.
    const child = spanWith("Model: x", [attr("tfy.span_type", "Model")], { parentSpanId: randomId(8) });
    expect((await sendTraces(routing, toProtobuf(requestOf([child])))).status).toBe(200);
    const cookie = await consoleSessionCookie();

    const routingPage = await (await relayFetch(`/admin/console/tenants/${routing.id}`, { headers: { cookie } })).text();
    const plainPage = await (await relayFetch(`/admin/console/tenants/${plain.id}`, { headers: { cookie } })).text();

    expect(routingPage).toContain('<dd class="waiting-traces">1 trace, 1 span (decided within 600 s at most)</dd>');
    expect(plainPage).not.toContain("Traces waiting for their parent");
  });

  it("replays a tenant's backlog a page a press, each press going on from where the last stopped", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant, 41);
    await waitForDeadLetters(tenant.id, (list) => list.length === 41);
    const cookie = await consoleSessionCookie();
    const pageAt = async (path: string) => (await relayFetch(path, { headers: { cookie } })).text();
    const press = async (html: string) => {
      const cursor = fieldIn(html, "cursor");
      const answer = await postForm("/admin/console/dead-letters/replay", cookie, {
        csrf: csrfIn(html),
        tenant: tenant.id,
        return_to: tenant.id,
        ...(cursor ? { cursor } : {}),
      });
      expect(answer.status).toBe(303);
      return pageAt(answer.headers.get("location")!);
    };

    const afterFirst = await press(await pageAt(`/admin/console/tenants/${tenant.id}`));
    const afterSecond = await press(afterFirst);

    expect(afterFirst).toContain(
      "Replayed 40 dead letters onto the delivery queue; each stays listed until delivered. More are left: replay again to go on from there.",
    );
    expect(afterFirst).toContain("Replay the next dead letters");
    expect(afterSecond).toContain("Replayed 1 dead letter onto the delivery queue; it stays listed until delivered.");
    expect(fieldIn(afterSecond, "cursor")).toBeUndefined();
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("counts a tenant's dead letters past one page of R2's list as that page and more; deleting the tenant deletes every one", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant);
    await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    const [key] = await storedDeadLetterKeys(tenant.id);
    const kept = (await env.PAYLOADS.get(key!))!;
    const body = await kept.arrayBuffer();
    // A thousand more, as an outage of a day leaves them. R2 lists a thousand keys a call at most, and
    // fewer when it returns their metadata too (a hundred in miniflare).
    for (let i = 0; i < 1_000; i++)
      await env.PAYLOADS.put(`dead-letters/${tenant.id}/${crypto.randomUUID()}`, body, { customMetadata: kept.customMetadata });
    const cookie = await consoleSessionCookie();
    const page = (await (await admin("GET", `/dead-letters?tenant=${tenant.id}&limit=1000`)).json()) as DeadLetterPage;
    expect(page.cursor).not.toBeNull();
    const shown = page.dead_letters.length.toLocaleString("en-US");

    const row = await overviewRow(tenant.id, cookie);
    expect(row).toContain(`<td class="num dead-letter-count" data-label="Dead letters">${shown}+</td>`);
    expect(row).toContain(`<li class="bad">${shown}+ dead letters to replay or delete</li>`);

    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);
    expect(await storedDeadLetterKeys(tenant.id)).toEqual([]);
  });

  it("lists dead letters with the parent their spans were for, and narrows the list to the tenant its form names", async () => {
    const [tenant, other] = await Promise.all([createTenant({ parent: "project_name:billing" }), createTenant()]);
    await Promise.all([deadLettersFor(tenant), deadLettersFor(other)]);
    const [letter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    await waitForDeadLetters(other.id, (list) => list.length === 1);
    const cookie = await consoleSessionCookie();
    const pageAt = async (path: string) => (await relayFetch(path, { headers: { cookie } })).text();

    // The form as a browser sends it: a GET of the page with the tenant typed in, or left empty.
    const narrowed = await pageAt(`/admin/console/dead-letters?tenant=${tenant.id}`);
    const emptied = await pageAt("/admin/console/dead-letters?tenant=");

    expect(narrowed).toContain(`<h1>Dead letters of ${tenant.id}</h1>`);
    expect(narrowed).toContain(`name="tenant" pattern="[a-z0-9_\\-]{1,64}" autocomplete="off" value="${tenant.id}"`);
    expect(narrowed).toContain('<a href="/admin/console/dead-letters">All tenants</a>');
    const row = narrowed.slice(narrowed.indexOf(`data-dead-letter="${letter!.id}"`));
    expect(row.slice(0, row.indexOf("</tr>"))).toContain('<td class="mono">project_name:billing</td>');
    expect(narrowed).not.toContain(`data-dead-letter="${other.id}:`);
    expect(emptied).toContain("<h1>Dead letters</h1>");
    expect(emptied).toContain('<form method="get" action="/admin/console/dead-letters" class="filter">');
    expect(emptied).not.toContain("All tenants");
  });

  it("returns a dead letter's delete or replay on the dead letters page to that page as it was filtered, its rows' controls named by id", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant, 3);
    const [first, second, third] = await waitForDeadLetters(tenant.id, (list) => list.length === 3);
    const cookie = await consoleSessionCookie();
    const listPath = `/admin/console/dead-letters?tenant=${tenant.id}`;
    const page = await (await relayFetch(listPath, { headers: { cookie } })).text();
    const csrf = csrfIn(page);

    expect(page).toContain(`<input type="hidden" name="return_list" value="${listPath}"/>`);
    expect(page).toContain(`aria-label="Replay dead letter ${first!.id}"`);
    expect(page).toContain(`aria-label="Delete… ${second!.id}"`);
    expect(page).toContain(`aria-label="Delete dead letter ${second!.id}"`);
    const deleted = await postForm(`/admin/console/dead-letters/${encodeURIComponent(first!.id)}/delete`, cookie, {
      csrf,
      return_list: listPath,
    });
    const replayed = await postForm("/admin/console/dead-letters/replay", cookie, { csrf, id: second!.id, return_list: listPath });
    // A path that is no dead letters page returns to the dead letters page.
    const elsewhere = await postForm(`/admin/console/dead-letters/${encodeURIComponent(third!.id)}/delete`, cookie, {
      csrf,
      return_list: "https://elsewhere.test/",
    });

    expect(deleted.headers.get("location")).toMatch(new RegExp(`^${listPath.replace("?", "\\?")}&done=dead-letter-deleted&${SIGNED}$`));
    expect(replayed.headers.get("location")).toMatch(new RegExp(`^${listPath.replace("?", "\\?")}&done=replayed&replayed=1&.*&${SIGNED}$`));
    expect(elsewhere.headers.get("location")).toMatch(new RegExp(`^/admin/console/dead-letters\\?done=dead-letter-deleted&${SIGNED}$`));
    const after = await (await relayFetch(deleted.headers.get("location")!, { headers: { cookie } })).text();
    expect(after).toContain(`<h1>Dead letters of ${tenant.id}</h1>`);
  });

  it("shows the API's 404 naming the tenant when a replay's tenant does not exist (deleted since its page was opened)", async () => {
    const tenant = await createTenant();
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);

    const answer = await postForm("/admin/console/dead-letters/replay", cookie, {
      csrf: csrfIn(page),
      tenant: tenant.id,
      return_to: tenant.id,
    });

    expect(answer.status).toBe(404);
    expect(refusalShown(await answer.text())).toBe(`no such tenant: ${tenant.id}`);
  });

  it("refuses a replay form naming no dead letter, no tenant and not all of them (one cut short, or made by hand) with 400, replaying none", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant);
    await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    const queue = recordingQueue();

    const answer = await postForm(
      "/admin/console/dead-letters/replay",
      cookie,
      { csrf: csrfIn(page), return_to: tenant.id },
      { DELIVERY_QUEUE: queue },
    );

    expect(answer.status).toBe(400);
    expect(refusalShown(await answer.text())).toBe(
      "the replay form names no dead letter, no tenant and not every tenant's dead letters: send it from the console's own page",
    );
    expect(queue.sent).toEqual([]);
  });

  it("says which dead letters a press left to a replay already under way, and replays none of them again", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    // Replayed already, by the CLI say, and not yet delivered: its message waits on a queue that never delivers it.
    expect((await adminWith({ DELIVERY_QUEUE: recordingQueue() }, "POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(
      200,
    );
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();

    const answer = await postForm("/admin/console/dead-letters/replay", cookie, {
      csrf: csrfIn(page),
      tenant: tenant.id,
      return_to: tenant.id,
    });

    expect(answer.status).toBe(303);
    const after = await (await relayFetch(answer.headers.get("location")!, { headers: { cookie } })).text();
    expect(after).toContain("Replayed 0 dead letters onto the delivery queue. 1 dead letter already being replayed, left to that replay.");
    expect(await deadLettersOf(tenant.id)).toEqual([deadLetter]);
  });

  it("saves a tenant's form only over the tenant it showed, and creates only a tenant that does not exist yet (412 otherwise)", async () => {
    const tenant = await createTenant();
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    const hidden = (name: string) => fieldIn(page, name)!;
    const form = (fields: Record<string, string>) => ({
      csrf: hidden("csrf"),
      parent: "project_name:from-the-form",
      api_url: standin.url,
      key: "keep",
      settings: "{}",
      ...fields,
    });
    // Its own form goes to the tenant's address; the new tenant form to the tenants'.
    const save = (revision: string) => postForm(`/admin/console/tenants/${tenant.id}`, cookie, form({ revision }));
    const create = () => postForm("/admin/console/tenants", cookie, form({ tenant: tenant.id }));
    const parentNow = async () => ((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { parent: string }).parent;
    expect(hidden("revision")).toBe((await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag"));

    // Another operator saves first.
    await admin("PUT", `/tenants/${tenant.id}`, { parent: "project_name:meanwhile", redact: { keys: [{ pattern: "x-secret" }] } });
    const stale = await save(hidden("revision"));
    const created = await create();

    expect(stale.status).toBe(412);
    // The tenant's page again, the tenant as it is now, the form as it was sent, saving over what the page now shows.
    const stalePage = await stale.text();
    const changed = `tenant ${tenant.id} was changed by someone else since this page was loaded: nothing was saved; the page shows the tenant as it is now and the form what you sent: check it and save again to replace the change`;
    expect(stalePage).toContain(`<p class="notice error" role="status">Not saved: ${changed}.</p>`);
    expect(stalePage).toContain("project_name:meanwhile");
    expect(stalePage).toContain('name="parent" required="" value="project_name:from-the-form"');
    // The settings made meanwhile, which the page shows nowhere else, beside the form's.
    const settingsNow = /<details open="" class="settings-now"><summary>[^<]*<\/summary><pre>([^<]*)<\/pre>/.exec(stalePage)?.[1];
    expect(JSON.parse(settingsNow!.replaceAll("&quot;", '"')).redact.keys).toEqual([
      { pattern: "x-secret", action: "remove", replacement: "[REDACTED]" },
    ]);
    expect(fieldIn(stalePage, "revision")!).toBe((await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag"));
    expect(await parentNow()).toBe("project_name:meanwhile");
    expect(created.status).toBe(412);
    // The new tenant's form again, as it was typed, the refusal beside the id.
    const createdPage = await created.text();
    const taken = `tenant: ${tenant.id} already exists: nothing was saved; choose another id, or open it from the list to change it`;
    expect(createdPage).toContain(`<p class="notice error" role="status">Not created: ${taken}. <a href="#new-tenant">`);
    expect(createdPage).toContain(
      `value="${tenant.id}" aria-invalid="true" aria-describedby="error-tenant"/><span class="field-error" id="error-tenant">${taken}</span>`,
    );
    expect(createdPage).toContain('name="parent" required="" value="project_name:from-the-form"');
    expect(await parentNow()).toBe("project_name:meanwhile");
    expect((await save(fieldIn(stalePage, "revision")!)).status).toBe(303);
    expect(await parentNow()).toBe("project_name:from-the-form");

    // Deleted meanwhile: no page to show the form on.
    const before = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    await admin("DELETE", `/tenants/${tenant.id}`);
    const gone = await save(fieldIn(before, "revision")!);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain(`tenant ${tenant.id} was deleted by someone else since this page was loaded: nothing was saved`);
  });

  it("words a replay's notice only for counts a replay can give, should a signed link carry others", async () => {
    const notice = async (query: Record<string, string>) => noticeOf({ done: "replayed", ...query });

    expect(await notice({ replayed: "40", orphaned: "0", replaying: "2" })).toBe(
      "Replayed 40 dead letters onto the delivery queue; each stays listed until delivered. 2 dead letters already being replayed, left to that replay.",
    );
    for (const replayed of ["41", "99999999999999999999", "-5", "1e2", "3 "]) {
      expect(await notice({ replayed, orphaned: "0", replaying: "0" }), replayed).toBeUndefined();
    }
    expect(await notice({ replayed: "1", orphaned: "100", replaying: "0" })).toBeUndefined();
    expect(await notice({ replayed: "3", orphaned: "0", replaying: "0", unavailable: "2" })).toBe(
      "Replayed 3 dead letters onto the delivery queue; each stays listed until delivered. 2 dead letters not replayed: the Durable Objects of their tenants did not answer; replay them again.",
    );
    expect(await notice({ replayed: "3", orphaned: "0", replaying: "0", unavailable: "41" })).toBeUndefined();
  });

  it("says a later page with nothing on it is empty, with a link back to the first page, not that there is nothing at all", async () => {
    const cookie = await consoleSessionCookie();
    const cursorOf = async (path: string) => ((await (await admin("GET", path)).json()) as { cursor: string | null }).cursor!;
    const emptyPage = (html: string) =>
      /<p class="muted empty-page">(.*?)<\/p>/s
        .exec(html)?.[1]
        ?.replace(/<a href="([^"]*)">/, "[$1]")
        .replaceAll("</a>", "")
        .replaceAll("&amp;", "&");
    const pageAt = async (path: string, query: Record<string, string>) =>
      (await relayFetch(`${path}?${new URLSearchParams(query)}`, { headers: { cookie } })).text();
    // Two tenants after every other: the page after the first of them is the second's, which then goes.
    const run = crypto.randomUUID().slice(0, 8);
    const [kept, gone] = [`zzzz-${run}-a`, `zzzz-${run}-b`];
    for (const id of [kept, gone]) expect((await admin("PUT", `/tenants/${id}`, { parent: "project_id:p" })).status).toBe(201);
    const listed = ((await (await admin("GET", "/tenants?limit=1000")).json()) as { tenants: { id: string }[] }).tenants;
    const tenantsAfterKept = await cursorOf(`/tenants?limit=${listed.findIndex(({ id }) => id === kept) + 1}`);
    expect((await admin("DELETE", `/tenants/${gone}`)).status).toBe(204);
    // A tenant's second dead letter, deleted once its page's cursor was given.
    const tenant = await createTenant();
    await deadLettersFor(tenant, 2);
    const [, second] = await waitForDeadLetters(tenant.id, (list) => list.length === 2);
    const deadLettersAfterFirst = await cursorOf(`/dead-letters?tenant=${tenant.id}&limit=1`);
    expect((await admin("DELETE", `/dead-letters/${encodeURIComponent(second!.id)}`)).status).toBe(204);

    const tenants = await pageAt("/admin/", { cursor: tenantsAfterKept });
    const stats = await pageAt("/admin/console/stats", { window: "24h", cursor: tenantsAfterKept });
    const deadLetters = await pageAt("/admin/console/dead-letters", { tenant: tenant.id, cursor: deadLettersAfterFirst });

    expect(emptyPage(tenants)).toBe("No tenants on this page. [/admin/]Back to the first page.");
    expect(tenants).not.toContain("No tenants yet");
    expect(emptyPage(stats)).toBe("No tenants on this page. [/admin/console/stats?window=24h]Back to the first page.");
    expect(stats).not.toContain("No tenants yet");
    expect(emptyPage(deadLetters)).toBe(
      `No dead letters on this page. [/admin/console/dead-letters?tenant=${tenant.id}]Back to the first page.`,
    );
    expect(deadLetters).not.toContain("No dead letters.");
    // The first pages are not later pages.
    expect(emptyPage(await pageAt("/admin/console/dead-letters", { tenant: uniqueTenantId() }))).toBeUndefined();
  });
});
