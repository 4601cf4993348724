import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ADMIN_TOKEN, adminCall, type RelayProcess, startRelay } from "../../scripts/lib/wrangler-dev.js";
import { standinClient } from "../standin/client.js";
import { launchChromium, screenshot } from "./browser.js";
import { sendGatewayTraces } from "./spans.js";

const standin = standinClient(inject("standinUrl"));
let relay: RelayProcess;
let browser: Browser;
/** Every URL any page asked for: the console loads nothing from anywhere but the relay. */
const requested: string[] = [];

beforeAll(async () => {
  // Statistics reach the tenant's object right after each request, so a page shows them at once.
  // Both awaited to the end, not given up at the first refusal: should Chromium be missing, the
  // relay still starting is stopped after it, not left running.
  const [started, launched] = await Promise.allSettled([startRelay({ STATS_FLUSH_SECONDS: "0" }), launchChromium()]);
  if (started.status === "fulfilled") relay = started.value;
  if (launched.status === "fulfilled") browser = launched.value;
  for (const outcome of [launched, started]) if (outcome.status === "rejected") throw outcome.reason;
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.on("request", (request) => requested.push(request.url()));
  return { context, page };
}

async function logIn(page: Page): Promise<void> {
  await page.goto(`${relay.url}/admin/`);
  await page.fill("input[name=token]", ADMIN_TOKEN);
  await Promise.all([page.waitForURL(`${relay.url}/admin/`), page.click("button:text('Log in')")]);
}

/** Through the console's new-tenant form, as an operator would. */
async function createTenant(page: Page, tenant: { id: string; parent: string; apiKey: string }): Promise<void> {
  await page.goto(`${relay.url}/admin/`);
  const form = page.locator("form.tenant-form");
  await form.locator("input[name=tenant]").fill(tenant.id);
  await form.locator("input[name=parent]").fill(tenant.parent);
  await form.locator("input[name=api_url]").fill(standin.url);
  await form.locator("input[name=key][value=store]").check();
  // By its label, as a screen reader names the field.
  await form.getByLabel("Braintrust API key to store", { exact: true }).fill(tenant.apiKey);
  await Promise.all([page.waitForURL(/\/admin\/console\/tenants\//), form.locator("button[type=submit]").click()]);
}

async function issueToken(page: Page): Promise<{ id: string; token: string }> {
  await Promise.all([page.waitForURL(/done=issued/), page.click("button:text('Issue a token')")]);
  const token = (await page.locator("code.token").textContent()) ?? "";
  const id = /^tbr_([0-9a-f]+)_/.exec(token)?.[1] ?? "";
  return { id, token };
}

/** Reloads `path` until `read` gives what `done` wants, as an operator would refresh: counts arrive just after each request. */
async function reloadUntil<T>(page: Page, path: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await page.goto(`${relay.url}${path}`);
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe("the admin console in Chromium, against the relay under wrangler dev", () => {
  it("logs in with the admin token in a form, into a short HttpOnly, SameSite=Strict session, and out again", async () => {
    const { context, page } = await newPage();
    const first = await page.goto(`${relay.url}/admin/`);
    expect(page.url()).toBe(`${relay.url}/admin/console/login`);
    expect(first?.headers()["content-security-policy"]).toContain("default-src 'none'");
    await screenshot(page, "login");

    await page.fill("input[name=token]", "not-the-token");
    await page.click("button:text('Log in')");
    await expect(page.locator(".notice.error").textContent()).resolves.toBe("That is not the admin token.");
    expect(await context.cookies()).toEqual([]);

    await logIn(page);
    expect(page.url()).toBe(`${relay.url}/admin/`);
    // The first test: no tenant exists yet, and the pages say so rather than show an empty table.
    await expect(page.locator("main p.muted").first().textContent()).resolves.toBe("No tenants yet: create one below.");
    await Promise.all([page.waitForURL(/\/admin\/console\/stats/), page.click("nav a:text('Statistics')")]);
    await expect(page.locator("table.stats").count()).resolves.toBe(0);
    await expect(page.locator("main p.muted").textContent()).resolves.toBe("No tenants yet: create one on the tenants page.");
    await Promise.all([page.waitForURL(`${relay.url}/admin/`), page.click("main a:text('create one')")]);
    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    // Secure everywhere but here, at localhost over http, where Safari would drop it (console-sessions.test.ts checks the rest).
    expect(cookie).toMatchObject({ name: "tfy_relay_console", httpOnly: true, secure: false, sameSite: "Strict", path: "/admin" });
    const minutesLeft = (cookie!.expires * 1000 - Date.now()) / 60_000;
    expect(minutesLeft).toBeGreaterThan(25);
    expect(minutesLeft).toBeLessThanOrEqual(30);
    // Out of reach of any script on the page.
    expect(await page.evaluate(() => document.cookie)).toBe("");

    await Promise.all([page.waitForURL(`${relay.url}/admin/console/login`), page.click("button:text('Log out')")]);
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${relay.url}/admin/`);
    expect(page.url()).toBe(`${relay.url}/admin/console/login`);
    await context.close();
  });

  it("takes a keyboard past the header with its first Tab, and marks in the header the page it is on", async () => {
    const { context, page } = await newPage();
    await logIn(page);

    await page.keyboard.press("Tab");
    const skip = page.locator("a.skip");
    await expect(skip.evaluate((link) => link === document.activeElement)).resolves.toBe(true);
    const box = await skip.boundingBox();
    expect(box && box.x >= 0 && box.y >= 0 && box.width > 0).toBe(true);
    await page.keyboard.press("Enter");
    // Following the link is the key's default action, done after press() returns: the URL changes a moment later.
    await expect.poll(() => page.url()).toBe(`${relay.url}/admin/#content`);
    await expect(page.evaluate(() => document.querySelector(":target")?.tagName)).resolves.toBe("MAIN");
    await expect(page.locator("nav a[aria-current=page]").allTextContents()).resolves.toEqual(["Tenants"]);
    for (const [link, path] of [
      ["Statistics", "/admin/console/stats"],
      ["Dead letters", "/admin/console/dead-letters"],
    ]) {
      await Promise.all([page.waitForURL(`${relay.url}${path}`), page.click(`nav a:text('${link}')`)]);
      await expect(page.locator("nav a[aria-current=page]").allTextContents()).resolves.toEqual([link]);
    }
    await context.close();
  });

  it("creates a tenant, issues a token shown once that the relay then takes, and revokes it so the relay refuses it", async () => {
    const { context, page } = await newPage();
    await logIn(page);
    const apiKey = await standin.issueKey();
    await createTenant(page, { id: "console-tokens", parent: "project_name:console tokens", apiKey });
    await expect(page.locator(".notice").first().textContent()).resolves.toBe("Tenant created.");
    expect(await page.content()).not.toContain(apiKey);

    const issued = await issueToken(page);
    expect(issued.token).toMatch(/^tbr_[0-9a-f]{16}_/);
    await screenshot(page, "tenant-token-issued");
    expect(await sendGatewayTraces(relay.url, "console-tokens", issued.token)).toMatchObject({ status: 200 });

    // A reload of the page that showed the token shows it no more, and issues no other.
    await page.reload();
    expect(await page.content()).not.toContain(issued.token);
    await expect(page.locator(".notice").first().textContent()).resolves.toMatch(/^Token issued\. It was shown once, .* issue another\.$/);
    await screenshot(page, "tenant-token-reloaded");
    const tokens = async () => ((await (await adminCall(relay, "GET", "/tenants/console-tokens")).json()) as { tokens: unknown[] }).tokens;
    await expect(tokens()).resolves.toHaveLength(1);

    await page.goto(`${relay.url}/admin/console/tenants/console-tokens`);
    expect(await page.content()).not.toContain(issued.token);
    const row = page.locator(`tr[data-token="${issued.id}"]`);
    await expect(row.count()).resolves.toBe(1);
    // When it was issued, in UTC and saying so; the exact moment stays in the element's datetime.
    const created = row.locator("time");
    await expect(created.textContent()).resolves.toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await expect(created.getAttribute("datetime")).resolves.toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // Revoking takes two presses: the first only opens the confirmation, and says what revoking does.
    await expect(row.locator("button:visible").count()).resolves.toBe(0);
    await row.locator("summary:text('Revoke')").click();
    await expect(row.locator(".warning").textContent()).resolves.toBe(
      "Requests with this token are refused from then on (within the time a change takes to apply).",
    );
    expect(await sendGatewayTraces(relay.url, "console-tokens", issued.token)).toMatchObject({ status: 200 });
    await screenshot(page, "tenant-token-revoke-confirm");
    await Promise.all([page.waitForURL(/done=revoked/), row.locator(`button:text('Revoke ${issued.id}')`).click()]);
    await expect(page.locator(`tr[data-token="${issued.id}"]`).count()).resolves.toBe(0);
    expect(await sendGatewayTraces(relay.url, "console-tokens", issued.token)).toMatchObject({ status: 401 });
    // The admin API holds what the console showed.
    const tenant = (await (await adminCall(relay, "GET", "/tenants/console-tokens")).json()) as { tokens: unknown[]; auth: string };
    expect(tenant).toMatchObject({ auth: "stored_key", tokens: [] });
    await context.close();
  });

  it("shows spans sent with the real OpenTelemetry exporter in the counts and the charts", async () => {
    const { context, page } = await newPage();
    await logIn(page);
    const apiKey = await standin.issueKey();
    await createTenant(page, { id: "console-traffic", parent: "project_name:console traffic", apiKey });
    const { token } = await issueToken(page);
    const row = page.locator('tr[data-tenant="console-traffic"]');
    const chartTotal = () => row.locator("svg.chart.traffic").getAttribute("data-total");
    await page.goto(`${relay.url}/admin/`);
    await expect(chartTotal()).resolves.toBe("0");
    await expect(row.locator("svg.chart.traffic rect").count()).resolves.toBe(0);

    const sent = await sendGatewayTraces(relay.url, "console-traffic", token);
    expect(sent.status).toBe(200);

    await expect(reloadUntil(page, "/admin/", chartTotal, (total) => total === String(sent.spanIds.length))).resolves.toBe(
      String(sent.spanIds.length),
    );
    // The current minute's bar, drawn.
    await expect(row.locator("svg.chart.traffic rect").count()).resolves.toBe(1);
    // Its scale: the busiest minute's number at the top, 0 at the baseline; an hour without errors has no top.
    const scale = (tone: string) => row.locator(".minute-chart", { has: page.locator(`svg.chart.${tone}`) }).locator(".scale");
    await expect(scale("traffic").locator(".max").textContent()).resolves.toBe(String(sent.spanIds.length));
    await expect(scale("traffic").locator(".zero").textContent()).resolves.toBe("0");
    await expect(scale("errors").textContent()).resolves.toBe("0");
    await expect(row.locator("td.waiting").textContent()).resolves.toBe("0");
    // Each number says what it counts.
    await expect(page.locator("table.tenants th.num").allTextContents()).resolves.toEqual(["Dead letters", "Spans queued"]);
    await screenshot(page, "tenants");

    await page.goto(`${relay.url}/admin/console/tenants/console-traffic`);
    // The 1h row: requests, received, accepted, rejected, delivered.
    const described = async (table: string) => page.locator(`#${await page.locator(table).getAttribute("aria-describedby")}`).textContent();
    await expect(described("table.windows")).resolves.toBe(
      "Requests, then spans: received, accepted, rejected, delivered, retried, dead-lettered. p50 and p99: Braintrust's answer time, in ms.",
    );
    // Each chart says its unit, and its scale what the tallest bar stands for.
    const received = page.locator(".charts figure", { has: page.locator("svg.chart.traffic[aria-label^='spans received']") });
    await expect(received.locator("figcaption").textContent()).resolves.toBe("spans received / min, last hour");
    await expect(received.locator(".scale .max").textContent()).resolves.toBe(String(sent.spanIds.length));
    const hour = await page.locator('table.windows tr[data-window="1h"] td').allTextContents();
    expect(hour.slice(1, 6)).toEqual(["1", String(sent.spanIds.length), String(sent.spanIds.length), "0", String(sent.spanIds.length)]);
    await screenshot(page, "tenant");

    // Every tenant over a window, as `tfy-relay stats --window 24h` prints them.
    await page.click("nav a:text('Statistics')");
    await Promise.all([page.waitForURL(/window=24h/), page.click("a.window:text('24h')")]);
    await expect(described("table.stats")).resolves.toMatch(/^Requests, then spans: .* in ms\.$/);
    const line = await page.locator('table.stats tr[data-tenant="console-traffic"] td').allTextContents();
    expect(line.slice(0, 6)).toEqual([
      "console-traffic",
      "1",
      String(sent.spanIds.length),
      String(sent.spanIds.length),
      "0",
      String(sent.spanIds.length),
    ]);
    await screenshot(page, "stats");
    await context.close();
  });

  it("shows Braintrust's error and a tenant's parent with HTML in them as text, and replays and deletes the dead letter", async () => {
    const { context, page } = await newPage();
    await logIn(page);
    const apiKey = await standin.issueKey();
    const hostileParent = "project_name:<script>document.title='pwned'</script>";
    await createTenant(page, { id: "console-dead", parent: hostileParent, apiKey });
    const { token } = await issueToken(page);
    const hostileError = `<b id="injected">bold</b><img src="x" onerror="document.title='pwned'">`;
    // Braintrust refuses the spans for good: they become a dead letter, with its answer as the reason.
    await standin.script(apiKey, [{ status: 400, body: hostileError }]);
    const sent = await sendGatewayTraces(relay.url, "console-dead", token);

    const row = page.locator('tr[data-tenant="console-dead"]');
    // The dead letter is in R2 when the request is answered; the error's counts reach the tenant's object just after.
    await reloadUntil(
      page,
      "/admin/",
      async () => [
        await row.locator("td.dead-letter-count").textContent(),
        await row.locator("svg.chart.errors").getAttribute("data-total"),
      ],
      ([count, errors]) => count === "1" && errors !== "0",
    );
    await expect(row.locator("td.dead-letter-count").textContent()).resolves.toBe("1");
    await expect(row.locator("td.error").textContent()).resolves.toContain(hostileError);
    await expect(row.locator("td.parent").textContent()).resolves.toBe(hostileParent);
    await screenshot(page, "tenants-dead-letter");
    // The one upstream attempt Braintrust refused.
    await expect(row.locator("svg.chart.errors").getAttribute("data-total")).resolves.toBe("1");
    await expect(page.locator("#injected, script, img").count()).resolves.toBe(0);
    expect(await page.title()).not.toBe("pwned");

    await page.goto(`${relay.url}/admin/console/tenants/console-dead`);
    const deadLetter = page.locator("table.dead-letters tbody tr");
    await expect(deadLetter.count()).resolves.toBe(1);
    await expect(deadLetter.locator("td.reason").textContent()).resolves.toContain(hostileError);
    await expect(deadLetter.locator("time").textContent()).resolves.toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await expect(page.locator("#injected, script, img").count()).resolves.toBe(0);
    await screenshot(page, "tenant-dead-letter");
    // Everyone's dead letters name each one's tenant, a link to its page.
    const id = await deadLetter.getAttribute("data-dead-letter");
    await page.goto(`${relay.url}/admin/console/dead-letters`);
    const listed = page.locator(`table.dead-letters tr[data-dead-letter="${id}"]`);
    await Promise.all([
      page.waitForURL(`${relay.url}/admin/console/tenants/console-dead`),
      listed.getByRole("link", { name: "console-dead", exact: true }).click(),
    ]);

    await Promise.all([page.waitForURL(/done=replayed/), deadLetter.locator("button:text('Replay')").click()]);
    await expect(page.locator(".notice").first().textContent()).resolves.toBe(
      "Replayed 1 dead letter onto the delivery queue; it stays listed until delivered.",
    );
    await expect(standin.waitForSpans(apiKey, sent.spanIds)).resolves.toMatchObject({ missing: [] });

    // Delivered, the dead letter is gone.
    await expect(
      reloadUntil(
        page,
        "/admin/console/tenants/console-dead",
        () => deadLetter.count(),
        (n) => n === 0,
      ),
    ).resolves.toBe(0);

    // One that is not worth replaying is deleted.
    await standin.script(apiKey, [{ status: 400, body: "refused again" }]);
    await sendGatewayTraces(relay.url, "console-dead", token);
    await reloadUntil(
      page,
      "/admin/console/tenants/console-dead",
      () => deadLetter.count(),
      (n) => n === 1,
    );
    // Deleting takes two presses: the first only opens the confirmation, and says what is lost.
    await expect(deadLetter.locator("button.danger:visible").count()).resolves.toBe(0);
    await deadLetter.locator("summary:text('Delete')").click();
    await expect(deadLetter.locator(".warning").textContent()).resolves.toMatch(/^Its spans \(\d+ spans?\) are gone for good\.$/);
    await expect(deadLetter.count()).resolves.toBe(1);
    await Promise.all([page.waitForURL(/done=dead-letter-deleted/), deadLetter.locator("button:text('Delete dead letter')").click()]);
    await expect(page.locator(".notice").first().textContent()).resolves.toBe("Dead letter deleted.");
    await expect(deadLetter.count()).resolves.toBe(0);
    await expect(adminCall(relay, "GET", "/dead-letters?tenant=console-dead").then((r) => r.json())).resolves.toMatchObject({
      dead_letters: [],
    });
    await page.goto(`${relay.url}/admin/console/dead-letters`);
    await screenshot(page, "dead-letters");
    expect(await page.title()).not.toBe("pwned");
    await context.close();
  });

  it("asks again before replaying every tenant's dead letters, saying what a replay does", async () => {
    const { context, page } = await newPage();
    await logIn(page);
    const replayAll = page.locator("details.confirm", { has: page.locator("summary:text('Replay all dead letters')") });
    await expect(page.locator("button:visible:text('Replay all dead letters')").count()).resolves.toBe(0);

    await replayAll.locator("summary").click();
    await expect(replayAll.locator(".warning").textContent()).resolves.toBe(
      "Puts every tenant's dead letters back on the delivery queue, 40 a press; spans Braintrust still refuses come back as dead letters.",
    );
    await screenshot(page, "tenants-replay-all-confirm");
    await Promise.all([page.waitForURL(/done=replayed/), replayAll.locator("button:text('Replay all dead letters')").click()]);
    await expect(page.locator(".notice").first().textContent()).resolves.toMatch(
      /^Replayed \d+ dead letters? onto the delivery queue(; (it|each) stays listed until delivered)?\./,
    );
    await context.close();
  });

  it("changes a tenant through its form, keeping its key unless told, makes it passthrough, and deletes it once its id is typed", async () => {
    const { context, page } = await newPage();
    await logIn(page);
    const apiKey = await standin.issueKey();
    await createTenant(page, { id: "console-edit", parent: "project_name:before", apiKey });
    await issueToken(page);

    const form = page.locator("form.tenant-form");
    await form.locator("input[name=parent]").fill("experiment_id:after");
    await form.locator("textarea[name=settings]").fill('{"translate": false, "rate_limit": {"requests_per_second": 5, "burst": 10}}');
    await Promise.all([page.waitForURL(/done=saved/), form.locator("button[type=submit]").click()]);
    const changed = (await (await adminCall(relay, "GET", "/tenants/console-edit")).json()) as Record<string, unknown>;
    expect(changed).toMatchObject({
      parent: "experiment_id:after",
      auth: "stored_key",
      translate: false,
      rate_limit: { requests_per_second: 5, burst: 10 },
      tokens: [expect.anything()],
    });
    // Not JSON: the admin API is not called, and the page says why.
    await form.locator("textarea[name=settings]").fill("{routes: [");
    await form.locator("button[type=submit]").click();
    await expect(page.locator(".notice.error").textContent()).resolves.toContain("settings: must be a JSON object");
    // Beside the field at fault, with what was typed there kept.
    const settingsField = form.locator("textarea[name=settings]");
    await expect(settingsField.inputValue()).resolves.toBe("{routes: [");
    await expect(settingsField.getAttribute("aria-invalid")).resolves.toBe("true");
    await expect(page.locator(`#${await settingsField.getAttribute("aria-describedby")}`).textContent()).resolves.toContain(
      "settings: must be a JSON object",
    );
    await screenshot(page, "tenant-settings-refused");

    await page.goto(`${relay.url}/admin/console/tenants/console-edit`);
    await form.locator("input[name=key][value=passthrough]").check();
    await Promise.all([page.waitForURL(/done=saved/), form.locator("button[type=submit]").click()]);
    await expect(adminCall(relay, "GET", "/tenants/console-edit").then((r) => r.json())).resolves.toMatchObject({
      auth: "passthrough",
      tokens: [],
    });

    const deletion = page.locator("form", { has: page.locator("input[name=confirm]") });
    await deletion.locator("input[name=confirm]").fill("not-this-one");
    await deletion.locator("button[type=submit]").click();
    await expect(page.locator(".notice.error").textContent()).resolves.toContain("type the tenant id");
    // On the tenant's page, beside the field.
    const confirm = deletion.locator("input[name=confirm]");
    await expect(confirm.getAttribute("aria-invalid")).resolves.toBe("true");
    await expect(page.locator(`#${await confirm.getAttribute("aria-describedby")}`).textContent()).resolves.toBe(
      "confirm: type the tenant id, console-edit, to delete the tenant",
    );
    expect((await adminCall(relay, "GET", "/tenants/console-edit")).status).toBe(200);

    await page.goto(`${relay.url}/admin/console/tenants/console-edit`);
    await deletion.locator("input[name=confirm]").fill("console-edit");
    await Promise.all([
      page.waitForURL(new RegExp(`^${relay.url}/admin/\\?done=deleted&notice_signature=[\\w-]{43}$`)),
      deletion.locator("button[type=submit]").click(),
    ]);
    await expect(page.locator('tr[data-tenant="console-edit"]').count()).resolves.toBe(0);
    expect((await adminCall(relay, "GET", "/tenants/console-edit")).status).toBe(404);
    await context.close();
  });

  it("shows a new tenant the admin API refuses again as typed, the refusal beside the field at fault, the key not echoed", async () => {
    const { context, page } = await newPage();
    await logIn(page);
    const form = page.locator("form.tenant-form");
    await form.locator("input[name=tenant]").fill("console-refused");
    await form.locator("input[name=parent]").fill("not-a-parent");
    await form.locator("input[name=key][value=store]").check();
    await form.getByLabel("Braintrust API key to store", { exact: true }).fill("sk-typed-key");
    await form.locator("button[type=submit]").click();

    const parent = form.locator("input[name=parent]");
    await expect(parent.getAttribute("aria-invalid")).resolves.toBe("true");
    const beside = page.locator(`#${await parent.getAttribute("aria-describedby")}`);
    await expect(beside.textContent()).resolves.toMatch(/^parent: /);
    await expect(page.locator(".notice.error").textContent()).resolves.toMatch(/^Not created: parent: /);
    await expect(parent.inputValue()).resolves.toBe("not-a-parent");
    await expect(form.locator("input[name=tenant]").inputValue()).resolves.toBe("console-refused");
    await expect(form.locator("input[name=key][value=store]").isChecked()).resolves.toBe(true);
    await expect(form.locator(".key-again").textContent()).resolves.toBe("Not shown again, for safety: type the key again before saving.");
    expect(await page.content()).not.toContain("sk-typed-key");
    await screenshot(page, "tenants-new-refused");
    expect((await adminCall(relay, "GET", "/tenants/console-refused")).status).toBe(404);
    await context.close();
  });

  it("keeps a refused edit at the tenant's address, which opened again shows the tenant's page as it is", async () => {
    expect((await adminCall(relay, "PUT", "/tenants/console-reload", { parent: "project_name:reload" })).status).toBe(201);
    const { context, page } = await newPage();
    await logIn(page);
    const tenantPage = `${relay.url}/admin/console/tenants/console-reload`;
    await page.goto(tenantPage);
    const form = page.locator("form.tenant-form");
    await form.locator("input[name=parent]").fill("not-a-parent");

    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      form.locator("button[type=submit]").click(),
    ]);
    await page.waitForLoadState();

    expect(refused.status()).toBe(400);
    expect(page.url()).toBe(tenantPage);
    await expect(page.locator(".notice.error").textContent()).resolves.toMatch(/^Not saved: parent: /);
    // The address opened again, as a copied link or Enter in the address bar does.
    await page.goto(page.url());
    expect(page.url()).toBe(tenantPage);
    await expect(page.locator("h1").textContent()).resolves.toContain("console-reload");
    await expect(form.locator("input[name=parent]").inputValue()).resolves.toBe("project_name:reload");
    await expect(page.locator(".notice.error").count()).resolves.toBe(0);
    await context.close();
  });

  it("saving a tenant's form unchanged changes none of its settings", async () => {
    const settings = {
      parent: "project_name:kept",
      routes: [{ match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:kept-evals" }],
      parent_from_attribute: true,
      trace_wait_seconds: 30,
      translate: false,
      keep_source_attributes: true,
      keep_caller_parent: true,
      drop_non_ai_spans: true,
      redact: { keys: [{ pattern: "tfy.prompt_variables", action: "remove", replacement: "[REDACTED]" }], values: ["emails"] },
      rate_limit: { requests_per_second: 5, burst: 10 },
    };
    expect((await adminCall(relay, "PUT", "/tenants/console-unchanged", settings)).status).toBe(201);
    const before = (await (await adminCall(relay, "GET", "/tenants/console-unchanged")).json()) as Record<string, unknown>;
    const { context, page } = await newPage();
    await logIn(page);

    await page.goto(`${relay.url}/admin/console/tenants/console-unchanged`);
    await Promise.all([page.waitForURL(/done=saved/), page.locator("form.tenant-form button[type=submit]").click()]);

    const after = (await (await adminCall(relay, "GET", "/tenants/console-unchanged")).json()) as Record<string, unknown>;
    expect({ ...after, updated_at: undefined }).toEqual({ ...before, updated_at: undefined });
    expect(after).toMatchObject(settings);
    await context.close();
  });

  it("refuses a change sent from another origin, or without the page's CSRF token, even with the session cookie", async () => {
    const { context, page } = await newPage();
    await logIn(page);
    const apiKey = await standin.issueKey();
    await createTenant(page, { id: "console-csrf", parent: "project_name:console csrf", apiKey });
    const csrf = (await page.locator("input[name=csrf]").first().getAttribute("value")) ?? "";
    const [cookie] = await context.cookies();
    const issue = (origin: string, form: Record<string, string>) =>
      fetch(`${relay.url}/admin/console/tenants/console-csrf/tokens`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie: `${cookie!.name}=${cookie!.value}`, origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form),
      });

    expect((await issue("https://evil.example", { csrf })).status).toBe(403);
    expect((await issue(relay.url, {})).status).toBe(403);
    expect((await issue(relay.url, { csrf: "forged" })).status).toBe(403);
    const tenant = (await (await adminCall(relay, "GET", "/tenants/console-csrf")).json()) as { tokens: unknown[] };
    expect(tenant.tokens).toEqual([]);
    // The same request from the page's own origin with its token is what the console sends.
    expect((await issue(relay.url, { csrf })).status).toBe(303);
    await context.close();
  });

  it("keeps every page within the window, on a desktop and on a phone, with a 64-character tenant id and a long route", async () => {
    const id = `console-wide-${"x".repeat(51)}`;
    const apiKey = await standin.issueKey();
    const settings = {
      parent: `project_name:${"a long project name ".repeat(20).trim()}`,
      braintrust: { api_url: standin.url, api_key: apiKey },
      routes: [
        { match: { field: "attributes.tfy.request.metadata.team", equals: "x".repeat(120) }, parent: `experiment_id:${"e".repeat(80)}` },
      ],
    };
    expect((await adminCall(relay, "PUT", `/tenants/${id}`, settings)).status).toBe(201);
    expect((await adminCall(relay, "POST", `/tenants/${id}/tokens`)).status).toBe(201);
    for (const width of [1280, 390]) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      await logIn(page);
      for (const [name, path] of [
        ["tenants", "/admin/"],
        ["tenant", `/admin/console/tenants/${id}`],
        ["stats", "/admin/console/stats"],
        ["dead-letters", "/admin/console/dead-letters"],
      ] as const) {
        await page.goto(`${relay.url}${path}`);
        await screenshot(page, `${name}-${width}`);
        // The page itself never scrolls sideways: a wide table scrolls in its own box, the header spans the window.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect({ page: name, width, overflow }).toEqual({ page: name, width, overflow: 0 });
        // What the statistics columns count is read whole, without scrolling the table.
        if (name === "tenant" || name === "stats") {
          const said = await page.getByText(/^Requests, then spans: /).boundingBox();
          expect(said!.x + said!.width, `${name} at ${width} px`).toBeLessThanOrEqual(width);
        }
        // The longest id wraps in its cell, where it would push the table's counts out of sight: on a phone its
        // first count is read without scrolling, on a desktop the whole row, its last upstream error too.
        if (name === "stats") {
          const row = page.locator(`tr[data-tenant="${id}"]`);
          for (const [what, cell] of [
            ["tenant", row.locator("td").first()],
            ["requests", row.locator("td.num").first()],
            ...(width === 390 ? [] : ([["last column", row.locator("td").last()]] as const)),
          ] as const) {
            const box = await cell.boundingBox();
            expect(box!.x + box!.width, `${what} at ${width} px`).toBeLessThanOrEqual(width);
          }
        }
        // A tenant's health is in sight without scrolling the table; on a phone, a card a tenant, its dead letters and last error too.
        if (name === "tenants") {
          const row = page.locator(`tr[data-tenant="${id}"]`);
          for (const label of width === 390 ? ["Health", "Dead letters", "Last upstream error"] : ["Health"]) {
            const cell = await row.locator(`td[data-label="${label}"]`).boundingBox();
            expect(cell!.x + cell!.width, `${label} at ${width} px`).toBeLessThanOrEqual(width);
          }
          // On a phone the parent reads across its card as every value does, beside its heading, where the others start.
          if (width === 390) {
            const columns = await row
              .locator("td[data-label]")
              .evaluateAll((cells) =>
                cells.map((cell) => [
                  cell.getAttribute("data-label"),
                  getComputedStyle(cell).gridTemplateColumns,
                  cell.getBoundingClientRect().width,
                ]),
              );
            const health = columns.find(([label]) => label === "Health")!;
            expect(columns.map(([label, grid, cellWidth]) => ({ label, grid, cellWidth }))).toEqual(
              columns.map(([label]) => ({ label, grid: health[1], cellWidth: health[2] })),
            );
          }
        }
      }
      await context.close();
    }
  });

  it("fits the tenants table in a desktop window, 1280 px and up, with every column filled: neither the page nor the table scrolls sideways", async () => {
    const { context, page } = await newPage();
    await logIn(page);
    const apiKey = await standin.issueKey();
    // A parent longer than its column shows, cut (whole in its title).
    await createTenant(page, { id: "console-fits", parent: "project_name:a-project-name-longer-than-its-column", apiKey });
    const { token } = await issueToken(page);
    // A passthrough tenant beside it: "passthrough" is the auth column's widest word, and does not wrap.
    expect((await adminCall(relay, "PUT", "/tenants/console-fits-passthrough", { parent: "project_name:p" })).status).toBe(201);
    // Every column filled: health with its concerns, a dead letter, the last upstream error, charts, LLM usage.
    await standin.script(apiKey, [{ status: 400, body: '{"error":"Project archived: restore it in Braintrust to send spans again"}' }]);
    await sendGatewayTraces(relay.url, "console-fits", token);
    await sendGatewayTraces(relay.url, "console-fits", token);
    const row = page.locator('tr[data-tenant="console-fits"]');
    await reloadUntil(
      page,
      "/admin/",
      async () => [
        await row.locator("td.dead-letter-count").textContent(),
        await row.locator("svg.chart").first().getAttribute("data-total"),
      ],
      ([count, received]) => count === "1" && received !== "0",
    );
    await context.close();

    for (const width of [1280, 1366]) {
      const sized = await browser.newContext({ viewport: { width, height: 900 } });
      const wide = await sized.newPage();
      await logIn(wide);
      await screenshot(wide, `tenants-fits-${width}`);
      const overflow = await wide.evaluate(() => {
        const box = document.querySelector("table.tenants")!.parentElement!;
        return {
          page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
          table: box.scrollWidth - box.clientWidth,
        };
      });
      expect({ width, overflow }).toEqual({ width, overflow: { page: 0, table: 0 } });
      await sized.close();
    }
  });

  it("loaded nothing from anywhere but the relay, and never put a token in a URL", () => {
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((url) => !url.startsWith(`${relay.url}/`))).toEqual([]);
    expect(requested.filter((url) => /token|tbr_/i.test(new URL(url).search))).toEqual([]);
  });
});
