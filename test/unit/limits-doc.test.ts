import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { MAX_ADMIN_BODY_BYTES } from "../../src/admin/limits.js";
import { ERROR_BODY_BYTES, SUCCESS_BODY_BYTES } from "../../src/deliver/braintrust.js";
import { MAX_UPSTREAM_REQUEST_BYTES } from "../../src/deliver/plan.js";
import { relayConfig } from "../../src/env.js";
import { UNTRUSTED_MAX_BODY_BYTES } from "../../src/receive/body.js";
import { MAX_LIST_ELEMENTS } from "../../src/receive/json-layout.js";
import { UNTRUSTED_RATE_LIMIT } from "../../src/receive/rate-limit.js";
import {
  MAX_HEADER_FIELDS_PER_REQUEST,
  MAX_JSON_ENTRIES,
  MAX_MESSAGES_PER_SPAN,
  MAX_NESTING,
  MAX_SPANS_PER_REQUEST,
  maxOutgoingBytes,
} from "../../src/receive/request-limits.js";
import { MAX_MATCH_NESTING, ProcessingSchema } from "../../src/tenants/processing-schema.js";
import { MAX_TOKENS_PER_TENANT } from "../../src/tenants/tokens.js";

/**
 * The README's "Limits and their defaults", the table an operator sizes exporters and tenants by:
 * each row's default column, by the row's limit.
 */
function documentedLimits(): Map<string, string> {
  const readme = readFileSync("README.md", "utf8");
  const start = readme.indexOf("**Limits and their defaults.**");
  const table = readme.slice(start, readme.indexOf("\n\n", readme.indexOf("| limit", start)));
  return new Map([...table.matchAll(/^\| ([^|]+?) +\| ([^|]+?) +\|/gm)].map(([, limit, value]) => [limit!, value!]));
}

const MiB = 1024 * 1024;
const KiB = 1024;
const counted = (n: number) => n.toLocaleString("en-US");

it("the README's limits are the code's, the vars' defaults and wrangler.toml's", () => {
  const defaults = relayConfig({} as Env);
  const ceiling = unstable_readConfig({ config: "wrangler.toml" }).ratelimits.find(
    (binding: { name: string }) => binding.name === "TENANT_RATE_CEILING",
  );
  const limits = documentedLimits();
  const documented = (limit: string) => limits.get(limit) ?? `no row "${limit}"`;

  expect(documented("request body on the wire")).toBe(`${defaults.maxRequestBytes / MiB} MiB`);
  expect(documented("request body decompressed")).toBe(`${defaults.maxDecompressedBytes / MiB} MiB`);
  expect(documented("body, key Braintrust has not accepted")).toMatch(new RegExp(`^${UNTRUSTED_MAX_BODY_BYTES / MiB} MiB,`));
  expect(documented("spans per request")).toMatch(new RegExp(`^${counted(MAX_SPANS_PER_REQUEST)} `));
  expect(documented("resources, scopes and spans, JSON requests")).toMatch(new RegExp(`^${counted(MAX_LIST_ELEMENTS)} in all `));
  expect(documented("attributes, events, links and values a span")).toMatch(new RegExp(`^${counted(MAX_MESSAGES_PER_SPAN)},`));
  expect(documented("lists, objects, members and items a span, JSON")).toMatch(new RegExp(`^${counted(MAX_JSON_ENTRIES)} `));
  expect(documented("fields of resources and scopes besides their lists")).toMatch(
    new RegExp(`^${counted(MAX_HEADER_FIELDS_PER_REQUEST)} `),
  );
  expect(documented("protobuf / JSON nesting")).toMatch(new RegExp(`^${MAX_NESTING} levels of messages \\(`));
  // What processing may grow a request to: so much a byte of it, a span, and on top of it all.
  const [perByte, perSpan, onTop] = [
    maxOutgoingBytes(1, 0) - maxOutgoingBytes(0, 0),
    maxOutgoingBytes(0, 1) - maxOutgoingBytes(0, 0),
    maxOutgoingBytes(0, 0),
  ];
  expect(documented("spans once processed (redaction can lengthen values)")).toBe(
    `${perByte}× the request, plus ${perSpan} bytes a span and ${onTop / MiB} MiB (413 past it)`,
  );
  expect(documented("requests per tenant")).toBe(
    `${defaults.defaultRateLimit.requests_per_second}/s, bursts of ${defaults.defaultRateLimit.burst}, per isolate`,
  );
  expect(documented("requests per tenant and Cloudflare location")).toBe(`${ceiling?.simple.limit} per ${ceiling?.simple.period} s`);
  expect(documented("requests, keys not accepted by Braintrust")).toBe(
    `${UNTRUSTED_RATE_LIMIT.requests_per_second}/s, bursts of ${UNTRUSTED_RATE_LIMIT.burst}, per isolate`,
  );
  expect(documented("ingest tokens per tenant")).toBe(String(MAX_TOKENS_PER_TENANT));
  expect(documented("`all` / `any` nesting in a route's match")).toMatch(new RegExp(`^${MAX_MATCH_NESTING} levels`));
  expect(documented("admin request body")).toBe(`${MAX_ADMIN_BODY_BYTES / MiB} MiB (413 past it)`);
  expect(documented("upstream request")).toMatch(new RegExp(`^${MAX_UPSTREAM_REQUEST_BYTES / 1_000_000} MB `));
  expect(documented("upstream answer read (the rest unread)")).toBe(
    `${ERROR_BODY_BYTES / KiB} KiB error, ${SUCCESS_BODY_BYTES / KiB} KiB success`,
  );
  expect(documented("first attempt")).toBe(`${defaults.upstreamTimeoutMs / 1000} s`);
  expect(documented("an attempt from the queue")).toBe(`${defaults.queuedUpstreamTimeoutMs / 1000} s`);

  const route = { match: { field: "span_name", equals: "x" }, parent: "project_name:p" };
  const routesAllowed = Number(documented("routes per tenant"));
  expect(ProcessingSchema.safeParse({ routes: Array(routesAllowed).fill(route) }).success).toBe(true);
  expect(ProcessingSchema.safeParse({ routes: Array(routesAllowed + 1).fill(route) }).success).toBe(false);
});
