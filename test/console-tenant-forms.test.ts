import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { hex } from "../src/encoding/bytes.js";
import { TRANSIENT_RETRY_AFTER_SECONDS } from "../src/http/retry-after.js";
import { failingBinding, failingObject } from "./support/bindings.js";
import {
  csrfIn,
  fieldIn,
  KEPT_KEY_IN_SETTINGS,
  logIn,
  postForm,
  refusalShown,
  SIGNED,
  tenantPageInSession,
  unescaped,
} from "./support/console.js";
import { deadLettersFor, waitForDeadLetters } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import {
  ADMIN_TOKEN,
  admin,
  consoleSessionCookie,
  createTenant,
  relayFetch,
  relayFetchWith,
  sendTraces,
  uniqueTenantId,
} from "./support/relay.js";
import { standin } from "./support/standin.js";

/** Saving, creating and deleting tenants and issuing tokens from the console's forms, and what its refusals show. */
describe("the console's tenant forms and tokens", () => {
  it("shows an unknown key of the settings JSON beside the settings, the form's field for the body it makes", async () => {
    const { tenant, cookie, tenantPage } = await tenantPageInSession();
    const page = await (await relayFetch(tenantPage, { headers: { cookie } })).text();
    const hidden = (name: string) => fieldIn(page, name)!;

    const refused = await postForm(tenantPage, cookie, {
      csrf: hidden("csrf"),
      revision: hidden("revision"),
      parent: tenant.parent,
      key: "keep",
      settings: '{"route": []}',
    });

    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(
      '<span class="field-error" id="error-settings">settings: &quot;route&quot; is not a known field</span>',
    );
  });

  it("names every column of a tenant's tables, and keeps its token form out of a paragraph, where HTML lets no form be", async () => {
    const { tenant, cookie, tenantPage } = await tenantPageInSession();
    await deadLettersFor(tenant, 1);
    await waitForDeadLetters(tenant.id, (list) => list.length === 1);

    const page = await (await relayFetch(tenantPage, { headers: { cookie } })).text();

    expect(page).toContain('<th>Created</th><th><span class="hidden-name">Revoke</span></th>');
    expect(page).toContain('<th>Reason</th><th><span class="hidden-name">Replay or delete</span></th>');
    expect(page).not.toMatch(/<th\s*\/>|<th><\/th>/);
    expect(page).toContain('<div class="issue"><form method="post" action="');
    expect(page).not.toMatch(/<p>\s*<form/);
  });

  it("says in a tenant's configuration whether it redacts, as tfy-relay tenants get does: its rules of each kind counted", async () => {
    const redact = {
      keys: [{ pattern: "tfy.prompt_variables" }],
      values: ["emails", { pattern: "ACCT-\\d{6}", replacement: "ACCT-******" }],
    };
    const tenant = await createTenant({ config: { redact } });
    const cookie = await consoleSessionCookie();

    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();

    expect(page).toContain("<dt>Redaction</dt><dd>1 key rule, 2 value rules</dd>");
  });

  it("says a tenant that stopped routing still sends the traces decided before to their parents, until when", async () => {
    const tenant = await createTenant({ config: { routes: [{ match: { field: "span_name", equals: "x" }, parent: "project_name:x" }] } });
    const cookie = await consoleSessionCookie();
    const put = await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, routes: [] });
    const { routed_until } = (await put.json()) as { routed_until: string };

    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();

    expect(page).toContain("No routes. Routing stopped: until");
    expect(page).toContain(`datetime="${routed_until}"`);
    expect(page).toContain("waiting for their trace");
  });

  it("says a refusal of what the form has no field for once, at the top of the page, beside none of the form's fields", async () => {
    const tenant = await createTenant();
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    const csrf = csrfIn(page);

    // The revision the form saves over goes as If-Match: one the API cannot read is refused as that header.
    const refused = await postForm(`/admin/console/tenants/${tenant.id}`, cookie, {
      csrf,
      revision: "not-a-revision",
      parent: tenant.parent,
      key: "keep",
      settings: "{}",
    });

    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html.match(/If-Match: must be/g)).toHaveLength(1);
    // With no link down to a field to change.
    expect(refusalShown(html)).toBe(
      'Not saved: If-Match: must be * or a list of entity tags such as "5f1c…", as an ETag header gives them.',
    );
    expect(html).not.toContain("aria-invalid");
    expect(html).not.toContain('class="field-error"');
  });

  it("issues a token with a form answered by a redirect to the tenant's page, which shows it once: a reload issues and shows no other", async () => {
    const { tenant, cookie, tenantPage, csrf, tokensNow } = await tenantPageInSession();
    const before = await tokensNow();
    const tokenIn = (html: string) => /<code class="token">([^<]*)<\/code>/.exec(html)?.[1];

    const posted = await postForm(`${tenantPage}/tokens`, cookie, { csrf });
    expect(posted.status).toBe(303);
    const issuedPage = posted.headers.get("location")!;
    expect(issuedPage).toMatch(new RegExp(`^${tenantPage}\\?done=issued&${SIGNED}$`));
    const handed = posted.headers.get("set-cookie")!;
    expect(handed).toMatch(
      new RegExp(`^tfy_relay_issued_token=v1\\.[\\w-]+\\.[\\w-]+; Max-Age=60; Path=${tenantPage}; HttpOnly; Secure; SameSite=Strict$`),
    );
    const withHanded = `${cookie}; ${handed.split(";")[0]}`;

    const shown = await relayFetch(issuedPage, { headers: { cookie: withHanded } });
    const token = tokenIn(await shown.text());
    const reloaded = await (await relayFetch(issuedPage, { headers: { cookie } })).text();
    // The same cookie, copied to another session: it opens for the session it was handed to only.
    const otherSession = await consoleSessionCookie();
    const elsewhere = await (await relayFetch(tenantPage, { headers: { cookie: `${otherSession}; ${handed.split(";")[0]}` } })).text();
    // And sent to another tenant's page in the same session, as its path keeps a browser from doing: it opens for its own tenant only.
    const otherTenant = await createTenant();
    const otherPage = await (await relayFetch(`/admin/console/tenants/${otherTenant.id}`, { headers: { cookie: withHanded } })).text();

    expect(shown.status).toBe(200);
    expect(token).toMatch(/^tbr_[0-9a-f]{16}_/);
    expect(handed).not.toContain(token);
    // Shown, the cookie is dropped: the browser sends it no more.
    expect(shown.headers.get("set-cookie")).toMatch(new RegExp(`^tfy_relay_issued_token=; Max-Age=0; Path=${tenantPage}; `));
    expect(tokenIn(reloaded)).toBeUndefined();
    expect(reloaded).toContain("Token issued. It was shown once, when this page first opened after issuing it, and is not shown again");
    expect(tokenIn(elsewhere)).toBeUndefined();
    expect(tokenIn(otherPage)).toBeUndefined();
    const after = await tokensNow();
    expect(after).toHaveLength(before.length + 1);
    expect(token).toContain(`tbr_${after.find(({ id }) => !before.some((b) => b.id === id))!.id}_`);
    expect((await sendTraces({ id: tenant.id, bearer: token! }, toProtobuf(trueFoundryTrace()))).status).toBe(200);
  });

  it("shows an issued token among other cookies of its name sent before it, as another host of the site may set", async () => {
    const { cookie, tenantPage, csrf } = await tenantPageInSession();
    const posted = await postForm(`${tenantPage}/tokens`, cookie, { csrf });
    const handed = posted.headers.get("set-cookie")!.split(";")[0]!;
    // Domain=<the site>, on the tenant's page's own path, set before the handover: a browser sends it first.
    const planted = "tfy_relay_issued_token=planted";

    const page = await (
      await relayFetch(posted.headers.get("location")!, { headers: { cookie: `${cookie}; ${planted}; ${handed}` } })
    ).text();

    expect(page).toMatch(/<code class="token">tbr_[0-9a-f]{16}_[^<]+<\/code>/);
  });

  it("issues one token for a form sent twice (a double click): the second press replaces the first's, and the page shows it", async () => {
    const { tenant, cookie, tenantPage, csrf, issueKey, tokensNow } = await tenantPageInSession();
    const before = await tokensNow();
    const press = () => postForm(`${tenantPage}/tokens`, cookie, { csrf, issue_key: issueKey });

    // The browser sends both presses with the cookies it had, and follows the last answer.
    const [first, second] = [await press(), await press()];
    const handed = second.headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await relayFetch(second.headers.get("location")!, { headers: { cookie: `${cookie}; ${handed}` } })).text();

    expect([first.status, second.status]).toEqual([303, 303]);
    const shown = /<code class="token">(tbr_([0-9a-f]{16})_[^<]*)<\/code>/.exec(page);
    const issued = (await tokensNow()).filter(({ id }) => !before.some((b) => b.id === id));
    expect(issued.map((t) => t.id)).toEqual([shown?.[2]]);
    expect((await sendTraces({ id: tenant.id, bearer: shown![1]! }, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    // Each showing of the page has a key of its own: pressed from a page opened again, the form issues another token.
    const again = fieldIn(page, "issue_key");
    expect(again).not.toBe(issueKey);
  });

  it("shows no token a second press of the same form replaced, when the presses crossed on the way, and says so", async () => {
    const { cookie, tenantPage, csrf, issueKey } = await tenantPageInSession();
    const press = () => postForm(`${tenantPage}/tokens`, cookie, { csrf, issue_key: issueKey });

    // The press the browser follows reached the relay first; the one before it, later, replaced its token.
    const followed = await press();
    await press();
    const handed = followed.headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await relayFetch(followed.headers.get("location")!, { headers: { cookie: `${cookie}; ${handed}` } })).text();

    expect(page).not.toContain('<code class="token">');
    expect(page).toContain("The token this press issued was replaced by another press of the same form");
  });

  it("revokes a token it could not hand to the tenant's page, ENCRYPTION_KEY missing, so no token stays issued unseen", async () => {
    const { cookie, tenantPage, csrf, tokensNow } = await tenantPageInSession();
    const before = await tokensNow();

    const posted = await postForm(`${tenantPage}/tokens`, cookie, { csrf }, { ENCRYPTION_KEY: undefined });

    expect(posted.status).toBe(503);
    expect(posted.headers.get("set-cookie") ?? "").not.toContain("tfy_relay_issued_token");
    expect(await posted.text()).not.toMatch(/tbr_[0-9a-f]{16}_/);
    expect(await tokensNow()).toEqual(before);
  });

  it("shows a tenant's ingest endpoint as the full URL the gateway's Traces endpoint takes, at the console's own address", async () => {
    const tenant = await createTenant();
    const cookie = await consoleSessionCookie();

    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();

    expect(page).toContain(`Ingest endpoint: <code class="ingest-url">https://relay.test/t/${tenant.id}/v1/traces</code>`);
  });

  it("offers as the Braintrust key's choices only those that differ: passthrough once, and as removing a key only where one is stored", async () => {
    const stored = await createTenant();
    const passthrough = await createTenant({ mode: "passthrough" });
    const cookie = await consoleSessionCookie();
    const keyChoices = async (path: string) => {
      const html = await (await relayFetch(path, { headers: { cookie } })).text();
      const fieldset = html.slice(html.indexOf("<legend>Braintrust API key</legend>"), html.indexOf("</fieldset>"));
      // The choices are the radio buttons' labels; the key's own field has a label of its own.
      const choices = Array.from(fieldset.matchAll(/<label>(.*?)<\/label>/gs), ([, label]) => label!).filter((label) =>
        label.includes('type="radio"'),
      );
      return choices.map((label) => {
        const value = /value="(\w+)"/.exec(label)![1]!;
        const text = label
          .replace(/<[^>]*>/g, "")
          .replace(/\s+/g, " ")
          .trim();
        return `${value}: ${text}`;
      });
    };

    expect(await keyChoices("/admin/")).toEqual([
      "passthrough: passthrough: clients send their own key",
      "store: store this key (write-only), clients use ingest tokens",
    ]);
    expect(await keyChoices(`/admin/console/tenants/${stored.id}`)).toEqual([
      "keep: keep as it is (a key is stored; it is never shown)",
      "passthrough: passthrough: clients send their own key (removes the stored key and its tokens)",
      "store: store this key (write-only), clients use ingest tokens",
    ]);
    expect(await keyChoices(`/admin/console/tenants/${passthrough.id}`)).toEqual([
      "keep: keep as it is (passthrough: clients send their own key)",
      "store: store this key (write-only), clients use ingest tokens",
    ]);
  });

  it("refuses a new tenant's id that a URL path would resolve (. or ..) with the id rule, beside the id", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);

    for (const id of [".", ".."]) {
      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant: id,
        parent: "project_name:p",
        key: "keep",
        settings: "{}",
      });

      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain(
        '<span class="field-error" id="error-tenant">tenant: ids are 1-64 characters of a-z, 0-9, - and _</span>',
      );
    }
  });

  it("never repeats the admin token pasted into a tenant form's address: the API refuses it as an id, masked", async () => {
    const { cookie, csrf } = await tenantPageInSession();

    const refused = await postForm(`/admin/console/tenants/${ADMIN_TOKEN}`, cookie, {
      csrf,
      revision: '"abc"',
      parent: "project_name:p",
      key: "keep",
      settings: "{}",
    });

    expect(refused.status).toBe(404);
    const html = await refused.text();
    expect(refusalShown(html)).toBe("no such tenant: [the admin token]");
    expect(html).not.toContain(ADMIN_TOKEN);
    expect(await env.TENANTS.get(`tenant:${ADMIN_TOKEN}`)).toBeNull();
  });

  it("refuses a tenant form whose revision is missing or no header can carry with a 400 page, never as the relay's failure", async () => {
    const { cookie, csrf, tenant, tenantPage } = await tenantPageInSession();

    for (const revision of ['"abc"\r\nx-injected: 1', '"abc"\n', '"abc"\u0000', ""]) {
      const { result: refused, errors } = await loggedWhile(() =>
        postForm(tenantPage, cookie, {
          csrf,
          revision,
          parent: "project_name:p",
          key: "keep",
          settings: "{}",
        }),
      );

      expect(refused.status).toBe(400);
      expect(refusalShown(await refused.text())).toBe(
        "revision: must be the tenant revision the page gave, sent back as it came: open the tenant again",
      );
      expect(errors).toEqual([]);
    }
    expect(((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { parent: string }).parent).toBe(tenant.parent);
  });

  it("refuses to delete a tenant whose id breaks the id rule with the rule, not the id, however long it is", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const id = "X".repeat(512 * 1024);

    const refused = await postForm(`/admin/console/tenants/${id}/delete`, cookie, { csrf, confirm: "acme" });

    expect(refused.status).toBe(400);
    const page = await refused.text();
    expect(refusalShown(page)).toBe("tenant: ids are 1-64 characters of a-z, 0-9, - and _");
    expect(page).not.toContain("XXX");
  });

  it("sends with a refusal's page the headers its status calls for: WWW-Authenticate with a 401, Retry-After with a 503", async () => {
    const cookie = await consoleSessionCookie();
    const wrongToken = await logIn("not-the-token");
    const storageDown = await relayFetchWith({ TENANTS: failingBinding(env.TENANTS, "list", "KV list failed: unavailable") }, "/admin/", {
      headers: { cookie },
    });

    expect(wrongToken.status).toBe(401);
    expect(wrongToken.headers.get("www-authenticate")).toBe('Bearer realm="relay"');
    expect(storageDown.status).toBe(503);
    expect(storageDown.headers.get("content-type")).toMatch(/^text\/html/);
    expect(storageDown.headers.get("retry-after")).toBe(String(TRANSIENT_RETRY_AFTER_SECONDS));
  });

  it("says why a tenant's page cannot be shown when a deletion's confirmation is mistyped and the page fails for another reason", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const tenant = await createTenant();
    const unreadable = failingObject(env.TENANT_OBJECTS, tenant.id, "readRevision", "Durable Object storage is unavailable");
    const payloads = failingBinding(env.PAYLOADS, "list", "R2 list failed: unavailable");

    const refused = await postForm(
      `/admin/console/tenants/${tenant.id}/delete`,
      cookie,
      { csrf, confirm: "not-the-id" },
      { TENANT_OBJECTS: unreadable },
    );
    // Its dead letters alone unlisted, the page is shown, the refusal beside the field.
    const besideField = await postForm(
      `/admin/console/tenants/${tenant.id}/delete`,
      cookie,
      { csrf, confirm: "not-the-id" },
      { PAYLOADS: payloads },
    );

    expect(refused.status).toBe(500);
    expect(refusalShown(await refused.text())).not.toContain("type the tenant id");
    expect(besideField.status).toBe(400);
    expect(await besideField.text()).toContain(`confirm: type the tenant id, ${tenant.id}, to delete the tenant`);
    expect((await admin("GET", `/tenants/${tenant.id}`)).status).toBe(200);
  });

  it("masks the admin token where a page's refusal would name it: pasted as a tenant id, which it can look like", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);

    const page = await relayFetch(`/admin/console/tenants/${ADMIN_TOKEN}`, { headers: { cookie } });
    const deletion = await postForm(`/admin/console/tenants/${ADMIN_TOKEN}/delete`, cookie, { csrf, confirm: "acme" });

    expect(page.status).toBe(404);
    expect(refusalShown(await page.text())).toBe("no such tenant: [the admin token]");
    expect(deletion.status).toBe(400);
    expect(refusalShown(await deletion.text())).toBe("confirm: type the tenant id, [the admin token], to delete the tenant");
  });

  it("never writes the admin token into the dead letters page, typed into its tenant filter: no tenant has it", async () => {
    const cookie = await consoleSessionCookie();

    const filtered = await relayFetch(`/admin/console/dead-letters?tenant=${ADMIN_TOKEN}`, { headers: { cookie } });

    expect(filtered.status).toBe(404);
    const page = await filtered.text();
    expect(refusalShown(page)).toBe("no such tenant: [the admin token]");
    expect(page).not.toContain(ADMIN_TOKEN);
  });

  it("refuses settings that give a key twice in one object, naming it, as the admin API refuses such a body", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const tenant = uniqueTenantId("console");

    const refused = await postForm("/admin/console/tenants", cookie, {
      csrf,
      tenant,
      parent: "project_name:p",
      key: "passthrough",
      settings: '{"translate": false, "translate": true}',
    });

    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(
      '<span class="field-error" id="error-settings">settings: translate: given twice in one object, where only the last would be read</span>',
    );
    expect((await admin("GET", `/tenants/${tenant}`)).status).toBe(404);
  });

  it("shows a refused tenant form again without the Braintrust key, wherever it was typed: the settings JSON, the API URL's user:password@", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const tenant = uniqueTenantId("console");
    const inSettings = `sk-${"s".repeat(40)}`;
    const inUrl = `sk-${"u".repeat(40)}`;
    const inField = `sk-${"f".repeat(40)}`;

    const send = (fields: Record<string, string>) =>
      postForm("/admin/console/tenants", cookie, { csrf, tenant, key: "store", api_key: inField, settings: "{}", ...fields });

    const refused = await send({
      parent: "not-a-parent",
      api_url: `https://braintrust:${inUrl}@braintrust.example.com/api`,
      settings: `{\n  "translate": false,\n  "braintrust": {"api_key": "${inSettings}"}\n}`,
    });
    // Refused for the credentials, or for a URL that does not parse past them.
    const urls = await Promise.all(
      [
        `https://braintrust:${inUrl}@braintrust.example.com`,
        `https:braintrust:${inUrl}@braintrust.example.com`,
        `https://b:${inUrl}@not a host`,
        // What a URL parser drops before reading: a tab or a line break anywhere, a control character first.
        `ht\ttps://braintrust:${inUrl}@braintrust.example.com`,
        `https:\n//braintrust:${inUrl}@braintrust.example.com`,
        `\u0001https://braintrust:${inUrl}@braintrust.example.com`,
        // No scheme: no URL, yet the key is plainly in it.
        `//braintrust:${inUrl}@braintrust.example.com`,
      ].map(async (url) => (await send({ parent: "project_name:p", api_url: url })).text()),
    );
    // The settings' own API URL given as a list: refused, and not read for what its strings hold.
    const settingsUrlList = await (
      await send({
        parent: "project_name:p",
        api_url: "",
        settings: JSON.stringify({ braintrust: { api_url: [`https://braintrust:${inUrl}@braintrust.example.com`] } }),
      })
    ).text();
    // The settings' own API URL, used when the field is empty, refused for its credentials too.
    const settingsUrl = await (
      await send({
        parent: "project_name:p",
        api_url: "",
        settings: JSON.stringify({ braintrust: { api_url: `https://braintrust:${inUrl}@braintrust.example.com` } }),
      })
    ).text();
    // Its closing quote forgotten, as a key pasted in can be: no longer JSON.
    const unclosed = await (await send({ parent: "project_name:p", settings: `{"braintrust": {"api_key": "${inSettings}}}` })).text();
    // A name JSON.parse reads as api_key.
    const escaped = await (await send({ parent: "not-a-parent", settings: `{"braintrust": {"api\\u005fkey": "${inSettings}"}}` })).text();

    expect(refused.status).toBe(400);
    const page = await refused.text();
    expect(page).toContain("parent: must be");
    expect(page).not.toContain(inSettings);
    expect(page).not.toContain(inUrl);
    expect(page).not.toContain(inField);
    // The rest as typed, so only the key is typed again.
    expect(page).toContain("&quot;translate&quot;: false");
    expect(page).toContain('value="https://braintrust.example.com/api"');
    expect(settingsUrlList).toContain("braintrust.api_url");
    expect(settingsUrlList).not.toContain(inUrl);
    expect(settingsUrl).toContain("braintrust.api_url: must not carry credentials");
    expect(settingsUrl).not.toContain(inUrl);
    expect(settingsUrl).toContain("&quot;api_url&quot;:&quot;https://braintrust.example.com&quot;");
    expect(unclosed).toContain("settings: must be a JSON object");
    expect(unclosed).not.toContain(inSettings);
    expect(escaped).toContain("parent: must be");
    expect(escaped).not.toContain(inSettings);
    for (const url of urls) {
      expect(url).toContain("braintrust.api_url: must");
      expect(url).not.toContain(inUrl);
    }
    expect((await admin("GET", `/tenants/${tenant}`)).status).toBe(404);
  });

  // No sk-: a key of a shape the log's backstop does not know.
  const typedKey = `bt_Q${"k".repeat(39)}`;
  it.each([
    ["the key typed to store", `/v1/${typedKey}`, typedKey, "holds the Braintrust key braintrust.api_key gives"],
    [
      "the key typed to store, percent-encoded",
      `/v1/%62${typedKey.slice(1)}`,
      typedKey.slice(1),
      "holds the Braintrust key braintrust.api_key gives",
    ],
    ["the relay's ENCRYPTION_KEY", `/v1/${env.ENCRYPTION_KEY}`, env.ENCRYPTION_KEY, "holds the relay&#39;s ENCRYPTION_KEY"],
  ])(
    "refuses an API URL whose path holds %s, and shows it again empty, the secret nowhere in the page",
    async (_secret, path, secret, refusal) => {
      const cookie = await consoleSessionCookie();
      const csrf = csrfIn(await (await relayFetch("/admin/", { headers: { cookie } })).text());
      const tenant = uniqueTenantId("console");

      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant,
        parent: "project_name:p",
        api_url: `https://braintrust.example.com${path}`,
        key: "store",
        api_key: typedKey,
        settings: "{}",
      });

      const html = await refused.text();
      expect(refused.status).toBe(400);
      expect(html).toContain(`braintrust.api_url: ${refusal}`);
      expect(html).toContain('<input type="text" name="api_url" value="" autocomplete="off" aria-invalid="true"');
      expect(html).not.toContain(secret);
      expect(await env.TENANTS.get(`tenant:${tenant}`)).toBeNull();
    },
  );

  it.each([
    ["as typed", (key: string) => key],
    ["percent-encoded", (key: string) => `%62${key.slice(1)}`],
  ])(
    "refuses a tenant's form keeping its key with the key %s in the API URL, a parent or a route's, and shows none of them again",
    async (_how, written) => {
      // No sk-: a key of a shape the log's backstop does not know, which only the tenant's object can find.
      const key = `bt_Q${crypto.randomUUID().replaceAll("-", "")}`;
      const tenant = uniqueTenantId("console");
      const stored = { parent: "project_name:p", braintrust: { api_url: "https://braintrust.example.com", api_key: key } };
      expect((await admin("PUT", `/tenants/${tenant}`, stored)).status).toBe(201);
      const before = { read: await (await admin("GET", `/tenants/${tenant}`)).text(), kv: await env.TENANTS.get(`tenant:${tenant}`) };
      const cookie = await consoleSessionCookie();
      const tenantPage = `/admin/console/tenants/${tenant}`;
      const page = await (await relayFetch(tenantPage, { headers: { cookie } })).text();
      const form = { csrf: csrfIn(page), revision: fieldIn(page, "revision")!, parent: "project_name:p", key: "keep", settings: "{}" };
      const route = { routes: [{ match: { field: "span_name", equals: "x" }, parent: `project_name:${written(key)}` }] };

      for (const [fields, field] of [
        [{ api_url: `https://braintrust.example.com/v1/${written(key)}` }, "braintrust.api_url"],
        [
          { api_url: "", settings: JSON.stringify({ braintrust: { api_url: `https://braintrust.example.com/v1/${written(key)}` } }) },
          "braintrust.api_url",
        ],
        [{ api_url: "https://braintrust.example.com", parent: `project_name:${written(key)}` }, "parent"],
        [{ api_url: "https://braintrust.example.com", settings: JSON.stringify(route) }, "routes.0.parent"],
      ] as const) {
        const refused = await postForm(tenantPage, cookie, { ...form, ...fields });

        const html = await refused.text();
        expect(refused.status).toBe(400);
        expect(html).toContain(`${field}: holds the tenant&#39;s stored Braintrust key`);
        expect(html).not.toContain(key.slice(1));
      }
      expect(await (await admin("GET", `/tenants/${tenant}`)).text()).toBe(before.read);
      expect(await env.TENANTS.get(`tenant:${tenant}`)).toBe(before.kv);
    },
  );

  it("shows a refused tenant form again without a key typed into the API URL's query or fragment, or pasted as the API URL, the parent or the tenant", async () => {
    const cookie = await consoleSessionCookie();
    const csrf = csrfIn(await (await relayFetch("/admin/", { headers: { cookie } })).text());
    // Upper case, as keys have, which no tenant id does.
    const key = `sk-Q${"q".repeat(39)}`;
    const send = async (fields: Record<string, string>) => {
      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant: uniqueTenantId("console"),
        key: "passthrough",
        parent: "project_name:p",
        settings: "{}",
        ...fields,
      });
      expect(refused.status).toBe(400);
      const html = await refused.text();
      expect(html).not.toContain(key);
      return html;
    };

    // Refused because a query or fragment may carry a credential; shown again without it.
    expect(await send({ api_url: `https://braintrust.example.com/api?api_key=${key}` })).toContain(
      'value="https://braintrust.example.com/api"',
    );
    expect(await send({ api_url: `https://braintrust.example.com/#token=${key}` })).toContain('value="https://braintrust.example.com/"');
    expect(
      await send({ api_url: "", settings: JSON.stringify({ braintrust: { api_url: `https://braintrust.example.com/?api_key=${key}` } }) }),
    ).toContain("&quot;api_url&quot;:&quot;https://braintrust.example.com/&quot;");
    // One field too high: a parent or a tenant id of no such shape, long enough to be a key, is not shown again.
    const pastedAsUrl = await send({ api_url: key });
    expect(pastedAsUrl).toContain("braintrust.api_url: must be an absolute URL");
    expect(pastedAsUrl).toContain('<input type="text" name="api_url" value="" autocomplete="off" aria-invalid="true"');
    // So in the settings JSON, where the URL's member stands beside the key's: emptied where it stands, as the key's is.
    expect(await send({ api_url: "", settings: JSON.stringify({ braintrust: { api_url: key } }) })).toContain(
      "&quot;api_url&quot;:&quot;&quot;",
    );
    expect(await send({ parent: key })).toContain("parent: must be");
    const refusedTenant = await send({ tenant: key });
    expect(refusedTenant).toContain("Not created: tenant: ids are 1-64 characters");
    expect(refusedTenant).toContain('name="tenant" required="" pattern="[a-z0-9_\\-]{1,64}" autocomplete="off" value=""');
    // Short, it is a typo to see.
    expect(await send({ parent: "project:p" })).toContain('value="project:p"');
    expect(await send({ api_url: "api.braintrust.dev" })).toContain('value="api.braintrust.dev"');
  });

  it("refuses a tenant's form sent with its settings emptied, rather than reset its redaction and routes and say saved", async () => {
    const { cookie, csrf, tenant, tenantPage } = await tenantPageInSession();
    await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, redact: { keys: [{ pattern: "x-secret" }] } });
    const page = await (await relayFetch(tenantPage, { headers: { cookie } })).text();
    const form = { csrf, revision: fieldIn(page, "revision")!, parent: tenant.parent, api_url: fieldIn(page, "api_url")!, key: "keep" };

    const emptied = await postForm(tenantPage, cookie, { ...form, settings: "   " });
    const reset = await postForm(tenantPage, cookie, { ...form, settings: "{}" });

    expect(emptied.status).toBe(400);
    expect(await emptied.text()).toContain("settings: empty: this would set every other setting");
    // `{}` says it: the settings reset to their defaults.
    expect(reset.status).toBe(303);
    expect(((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { redact: { keys: unknown[] } }).redact.keys).toEqual([]);
  });

  it("refuses a key typed under another choice than storing it, beside the key, rather than drop it and say saved", async () => {
    const { tenant, cookie, tenantPage, csrf } = await tenantPageInSession();
    const read = await admin("GET", `/tenants/${tenant.id}`);
    const before = await read.json();
    const typed = `sk-rotated-${"r".repeat(30)}`;
    const newTenant = uniqueTenantId();

    const kept = await postForm(tenantPage, cookie, {
      csrf,
      revision: read.headers.get("etag")!,
      parent: tenant.parent,
      api_url: standin.url,
      key: "keep",
      api_key: typed,
      settings: "{}",
    });
    const created = await postForm("/admin/console/tenants", cookie, {
      csrf,
      tenant: newTenant,
      parent: "project_name:p",
      key: "passthrough",
      api_key: typed,
      settings: "{}",
    });
    const inSettings = await postForm("/admin/console/tenants", cookie, {
      csrf,
      tenant: newTenant,
      parent: "project_name:p",
      key: "passthrough",
      settings: `{"braintrust": {"api_key": "${typed}"}}`,
    });

    expect(kept.status).toBe(400);
    const keptPage = await kept.text();
    expect(unescaped(keptPage)).toContain(
      '<span class="field-error" id="error-api_key">braintrust.api_key: a key was typed, but "keep as it is" leaves the tenant\'s key as it is: choose "store this key" to store it, or clear the field</span>',
    );
    expect(created.status).toBe(400);
    const createdPage = await created.text();
    expect(unescaped(createdPage)).toContain(
      '<span class="field-error" id="error-api_key">braintrust.api_key: a key was typed, but "passthrough" stores none: choose "store this key" to store it, or clear the field</span>',
    );
    expect(inSettings.status).toBe(400);
    expect(unescaped(await inSettings.text())).toContain(
      '<span class="field-error" id="error-settings">settings: braintrust.api_key: "passthrough" stores no key, so the settings cannot give one: take it out, or choose "store this key"</span>',
    );
    for (const page of [keptPage, createdPage]) expect(page).not.toContain(typed);
    expect(await (await admin("GET", `/tenants/${tenant.id}`)).json()).toEqual(before);
    expect((await admin("GET", `/tenants/${newTenant}`)).status).toBe(404);
  });

  it("keeps the stored key when the key field says so, refusing settings that give one (a pasted PUT body), and changes nothing", async () => {
    const { tenant, cookie, tenantPage, csrf } = await tenantPageInSession();
    const read = await admin("GET", `/tenants/${tenant.id}`);
    const before = await read.json();
    const revision = read.headers.get("etag")!;
    const save = (settings: string) =>
      postForm(tenantPage, cookie, { csrf, revision, parent: tenant.parent, api_url: standin.url, key: "keep", settings });

    for (const settings of [`{"braintrust": {"api_key": "sk-${"p".repeat(40)}"}}`, '{"braintrust": {"api_key": null}}']) {
      const refused = await save(settings);
      expect(refused.status, settings).toBe(400);
      expect(await refused.text(), settings).toContain(`<span class="field-error" id="error-settings">${KEPT_KEY_IN_SETTINGS}</span>`);
    }
    const kept = await save('{"translate": false}');

    expect(kept.status).toBe(303);
    const after = (await (await admin("GET", `/tenants/${tenant.id}`)).json()) as Record<string, unknown>;
    expect(after).toMatchObject({ auth: "stored_key", translate: false, tokens: (before as { tokens: unknown }).tokens });
    // Delivered with the key stored before: it is the stand-in's, which a key from the settings would not be.
    const trace = trueFoundryTrace();
    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);
    expect(
      (
        await standin.waitForSpans(
          tenant.apiKey,
          spansOf(trace).map((span) => hex(span.spanId)),
        )
      ).missing,
    ).toEqual([]);
  });

  it("saves an emptied API URL field as the default its hint names, which a stored key follows only when given again", async () => {
    const EU = "https://api-eu.braintrust.dev";
    const passthrough = await createTenant({ mode: "passthrough", apiUrl: EU });
    const stored = await createTenant();
    const cookie = await consoleSessionCookie();
    const save = async (tenant: { id: string; parent: string }) => {
      const path = `/admin/console/tenants/${tenant.id}`;
      const page = await (await relayFetch(path, { headers: { cookie } })).text();
      expect(page).toContain('<span class="hint">empty: https://api.braintrust.dev</span>');
      const hidden = (name: string) => fieldIn(page, name)!;
      return postForm(path, cookie, {
        csrf: hidden("csrf"),
        revision: hidden("revision"),
        parent: tenant.parent,
        api_url: "",
        key: "keep",
        settings: "{}",
      });
    };
    const urlOf = async (id: string) =>
      ((await (await admin("GET", `/tenants/${id}`)).json()) as { braintrust: { api_url: string } }).braintrust.api_url;

    const moved = await save(passthrough);
    const refused = await save(stored);

    expect(moved.status).toBe(303);
    expect(await urlOf(passthrough.id)).toBe("https://api.braintrust.dev");
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(`stored key was given for its api_url, not the one this PUT gives`);
    expect(await urlOf(stored.id)).toBe(standin.url);
  });

  it("reads a refused form's settings string by string, so no string's text hides a key from being emptied; withholds what it cannot read for sure", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const key = `sk-${"k".repeat(40)}`;
    const textarea = (html: string) => /<textarea name="settings"[^>]*>([^<]*)<\/textarea>/.exec(html)![1]!.replaceAll("&quot;", '"');
    const withheld = "Not shown again, for safety, as it may hold a key: type the settings again.";
    // A parent the API refuses: every form here is refused, whatever its settings.
    const send = async (settings: string) => {
      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant: uniqueTenantId(),
        parent: "not-a-parent",
        key: "passthrough",
        settings,
      });
      expect(refused.status).toBe(400);
      const html = await refused.text();
      expect(html).not.toContain(key);
      return { settings: textarea(html), withheld: html.includes(withheld) };
    };

    // A string whose text reads as the end of one member and the start of another.
    expect(await send(`{"braintrust": {"x": [": "], "api_key": "${key}"}}`)).toEqual({
      settings: '{"braintrust": {"x": [": "], "api_key": ""}}',
      withheld: false,
    });
    expect(await send(`{"x": "\\\\", "api_key": "${key}", "y": "\\\\"}`)).toEqual({
      settings: '{"x": "\\\\", "api_key": "", "y": "\\\\"}',
      withheld: false,
    });
    // A key that is passthrough's null hides nothing.
    expect(await send('{"braintrust": {"api_key": null}, "x": 1}')).toEqual({
      settings: '{"braintrust": {"api_key": null}, "x": 1}',
      withheld: false,
    });
    // No string to empty: a key in a list or an object, or a key sent twice, one of them no string.
    for (const settings of [
      `{"braintrust": {"api_key": ["${key}"]}}`,
      `{"braintrust": {"api_key": {"k": "${key}"}}}`,
      `{"braintrust": {"api_key": {"k": "${key}"}, "api_key": "x"}}`,
    ]) {
      expect(await send(settings), settings).toEqual({ settings: "{}", withheld: true });
    }
    // Not JSON: where its strings start is anyone's guess once it names an api_key, or could (an escape).
    for (const settings of [`{"x": "a, "api_key": "${key}"}`, `{"x": "a, "api\\u005fkey": "${key}"}`]) {
      expect(await send(settings), settings).toEqual({ settings: "{}", withheld: true });
    }
    expect(await send('{"routes": [}')).toEqual({ settings: '{"routes": [}', withheld: false });
  });

  it("empties a key given under a slip of api_key's name (apiKey, API-KEY, key, token, …), which the API refuses as unknown, where it stands", async () => {
    const cookie = await consoleSessionCookie();
    const csrf = csrfIn(await (await relayFetch("/admin/", { headers: { cookie } })).text());
    const key = `sk-${"m".repeat(40)}`;
    const textarea = (html: string) => /<textarea name="settings"[^>]*>([^<]*)<\/textarea>/.exec(html)![1]!.replaceAll("&quot;", '"');
    const send = async (settings: string) => {
      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant: uniqueTenantId(),
        parent: "project_name:p",
        key: "passthrough",
        settings,
      });
      expect(refused.status, settings).toBe(400);
      return refused.text();
    };

    for (const name of ["apiKey", "API-KEY", "braintrust_api_key", "key", "token", "secret", "password", "Authorization"]) {
      const page = await send(`{"translate": false, "braintrust": {"${name}": "${key}"}}`);
      expect(page, name).not.toContain(key);
      expect(textarea(page), name).toBe(`{"translate": false, "braintrust": {"${name}": ""}}`);
    }
    // Not JSON, and naming such a member: withheld, as one naming api_key is.
    expect(await send(`{"braintrust": {"apiKey": "${key}}}`)).not.toContain(key);
    // The settings' own names that hold no key are shown as typed: redaction's keys, a pasted view's tokens.
    const own = '{"redact": {"keys": ["*.token"], "values": []}, "tokens": [], "x": 1}';
    expect(textarea(await send(own))).toBe(own);
  });

  it("empties a Braintrust key or relay token given in the settings under any other name, or as the parent, which the API refuses", async () => {
    const cookie = await consoleSessionCookie();
    const csrf = csrfIn(await (await relayFetch("/admin/", { headers: { cookie } })).text());
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    const token = `tbr_${"0".repeat(16)}_${"t".repeat(43)}`;
    const textarea = (html: string) => /<textarea name="settings"[^>]*>([^<]*)<\/textarea>/.exec(html)![1]!.replaceAll("&quot;", '"');
    const send = async (settings: string, parent = "project_name:p") => {
      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant: uniqueTenantId(),
        parent,
        key: "passthrough",
        settings,
      });
      expect(refused.status, settings).toBe(400);
      return refused.text();
    };

    for (const name of ["credentials", "apiKeys", "auth", "braintrust_key_value"]) {
      const page = await send(`{"translate": false, "braintrust": {"${name}": "${key}"}}`);
      expect(page, name).not.toContain(key);
      expect(textarea(page), name).toBe(`{"translate": false, "braintrust": {"${name}": ""}}`);
    }
    for (const parent of [key, `project_id:${token}`]) {
      const page = await send(`{"parent": "${parent}", "translate": false}`, "");
      expect(page, parent).not.toContain(parent);
      expect(textarea(page), parent).toBe(`{"parent": "", "translate": false}`);
    }
    // A parent's shape, refused for the settings beside it.
    const beside = await send('{"translate": "no"}', `project_name:${key}`);
    expect(beside).toContain("translate: must be true or false");
    expect(beside).not.toContain(key);
  });

  it("does not show settings again that hold a relay secret or the key typed, written with JSON's escapes, which the API reads back and refuses", async () => {
    const cookie = await consoleSessionCookie();
    const csrf = csrfIn(await (await relayFetch("/admin/", { headers: { cookie } })).text());
    const escaped = (text: string) => text.replace(/[\s\S]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    const send = async (settings: string, typedKey?: string) => {
      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant: uniqueTenantId(),
        parent: "project_name:p",
        ...(typedKey === undefined ? { key: "passthrough" } : { key: "store", api_key: typedKey }),
        settings,
      });
      expect(refused.status, settings).toBe(400);
      return unescaped(await refused.text());
    };

    for (const [secret, refusal] of [
      [ADMIN_TOKEN, "the relay's admin token"],
      [env.ENCRYPTION_KEY, "the relay's ENCRYPTION_KEY"],
    ] as const) {
      const settings = `{"routes": [{"match": {"field": "span_name", "equals": "x"}, "parent": "project_name:${escaped(secret)}"}]}`;
      const page = await send(settings);
      expect(page).toContain(refusal);
      expect(/<textarea name="settings"[^>]*>([^<]*)<\/textarea>/.exec(page)?.[1]).toBe("{}");
      expect(page).not.toContain(escaped(secret));
    }
    const matched = `{"routes": [{"match": {"field": "span_name", "equals": "${escaped(key)}"}, "parent": "project_name:x"}]}`;
    const page = await send(matched, key);
    expect(page).toContain("holds the Braintrust key braintrust.api_key gives");
    expect(page).not.toContain(escaped(key));
  });

  it("refuses a route match nested deeper than 16 levels with the API's 400, naming the match, on the form's page", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const tenant = `console-${crypto.randomUUID().slice(0, 8)}`;
    const match = `${'{"all":['.repeat(1_000)}{"field":"span_name","equals":"x"}${"]}".repeat(1_000)}`;

    const refused = await postForm("/admin/console/tenants", cookie, {
      csrf,
      tenant,
      parent: "project_name:p",
      key: "keep",
      settings: `{"routes":[{"match":${match},"parent":"project_name:q"}]}`,
    });

    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("routes.0.match: may nest all and any at most 16 levels deep");
    expect((await admin("GET", `/tenants/${tenant}`)).status).toBe(404);
  });
});
