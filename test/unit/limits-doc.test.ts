import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { MAX_UPSTREAM_REQUEST_BYTES } from "../../src/deliver/plan.js";
import { relayConfig } from "../../src/env.js";
import { UNTRUSTED_MAX_BODY_BYTES } from "../../src/receive/body.js";
import {
  MAX_HEADER_FIELDS_PER_REQUEST,
  MAX_JSON_ENTRIES,
  MAX_MESSAGES_PER_SPAN,
  MAX_SPANS_PER_REQUEST,
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
  expect(documented("attributes, events, links and values a span")).toMatch(new RegExp(`^${counted(MAX_MESSAGES_PER_SPAN)},`));
  expect(documented("lists, objects, members and items a span, JSON")).toMatch(new RegExp(`^${counted(MAX_JSON_ENTRIES)} `));
  expect(documented("fields of resources and scopes besides their lists")).toMatch(
    new RegExp(`^${counted(MAX_HEADER_FIELDS_PER_REQUEST)} `),
  );
  expect(documented("requests per tenant")).toBe(
    `${defaults.defaultRateLimit.requests_per_second}/s, bursts of ${defaults.defaultRateLimit.burst}, per isolate`,
  );
  expect(documented("requests per tenant and Cloudflare location")).toBe(`${ceiling?.simple.limit} per ${ceiling?.simple.period} s`);
  expect(documented("ingest tokens per tenant")).toBe(String(MAX_TOKENS_PER_TENANT));
  expect(documented("`all` / `any` nesting in a route's match")).toMatch(new RegExp(`^${MAX_MATCH_NESTING} levels`));
  expect(documented("upstream request")).toMatch(new RegExp(`^${MAX_UPSTREAM_REQUEST_BYTES / 1_000_000} MB `));
  expect(documented("first attempt")).toBe(`${defaults.upstreamTimeoutMs / 1000} s`);
  expect(documented("an attempt from the queue")).toBe(`${defaults.queuedUpstreamTimeoutMs / 1000} s`);

  const route = { match: { field: "span_name", equals: "x" }, parent: "project_name:p" };
  const routesAllowed = Number(documented("routes per tenant"));
  expect(ProcessingSchema.safeParse({ routes: Array(routesAllowed).fill(route) }).success).toBe(true);
  expect(ProcessingSchema.safeParse({ routes: Array(routesAllowed + 1).fill(route) }).success).toBe(false);
});
