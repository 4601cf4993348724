import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultVars } from "../../scripts/lib/default-vars.js";
import { DEFAULT_DEAD_LETTER_QUEUE, relayConfig } from "../../src/env.js";

/** Vars as a Worker gets them: text, whatever wrangler.toml or `--var` wrote. */
function configOf(vars: Record<string, string>) {
  return relayConfig(vars as unknown as Env);
}

/** The README's Configuration table of vars, by name: the default column, and the whole row's text. */
function documentedVars(): Map<string, { default: string; row: string }> {
  const readme = readFileSync("README.md", "utf8");
  const table = readme.slice(readme.indexOf("| var "), readme.indexOf("\n\n", readme.indexOf("| var ")));
  return new Map(
    [...table.matchAll(/^\| `([A-Z_]+)` +\| ([^|]*?) *\|(.*)$/gm)].map(([row, name, value]) => [name!, { default: value!, row: row! }]),
  );
}

const MiB = 1024 * 1024;

/** Each numeric var's bounds as the README's Configuration table gives them. */
const BOUNDS: Array<[name: string, min: number, max: number]> = [
  ["MAX_REQUEST_BYTES", 1, 100 * 1024 * 1024],
  ["MAX_DECOMPRESSED_BYTES", 1, 64 * 1024 * 1024],
  ["UPSTREAM_TIMEOUT_MS", 1, 60_000],
  ["QUEUED_UPSTREAM_TIMEOUT_MS", 1, 300_000],
  ["RETRY_BASE_DELAY_SECONDS", 1, 3600],
  ["RETRY_MAX_DELAY_SECONDS", 1, 43_200],
  ["MAX_RETRIES", 1, 1000],
  ["MAX_SERVER_ERROR_RETRIES", 0, 1000],
  ["RATE_LIMIT_REQUESTS_PER_SECOND", 1, 100_000],
  ["RATE_LIMIT_BURST", 1, 1_000_000],
  ["TENANT_CACHE_TTL_SECONDS", 60, 3600],
  ["STATS_FLUSH_SECONDS", 0, 25],
];

describe("the Worker's vars", () => {
  it("default to what .dev.vars.example lists, as the README's table does", () => {
    expect(configOf(defaultVars())).toEqual(configOf({}));
  });

  it.each(BOUNDS)("%s takes %i to %i, and refuses a value past either, naming it", (name, min, max) => {
    expect(() => configOf({ [name]: String(min) })).not.toThrow();
    expect(() => configOf({ [name]: String(max) })).not.toThrow();
    const refusal = `invalid Worker var ${name}: must be a whole number from ${min} to ${max}`;
    expect(() => configOf({ [name]: String(min - 1) })).toThrow(refusal);
    expect(() => configOf({ [name]: String(max + 1) })).toThrow(refusal);
    expect(() => configOf({ [name]: `${min}.5` })).toThrow(refusal);
    expect(() => configOf({ [name]: "abc" })).toThrow(refusal);
  });

  it("are each in the README's Configuration table, with the default .dev.vars.example gives it", () => {
    const documented = documentedVars();
    const { ENCRYPTION_KEY_PREVIOUS: _secret, ...vars } = defaultVars();
    expect([...documented.keys()].sort()).toEqual(Object.keys(vars).sort());
    for (const [name, value] of Object.entries(vars)) expect(documented.get(name)?.default.split(" ")[0], name).toBe(value);
  });

  it.each(BOUNDS)("%s's row in the README's Configuration table names its bounds, %i to %i", (name, min, max) => {
    const row = documentedVars().get(name)?.row ?? "";
    // From 1, a row names only its most (the README says so above the table); from another, both.
    if (min !== 1) expect(row).toContain(`${min}-${max}`);
    else expect(row).toMatch(new RegExp(`(at most|up to) (${max}|${max / MiB} MiB)\\b`, "i"));
  });

  it("name by default the dead-letter queue .dev.vars.example lists, which test/node/wrangler-config.test.ts holds to wrangler.toml's", () => {
    expect(DEFAULT_DEAD_LETTER_QUEUE).toBe(defaultVars().DEAD_LETTER_QUEUE);
  });

  it("left empty, take their defaults, as left out", () => {
    const empty = Object.fromEntries(Object.keys(defaultVars()).map((name) => [name, ""]));
    expect(configOf(empty)).toEqual(configOf({}));
    expect(configOf({ MAX_SERVER_ERROR_RETRIES: "", STATS_FLUSH_SECONDS: "" })).toMatchObject({
      retry: { maxServerErrorRetries: 3 },
      statsFlushSeconds: 10,
    });
  });

  it("given to the tests', the demo's and the benchmark's Workers, hold no ENCRYPTION_KEY_PREVIOUS, which a .dev.vars trying a rotation would lend them", () => {
    expect(defaultVars()).toMatchObject({ ENCRYPTION_KEY_PREVIOUS: "" });
  });

  it("invalid, are named every one, so that one deploy fixes them all rather than one a deploy", () => {
    expect(() =>
      configOf({ MAX_RETRIES: "0", RATE_LIMIT_BURST: "abc", UPSTREAM_COMPRESSION: "brotli", STATS_FLUSH_SECONDS: "-0.5" }),
    ).toThrow(
      "invalid Worker vars MAX_RETRIES: must be a whole number from 1 to 1000; RATE_LIMIT_BURST: must be a whole number from 1 to 1000000; " +
        'UPSTREAM_COMPRESSION: must be "auto" or "gzip"; STATS_FLUSH_SECONDS: must be a whole number from 0 to 25',
    );
  });

  it("take only the words the README shows", () => {
    expect(configOf({ UPSTREAM_COMPRESSION: "gzip", ALLOW_INSECURE_UPSTREAM: "true" })).toMatchObject({
      upstreamCompression: "gzip",
      allowInsecureUpstream: true,
    });
    expect(() => configOf({ UPSTREAM_COMPRESSION: "zstd" })).toThrow('invalid Worker var UPSTREAM_COMPRESSION: must be "auto" or "gzip"');
    expect(() => configOf({ ALLOW_INSECURE_UPSTREAM: "yes" })).toThrow(
      'invalid Worker var ALLOW_INSECURE_UPSTREAM: must be "true" or "false"',
    );
  });
});
