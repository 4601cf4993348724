import { createExecutionContext, evictDurableObject, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { SESSION_COOKIE, startSession } from "../../src/console/session.js";
import type { TraceRoutes } from "../../src/deliver/trace-routes.js";
import worker from "../../src/index.js";
import type { TenantObject } from "../../src/tenants/tenant-object.js";
import { standin } from "./standin.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/**
 * An ENCRYPTION_KEY other than the tests' own: set alone, the keys stored under theirs open no more
 * (a rotation without ENCRYPTION_KEY_PREVIOUS); with theirs as ENCRYPTION_KEY_PREVIOUS, a rotation.
 */
export const OTHER_ENCRYPTION_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));

/** A console session's Cookie header, for a session logged in at `startedAt`, as the login form starts one. */
export async function consoleSessionCookie(startedAt = Date.now()): Promise<string> {
  return `${SESSION_COOKIE}=${(await startSession(ADMIN_TOKEN, startedAt)).value}`;
}

let counter = 0;
/** A tenant id no other test uses. */
export function uniqueTenantId(label = "t"): string {
  return `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
}

export function relayFetch(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`https://relay.test${path}`, init));
}

export function admin(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return relayFetch(`/admin${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The admin call `admin` makes with the admin token, answered by the Worker with `bindings` in place of the test's own. */
export async function adminWith(
  bindings: Partial<Env>,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  return relayFetchWith(bindings, `/admin${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}`, ...extraHeaders },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** What `relayFetch` gets, answered by the Worker with `bindings` in place of the test's own. */
export async function relayFetchWith(bindings: Partial<Env>, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`https://relay.test${path}`, init), { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export interface TestTenant {
  id: string;
  parent: string;
  /** The Braintrust key the stand-in accepts for this tenant. */
  apiKey: string;
  /** What a client sends as its bearer: an ingest token (stored key) or the Braintrust key (passthrough). */
  bearer: string;
  /** What its record in KV says, and so what its queue messages and dead letters carry. */
  incarnation: string | undefined;
}

/** A tenant whose upstream is the stand-in: stored key with an issued ingest token, or passthrough. */
export async function createTenant(
  options: { mode?: "stored_key" | "passthrough"; parent?: string; apiUrl?: string; config?: Record<string, unknown> } = {},
): Promise<TestTenant> {
  const id = uniqueTenantId();
  const apiKey = await standin.issueKey();
  const parent = options.parent ?? `project_name:${id}`;
  const mode = options.mode ?? "stored_key";
  const response = await admin("PUT", `/tenants/${id}`, {
    ...options.config,
    parent,
    braintrust: { api_url: options.apiUrl ?? env.STANDIN_URL, ...(mode === "stored_key" ? { api_key: apiKey } : {}) },
  });
  if (response.status !== 201) throw new Error(`creating tenant: ${response.status} ${await response.text()}`);
  const bearer = mode === "stored_key" ? await issueToken(id) : apiKey;
  return { id, parent, apiKey, bearer, incarnation: await incarnationOf(id) };
}

/**
 * Creates a tenant under an id whose tenant was deleted, as another owner would: its own stored
 * key (returned), another parent and another URL (the stand-in's self-hosted path).
 */
export async function createTenantAgain(tenantId: string): Promise<string> {
  const apiKey = await standin.issueKey();
  const response = await admin("PUT", `/tenants/${tenantId}`, {
    parent: "project_name:the-next-owner",
    braintrust: { api_url: `${env.STANDIN_URL}/self-hosted/`, api_key: apiKey },
  });
  if (response.status !== 201) throw new Error(`creating tenant again: ${response.status} ${await response.text()}`);
  return apiKey;
}

/**
 * Fixes the tenant's stored key (revoked, then rotated; `config` kept) or leaves its api_url right
 * while KV serves a wrong one, and writes the record KV held before back into KV, as a location
 * whose copy lags the change serves it ("60 s or more" of propagation, then cacheTtl). The key
 * Braintrust takes now.
 */
export async function fixedWhileKvLags(
  tenant: TestTenant,
  stale: "stored key" | "api_url",
  config: Record<string, unknown> = {},
): Promise<string> {
  let key = tenant.apiKey;
  await changedWhileKvLags(
    tenant,
    async () => {
      if (stale !== "stored key") return;
      await standin.revokeKey(tenant.apiKey);
      key = await standin.issueKey();
      await admin("PUT", `/tenants/${tenant.id}`, { ...config, parent: tenant.parent, braintrust: { api_url: standin.url, api_key: key } });
    },
    // The revoked key, or a URL Braintrust's gateway answers 403 at.
    (record) => (stale === "api_url" ? { ...record, api_url: `${standin.url}/wrong` } : record),
  );
  return key;
}

/**
 * Makes a change to the tenant, then writes the record KV held before back into KV (as `stale` makes
 * it), as a location whose copy lags the change serves it.
 */
export async function changedWhileKvLags(
  tenant: TestTenant,
  change: () => Promise<void>,
  stale: (record: Record<string, unknown>) => Record<string, unknown> = (record) => record,
): Promise<void> {
  const { value, metadata } = await env.TENANTS.getWithMetadata<Record<string, unknown>>(`tenant:${tenant.id}`, "json");
  await change();
  await env.TENANTS.put(`tenant:${tenant.id}`, JSON.stringify(stale(value!)), { metadata });
}

/** The incarnation in the tenant's KV record. */
export async function incarnationOf(tenantId: string): Promise<string | undefined> {
  return ((await env.TENANTS.get(`tenant:${tenantId}`, "json")) as { incarnation?: string } | null)?.incarnation;
}

/**
 * Empties the tenant's Durable Object, so that its record is whatever KV holds, as for a tenant made
 * before tenants had one: a test that writes an older record to KV calls this after.
 */
export async function asRecordedBeforeDurableObjects(tenantId: string): Promise<void> {
  const stub = env.TENANT_OBJECTS.getByName(tenantId);
  await runInDurableObject(stub, (_object, state) => state.storage.deleteAll());
  // Started again, as a first run would be, so it makes its tables anew.
  await evictDurableObject(stub);
}

/**
 * Gives a Durable Object these bindings in place of its own, the others as ever, until given others
 * (`{}`: its own again): its calls and alarms meet them.
 */
export async function withObjectBindings<T extends TenantObject | TraceRoutes>(
  stub: DurableObjectStub<T>,
  bindings: Partial<Env>,
): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    (instance as unknown as { env: Env }).env = { ...env, ...bindings };
  });
}

