import { type Context, Hono } from "hono";
import { adminApp } from "./admin/app.js";
import { ADMIN_TOKEN_SHOWN_AS, adminTokenMasked, withAdminTokenMasked } from "./admin/require-admin.js";
import { consoleApp } from "./console/app.js";
import { consumeDeliveries } from "./deliver/consumer.js";
import { consumeDeadLetterQueue } from "./deliver/dead-letter-queue.js";
import { DEFAULT_DEAD_LETTER_QUEUE } from "./env.js";
import type { AppEnv } from "./http/app-env.js";
import { adminErrorResponse, asRelayError, methodNotAllowed, otlpErrorResponse, RelayError } from "./http/errors.js";
import { tracesRoute } from "./ingest/traces-route.js";
import { logEvent } from "./log/events.js";
import { requestIdOf, withRequestId } from "./log/request-id.js";
import { otlpFormatOf } from "./otlp/format.js";
import { flushStats } from "./stats/flush.js";
import { TENANT_ID } from "./tenants/schema.js";

const app = new Hono<AppEnv>();

// First, so every log line and error body of the request carries its id.
app.use("*", (c, next) => withRequestId(requestIdOf(c.req.raw.headers), next));

app.get("/healthz", (c) => c.json({ ok: true }));
// A monitor set up with another method hears that the path is right and the method is not.
app.all("/healthz", (c) => {
  throw methodNotAllowed(`${c.req.method} /healthz`, "GET, HEAD");
});
app.route("/t", tracesRoute);
// The console first: its paths are ones the admin API does not have, and a browser there has a session, not a bearer token.
app.route("/", consoleApp);
app.route("/admin", adminApp);

/**
 * OTLP clients get google.rpc.Status in their own encoding, and the operator a line saying why (a
 * gateway misconfigured shows nowhere else); everyone else gets the admin API's JSON. An exporter
 * pointed at the relay's root (`OTEL_EXPORTER_OTLP_ENDPOINT`) posts to `/v1/traces`: an OTLP client
 * too, told where its tenant's path is in its own encoding.
 */
function errorResponse(c: Context<AppEnv>, error: RelayError): Response {
  const ingest = c.req.path.startsWith("/t/");
  if (ingest || (c.req.path.endsWith("/v1/traces") && !c.req.path.startsWith("/admin/"))) {
    // The path's tenant is the client's text: the admin token pasted there (a hex one has a tenant id's shape) is named by neither.
    const masked = withAdminTokenMasked(error, c.env);
    if (ingest) logRefusal(c.req.path, masked, c.env);
    const contentType = c.req.header("content-type");
    return otlpErrorResponse(masked, otlpFormatOf(contentType) ?? "json", contentType);
  }
  return adminErrorResponse(error);
}

/**
 * The operator's line for a refused ingest request. Not for a client over its rate limit, which the
 * statistics count by status: it would write a line per request it sends. The path's tenant segment
 * is the client's text (a token pasted there by mistake, say): logged only when it is a tenant id,
 * the admin token only masked. Named as the admin token only when the path held it: anyone can spell
 * `[the admin token]` in a path, and the line would have the operator rotate a token that never left.
 */
function logRefusal(path: string, error: RelayError, env: Env): void {
  if (error.code === "rate_limited") return;
  const shown = adminTokenMasked(path, env);
  const segment = shown.split("/")[2] ?? "";
  const pasted = segment === ADMIN_TOKEN_SHOWN_AS && shown !== path;
  const tenant = TENANT_ID.test(segment) || pasted ? segment : "(not a tenant id)";
  logEvent({ event: "ingest_refused", tenant, status: error.status, code: error.code, reason: error.message });
}

/** What the missed path tells of what its caller was after, said without repeating the path. */
function notFoundHint(path: string): string {
  // A traces URL pasted with a slash after it is the likeliest miss.
  if (/^\/t\/[^/]+\/v1\/traces\/+$/.test(path)) return ", without a slash after it";
  // The root is where wrangler dev's address, and its "open a browser" key, lead someone looking for the console.
  return path === "/" ? "; the admin console is at /admin/" : "";
}

app.notFound((c) =>
  errorResponse(c, new RelayError("not_found", `no such route: traces go to POST /t/<tenant>/v1/traces${notFoundHint(c.req.path)}`)),
);
app.onError((err, c) => errorResponse(c, asRelayError(err)));

export default {
  fetch: app.fetch,
  queue(batch, env) {
    // A batch has no cf-ray: its log lines share an id of its own.
    return withRequestId(`queue-${crypto.randomUUID()}`, async () => {
      try {
        // Left empty, as every var, it takes its default (env.ts): `""` would consume that queue's batches as deliveries.
        if (batch.queue === (env.DEAD_LETTER_QUEUE || DEFAULT_DEAD_LETTER_QUEUE)) return await consumeDeadLetterQueue(batch, env);
        return await consumeDeliveries(batch, env);
      } finally {
        // No client waits on a batch: its counts go to the tenants' objects at once, and a failure there is only logged.
        await flushStats(env);
      }
    });
  },
} satisfies ExportedHandler<Env, unknown>;

// Durable Object classes are exported by the Worker's main module (wrangler.toml's durable_objects).
export { TraceRoutes } from "./deliver/trace-routes.js";
export { TenantObject } from "./tenants/tenant-object.js";
