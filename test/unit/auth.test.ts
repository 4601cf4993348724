import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { tenantRecord } from "../../scripts/lib/tenants.js";
import { requireAdmin } from "../../src/admin/require-admin.js";
import type { AppEnv } from "../../src/http/app-env.js";
import { bearerToken, namesBearer } from "../../src/http/bearer.js";
import { RelayError } from "../../src/http/errors.js";
import { sealSecret } from "../../src/secrets/seal.js";
import { authenticateIngest, openStoredKey, secretHeld, storedKeyContext } from "../../src/tenants/credentials.js";
import type { Tenant } from "../../src/tenants/schema.js";
import { isRelayToken, issueToken, tokenIsValid } from "../../src/tenants/tokens.js";
import { refusal } from "../support/refusal.js";

const SEALING = { ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" };
const NOW = new Date("2026-11-27T10:00:00.000Z");
/** 32 bytes whose base64 holds + and /, so that it differs from the base64url spelling. */
const KEY_WITH_SIGNS = "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=";

/** A stored-key tenant with one issued token, sealed as the admin API seals it. */
async function storedKeyTenant(id = "acme", apiKey = "sk-stored-key"): Promise<{ tenant: Tenant; token: string }> {
  const { token, record } = await issueToken(NOW);
  const sealed = await sealSecret(apiKey, SEALING, storedKeyContext(id));
  return { tenant: { ...tenantRecord({ api_key_sealed: sealed, tokens: [record] }), id }, token };
}

/** Replaces the secret part of a token with another of the same shape. */
function sameShapeOtherSecret(token: string): string {
  const last = token.at(-1) === "A" ? "B" : "A";
  return `${token.slice(0, -1)}${last}`;
}

describe("bearer credentials", () => {
  it.each([
    ["Bearer abc", "abc"],
    ["bearer abc", "abc"],
    ["BEARER\tabc", "abc"],
    ["Bearer   abc \t", "abc"],
    ["Bearer abc def", undefined],
    ["Bearerabc", undefined],
    ["Bearer ", undefined],
    [" Bearer abc", undefined],
    ["xBearer abc", undefined],
    ["Basic dXNlcjpwYXNz", undefined],
    [undefined, undefined],
  ])("%j → %s", (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ["Bearer abc", true],
    ["bearer", true],
    ["Bearer ", true],
    ["BEARER\tabc def", true],
    ["Bearerabc", false],
    ["Basic dXNlcjpwYXNz", false],
    [" Bearer abc", false],
    [undefined, false],
  ])("%j names the Bearer scheme: %s", (header, named) => {
    expect(namesBearer(header)).toBe(named);
  });
});

describe("ingest tokens", () => {
  it("are tbr_<16 hex id>_<43 base64url>, shown once, stored as the SHA-256 of the whole token", async () => {
    const { token, record } = await issueToken(NOW);
    const other = await issueToken(NOW);

    expect(token).toMatch(/^tbr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(token.slice(4, 20)).toBe(record.id);
    expect(record).toEqual({ id: record.id, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), created_at: "2026-11-27T10:00:00.000Z" });
    expect(JSON.stringify(record)).not.toContain(token.slice(21));
    expect(other.token).not.toBe(token);
    expect(other.record.id).not.toBe(record.id);
  });

  it("are told apart from Braintrust keys by their prefix", () => {
    expect(isRelayToken("tbr_0123456789abcdef_x")).toBe(true);
    expect(isRelayToken("sk-tbr_x")).toBe(false);
  });

  it("are each valid while a tenant holds several, as during a rotation", async () => {
    const { tenant, token } = await storedKeyTenant();
    const second = await issueToken(NOW);
    const rotating = { ...tenant, tokens: [...tenant.tokens, second.record] };

    expect(await tokenIsValid(rotating, token)).toBe(true);
    expect(await tokenIsValid(rotating, second.token)).toBe(true);
  });

  it("are valid only whole, for the tenant holding their record", async () => {
    const { tenant, token } = await storedKeyTenant();
    const foreign = await issueToken(NOW);

    expect(await tokenIsValid(tenant, token)).toBe(true);
    expect(await tokenIsValid(tenant, sameShapeOtherSecret(token))).toBe(false);
    expect(await tokenIsValid(tenant, foreign.token)).toBe(false);
    expect(await tokenIsValid(tenant, `${token}x`)).toBe(false);
    expect(await tokenIsValid(tenant, `x${token}`)).toBe(false);
    expect(await tokenIsValid(tenant, token.toUpperCase().replace("TBR_", "tbr_"))).toBe(false);
    expect(await tokenIsValid(tenant, token.slice(0, -1))).toBe(false);
  });
});

describe("ingest authentication", () => {
  it("lets a stored-key tenant's token in, delivering with the stored key", async () => {
    const { tenant, token } = await storedKeyTenant();

    expect(await authenticateIngest(tenant, `Bearer ${token}`, SEALING)).toEqual({
      mode: "stored_key",
      apiKey: "sk-stored-key",
      trusted: true,
    });
  });

  it("refuses a stored-key tenant a wrong token of the right shape, a Braintrust key (saying it takes a token instead), nothing, or a header of another shape", async () => {
    const { tenant, token } = await storedKeyTenant();
    const invalid = { code: "unauthenticated", message: "invalid ingest token for this tenant" };

    expect(await refusal(authenticateIngest(tenant, `Bearer ${sameShapeOtherSecret(token)}`, SEALING))).toEqual(invalid);
    expect(await refusal(authenticateIngest(tenant, "Bearer sk-stored-key", SEALING))).toEqual({
      code: "unauthenticated",
      message:
        "this tenant takes an ingest token the relay issued (tbr_…), not a Braintrust API key: the relay keeps the tenant's key, and clients send the token",
    });
    expect(await refusal(authenticateIngest(tenant, "Bearer mistyped-token", SEALING))).toEqual({
      code: "unauthenticated",
      message: "this tenant takes an ingest token the relay issued (tbr_…), and what was sent is not one: send that token",
    });
    expect(await refusal(authenticateIngest(tenant, undefined, SEALING))).toEqual({
      code: "unauthenticated",
      message: "missing credentials: send Authorization: Bearer <token>",
    });
    for (const malformed of [`Basic ${token}`, `Bearer ${token} extra`, "Bearer", `Basic Bearer%20${token}`])
      expect(await refusal(authenticateIngest(tenant, malformed, SEALING))).toMatchObject({
        message: "an Authorization header that is not one bearer token: send Authorization: Bearer <token>",
      });
    // The README writes the space as %20 for OTEL_EXPORTER_OTLP_TRACES_HEADERS; pasted as the gateway's header value, it stays %20.
    for (const encoded of [`Bearer%20${token}`, `bearer%20${token}`])
      expect(await refusal(authenticateIngest(tenant, encoded, SEALING))).toEqual({
        code: "unauthenticated",
        message:
          "an Authorization header with %20 after Bearer, the space URL-encoded as OTEL_EXPORTER_OTLP_HEADERS writes it: a header's own value is Bearer, a space, then the token",
      });
  });

  it("passes a passthrough client's own key on, but never a relay token or something that is no key", async () => {
    const tenant = tenantRecord();

    // Not trusted until Braintrust has accepted the key (tenants/accepted-keys.ts).
    expect(await authenticateIngest(tenant, "Bearer sk-client-key", SEALING)).toEqual({
      mode: "passthrough",
      apiKey: "sk-client-key",
      trusted: false,
    });
    expect(await refusal(authenticateIngest(tenant, "Bearer tbr_0123456789abcdef_x", SEALING))).toEqual({
      code: "unauthenticated",
      message: "this tenant forwards the client's own Braintrust API key: send that key, not a relay token",
    });
    for (const notAKey of ["sk-ключ", `sk-${"x".repeat(510)}`]) {
      expect(await refusal(authenticateIngest(tenant, `Bearer ${notAKey}`, SEALING))).toEqual({
        code: "unauthenticated",
        message: "the bearer credential is not a valid API key",
      });
    }
    expect(await authenticateIngest(tenant, `Bearer sk-${"x".repeat(509)}`, SEALING)).toMatchObject({ mode: "passthrough" });
  });

  it("refuses a passthrough tenant the admin token or the ENCRYPTION_KEY sent as a key, naming it, never its value", async () => {
    const adminToken = "admin-token-of-at-least-32-characters";
    const env = { ...SEALING, ADMIN_TOKEN: adminToken };
    const named = (secret: string) => ({
      code: "unauthenticated",
      message: `${secret} is not a Braintrust API key, and never leaves the relay: send the client's own Braintrust key`,
    });

    expect(await refusal(authenticateIngest(tenantRecord(), `Bearer ${adminToken}`, env))).toEqual(named("the relay's admin token"));
    expect(await refusal(authenticateIngest(tenantRecord(), `Bearer ${SEALING.ENCRYPTION_KEY}`, env))).toEqual(
      named("the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"),
    );
  });
});

describe("secrets held in a setting kept in plaintext", () => {
  const ADMIN_TOKEN = "admin-token-of-at-least-32-characters";
  const PREVIOUS = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
  const env = { ...SEALING, ENCRYPTION_KEY_PREVIOUS: PREVIOUS, ADMIN_TOKEN };
  const apiKey = "sk-a-braintrust-key-of-some-length";

  it("names the relay's own secret a setting holds, as typed or percent-encoded, ahead of the key given beside it", async () => {
    const { token } = await issueToken(NOW);
    const key = SEALING.ENCRYPTION_KEY;
    const url = (secret: string) => `https://api.braintrust.dev/v1/${secret}/logs`;

    expect(secretHeld(url(token), apiKey, env)).toBe("a relay ingest token (tbr_…)");
    expect(secretHeld(url(ADMIN_TOKEN), apiKey, env)).toBe("the relay's admin token");
    expect(
      secretHeld(url(encodeURIComponent(ADMIN_TOKEN.replaceAll("-", "+"))), apiKey, {
        ...env,
        ADMIN_TOKEN: ADMIN_TOKEN.replaceAll("-", "+"),
      }),
    ).toBe("the relay's admin token");
    for (const form of [key, key.replace(/=+$/, ""), PREVIOUS])
      expect(secretHeld(url(form), apiKey, env)).toBe("the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)");
    // A key whose base64 has + and /: written in base64 or base64url, it is found either way.
    const signed = { ...env, ENCRYPTION_KEY: KEY_WITH_SIGNS };
    for (const form of [KEY_WITH_SIGNS.replace(/=+$/, ""), KEY_WITH_SIGNS.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")])
      expect(secretHeld(`token=${form}`, apiKey, signed)).toBe("the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)");
    expect(secretHeld(`project_name:${ADMIN_TOKEN}${apiKey}`, apiKey, env)).toBe("the relay's admin token");
    // Its escapes read beside a `%` that starts none, and beside a byte that is no UTF-8.
    const escaped = [...ADMIN_TOKEN].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    for (const text of [`100% ${escaped}`, `${escaped}%zz`, `%ff${escaped}`, `%e2%82${escaped}`])
      expect(secretHeld(text, undefined, env)).toBe("the relay's admin token");
  });

  it("names the Braintrust key given beside it, as typed or percent-encoded, when it is longer than caller text repeated whatever it holds", () => {
    const held = "the Braintrust key braintrust.api_key gives";
    const keyWithSlash = "sk-a/braintrust/key-of-some-length";

    expect(secretHeld(`https://api.braintrust.dev/v1/${apiKey}`, apiKey, env)).toBe(held);
    expect(secretHeld(`https://api.braintrust.dev/v1/${encodeURIComponent(keyWithSlash)}`, keyWithSlash, env)).toBe(held);
    expect(secretHeld(`https://api.braintrust.dev/v1/${encodeURIComponent(keyWithSlash)}?at=100%`, keyWithSlash, env)).toBe(held);
    // 24 characters is as long as caller text is quoted back whatever it holds: found in any text, it says nothing.
    expect(secretHeld("project_name:sk-twenty-four-characters", "sk-twenty-four-characters".slice(0, 24), env)).toBeUndefined();
    expect(secretHeld(`project_name:${apiKey}`, apiKey.slice(0, 25), env)).toBe(held);
    expect(secretHeld("project_name:my-project", apiKey, env)).toBeUndefined();
    expect(secretHeld("project_name:my-project", undefined, env)).toBeUndefined();
  });
});

describe("stored keys", () => {
  it("are absent for a passthrough tenant", () => {
    expect(openStoredKey(tenantRecord(), SEALING)).toBeUndefined();
  });

  it("open from records sealed under tenant-api-key:<id>, as every stored record is", async () => {
    const sealed = await sealSecret("sk-existing", SEALING, "tenant-api-key:legacy");

    expect(storedKeyContext("legacy")).toBe("tenant-api-key:legacy");
    expect(await openStoredKey({ ...tenantRecord({ api_key_sealed: sealed }), id: "legacy" }, SEALING)).toBe("sk-existing");
  });

  it("are opened once per tenant and sealed value", async () => {
    const { tenant } = await storedKeyTenant("cached");

    expect(openStoredKey(tenant, SEALING)).toBe(openStoredKey(tenant, SEALING));
  });

  it("do not open in another tenant's record, even once opened in their own", async () => {
    const { tenant } = await storedKeyTenant("owner", "sk-owner");
    const thief = { ...tenantRecord({ api_key_sealed: tenant.api_key_sealed }), id: "thief" };

    expect(await openStoredKey(tenant, SEALING)).toBe("sk-owner");
    expect(await refusal(openStoredKey(thief, SEALING)!)).toMatchObject({ code: "misconfigured" });
  });

  it("are kept opened up to 1,000 at a time in an isolate, which then starts afresh", async () => {
    // A fresh copy of the module, so its cache holds nothing from other tests.
    vi.resetModules();
    const fresh = await import("../../src/tenants/credentials.js");
    const tenants = await Promise.all(
      Array.from({ length: 1_001 }, async (_, n) => ({
        ...tenantRecord({ api_key_sealed: await sealSecret(`sk-${n}`, SEALING, storedKeyContext(`t${n}`)) }),
        id: `t${n}`,
      })),
    );
    const first = fresh.openStoredKey(tenants[0]!, SEALING);
    for (const tenant of tenants.slice(1, 1_000)) await fresh.openStoredKey(tenant, SEALING);

    expect(fresh.openStoredKey(tenants[0]!, SEALING)).toBe(first);
    expect(await fresh.openStoredKey(tenants[1_000]!, SEALING)).toBe("sk-1000");
    expect(fresh.openStoredKey(tenants[0]!, SEALING)).not.toBe(first);
    expect(await fresh.openStoredKey(tenants[0]!, SEALING)).toBe("sk-0");
  });

  it("open once the right ENCRYPTION_KEY is set, after failing under a wrong one", async () => {
    const { tenant } = await storedKeyTenant("rotating", "sk-rotating");

    expect(await refusal(openStoredKey(tenant, { ENCRYPTION_KEY: btoa("another key of exactly 32 bytes!") })!)).toMatchObject({
      code: "misconfigured",
    });
    expect(await openStoredKey(tenant, SEALING)).toBe("sk-rotating");
  });
});

describe("the admin API's token check", () => {
  const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

  function adminApp(): Hono<AppEnv> {
    const app = new Hono<AppEnv>();
    app.use(requireAdmin());
    app.get("/", (c) => c.text("in"));
    app.onError((err, c) => (err instanceof RelayError ? c.json({ code: err.code, message: err.message }, 401) : c.text("bug", 500)));
    return app;
  }

  /** `adminToken` null: the secret is not set. `sealing`: the Worker's ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS. */
  async function call(
    authorization: string | undefined,
    adminToken: string | null = ADMIN_TOKEN,
    sealing: { ENCRYPTION_KEY?: string; ENCRYPTION_KEY_PREVIOUS?: string } = SEALING,
  ): Promise<{ status: number; body: string }> {
    const env = { ...sealing, ...(adminToken === null ? {} : { ADMIN_TOKEN: adminToken }) };
    const response = await adminApp().request("/", { headers: authorization === undefined ? {} : { authorization } }, env);
    return { status: response.status, body: await response.text() };
  }

  it("lets the admin token in", async () => {
    expect(await call(`Bearer ${ADMIN_TOKEN}`)).toEqual({ status: 200, body: "in" });
  });

  it("refuses a missing or wrong token, of the right length too", async () => {
    const refused = { status: 401, body: JSON.stringify({ code: "unauthenticated", message: "missing or wrong admin token" }) };
    for (const authorization of [
      undefined,
      "Bearer wrong",
      `Bearer ${ADMIN_TOKEN.slice(0, -1)}N`,
      `Bearer ${"x".repeat(ADMIN_TOKEN.length)}`,
      `Basic ${ADMIN_TOKEN}`,
    ]) {
      expect(await call(authorization)).toEqual(refused);
    }
  });

  it("refuses everything while ADMIN_TOKEN is not set", async () => {
    const disabled = {
      status: 401,
      body: JSON.stringify({ code: "unauthenticated", message: "the admin API is disabled: set the ADMIN_TOKEN secret" }),
    };
    expect(await call(`Bearer ${ADMIN_TOKEN}`, null)).toEqual(disabled);
    expect(await call("Bearer ", "")).toEqual(disabled);
  });

  it("refuses everything, the right token too, while ADMIN_TOKEN is shorter than 32 characters", async () => {
    const short = ADMIN_TOKEN.slice(0, 31);
    const disabled = {
      status: 401,
      body: JSON.stringify({
        code: "unauthenticated",
        message: "the admin API is disabled: ADMIN_TOKEN is shorter than 32 characters; set a random one (openssl rand -base64 32)",
      }),
    };
    expect(await call(`Bearer ${short}`, short)).toEqual(disabled);
    expect(await call(`Bearer ${ADMIN_TOKEN.slice(0, 32)}`, ADMIN_TOKEN.slice(0, 32))).toEqual({ status: 200, body: "in" });
  });

  it("refuses everything, the right token too, while ADMIN_TOKEN is ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS, in any of its spellings", async () => {
    const key = SEALING.ENCRYPTION_KEY;
    const previous = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    const disabled = {
      status: 401,
      body: JSON.stringify({
        code: "unauthenticated",
        message:
          "the admin API is disabled: ADMIN_TOKEN is the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS), which would open every stored key wherever the admin token is kept; set another random one (openssl rand -base64 32)",
      }),
    };
    // As made, without its padding, as base64url: the same 32 bytes.
    for (const token of [key, key.replace(/=+$/, ""), key.replaceAll("+", "-").replaceAll("/", "_")])
      expect(await call(`Bearer ${token}`, token)).toEqual(disabled);
    expect(await call(`Bearer ${previous}`, previous, { ...SEALING, ENCRYPTION_KEY_PREVIOUS: previous })).toEqual(disabled);
    // Another secret of the same shape is an admin token like any other.
    expect(await call(`Bearer ${previous}`, previous)).toEqual({ status: 200, body: "in" });
  });

  it("refuses everything, the right token too, while ADMIN_TOKEN is an ingest token, which a tenant's gateway holds", async () => {
    const { token } = await issueToken(NOW);
    expect(await call(`Bearer ${token}`, token)).toEqual({
      status: 401,
      body: JSON.stringify({
        code: "unauthenticated",
        message:
          "the admin API is disabled: ADMIN_TOKEN is a relay ingest token (tbr_…), which a tenant's gateway holds and sends with every export; set another random one (openssl rand -base64 32)",
      }),
    });
  });
});