/** Gives the tenant's object this KV binding in place of its own, until given back `env.TENANTS`. */
export function withObjectKv(stub: DurableObjectStub<TenantObject>, tenants: KVNamespace): Promise<void> {
  return withObjectBindings(stub, { TENANTS: tenants });
}

export async function issueToken(tenantId: string): Promise<string> {
  const response = await admin("POST", `/tenants/${tenantId}/tokens`);
  if (response.status !== 201) throw new Error(`issuing token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

interface SendOptions {
  contentType?: string;
  contentEncoding?: string;
  bearer?: string | null;
  method?: string;
  headers?: Record<string, string>;
}

/** The ingest request `sendTraces` makes, answered by the Worker with `bindings` in place of the test's own. */
export async function sendTracesWith(tenant: Pick<TestTenant, "id" | "bearer">, body: BodyInit, bindings: Partial<Env>): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`https://relay.test/t/${tenant.id}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${tenant.bearer}` },
    body,
  });
  const response = await worker.fetch(request, { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function sendTraces(tenant: Pick<TestTenant, "id" | "bearer">, body: BodyInit | null, options: SendOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": options.contentType ?? "application/x-protobuf", ...options.headers };
  if (options.contentEncoding) headers["content-encoding"] = options.contentEncoding;
  const bearer = options.bearer === undefined ? tenant.bearer : options.bearer;
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  return relayFetch(`/t/${tenant.id}/v1/traces`, { method: options.method ?? "POST", headers, body });
}

/** The token id inside a `tbr_<id>_<secret>` token. */
export function tokenIdOf(token: string): string {
  return token.split("_")[1]!;
}
