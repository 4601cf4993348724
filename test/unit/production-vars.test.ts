import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { defaultVars } from "../../scripts/lib/default-vars.js";
import { relayConfig } from "../../src/env.js";

/**
 * wrangler.toml's `[vars]`, which only a deployed Worker runs with: every test Worker is given each
 * var at its default (vitest.config.ts), so a value there that stops the relay would pass them all.
 */
const productionVars: Record<string, unknown> = unstable_readConfig({ config: "wrangler.toml" }).vars;

describe("wrangler.toml's [vars], as a deployed Worker reads them", () => {
  it("are all vars the relay reads: a name misspelt there changes nothing", () => {
    const known = Object.keys(defaultVars());
    for (const name of Object.keys(productionVars)) expect(known).toContain(name);
  });

  it("hold values the relay takes, so it does not answer every request 500", () => {
    expect(() => relayConfig(productionVars as unknown as Env)).not.toThrow();
  });
});
