import { readFileSync } from "node:fs";

/**
 * The vars `.dev.vars.example` lists, with their defaults (its "Vars" section), and no rotation of
 * ENCRYPTION_KEY under way, for the Workers the tests, the demo and the benchmark start: wrangler also
 * reads a developer's own `.dev.vars`, whose edits (an ENCRYPTION_KEY_PREVIOUS put there to try a
 * rotation too) must not change what they see.
 */
export function defaultVars(): Record<string, string> {
  // From the project's root, where npm's scripts and vitest run, as scripts/dev-vars.ts reads it.
  const example = readFileSync(".dev.vars.example", "utf8");
  const vars = example.slice(example.indexOf("\n# Vars"));
  return {
    ENCRYPTION_KEY_PREVIOUS: "",
    ...Object.fromEntries(
      vars
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    ),
  };
}
