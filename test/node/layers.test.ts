import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { expect, it } from "vitest";

/**
 * The layers of src/, bottom first (the README's Layout section says the same). A file may import
 * from its own layer and the ones below it, never from above, and no import chain comes back to
 * where it started. The stages follow the data: process may read what receive produces, deliver
 * what process produces, never the other way round; and deliver never reaches back into receive.
 */
const LAYERS: Array<{ name: string; paths: string[] }> = [
  { name: "generated code and platform facts", paths: ["gen/", "src/encoding/", "src/cloudflare/"] },
  { name: "log", paths: ["src/log/"] },
  { name: "OTLP vocabulary", paths: ["src/otlp/"] },
  { name: "HTTP errors", paths: ["src/http/"] },
  { name: "secrets", paths: ["src/secrets/"] },
  { name: "statistics", paths: ["src/stats/"] },
  { name: "configuration", paths: ["src/tenants/", "src/env.ts"] },
  { name: "receive", paths: ["src/receive/"] },
  { name: "process", paths: ["src/process/"] },
  { name: "deliver", paths: ["src/deliver/"] },
  // The console reads and changes everything through the admin API, in-process: the same layer, next to it.
  { name: "entry", paths: ["src/ingest/", "src/admin/", "src/console/", "src/index.ts"] },
];

/**
 * Imports the layer order would allow but the design does not: a later stage reaching past the one
 * before it; ingest and admin reaching into each other or into the console, which sits on top of the
 * admin API; and anything importing the Worker's own entry, index.ts.
 */
const FORBIDDEN: Array<[from: string, to: string]> = [
  ["src/deliver/", "src/receive/"],
  ["src/admin/", "src/ingest/"],
  ["src/ingest/", "src/admin/"],
  ["src/ingest/", "src/console/"],
  ["src/admin/", "src/console/"],
  ["src/", "src/index.ts"],
];

const root = join(import.meta.dirname, "..", "..");

function layerOf(path: string): number {
  const layer = LAYERS.findIndex((l) => l.paths.some((p) => path === p || (p.endsWith("/") && path.startsWith(p))));
  if (layer < 0) throw new Error(`${path} is in no layer: add it to LAYERS and to the README's Layout`);
  return layer;
}

/** The file an import's `.js` specifier names: its `.ts`, or `.tsx` where that is what exists. */
function sourceOf(specifier: string): string {
  const ts = specifier.replace(/\.js$/, ".ts");
  return existsSync(join(root, ts)) ? ts : `${ts}x`;
}

/** Each source file's project-relative imports, resolved to project-relative paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const entry of readdirSync(join(root, "src"), { recursive: true, withFileTypes: true })) {
    // .tsx: the console's pages.
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
    const file = relative(root, join(entry.parentPath, entry.name));
    const text = readFileSync(join(root, file), "utf8");
    // Static imports and re-exports, side-effect imports and dynamic import() alike.
    const specifiers = /(?:^(?:import|export)[^;]*?from\s+|^import\s+|\bimport\()"(\.{1,2}\/[^"]+)"/gms;
    const targets = [...text.matchAll(specifiers)].map(([, specifier]) => sourceOf(normalize(join(dirname(file), specifier!))));
    graph.set(file, targets);
  }
  return graph;
}

it("every import in src/ points to its own layer or one below", () => {
  const upward = [...importGraph()].flatMap(([file, targets]) =>
    targets
      .filter((target) => layerOf(target) > layerOf(file))
      .map((target) => `${file} (${LAYERS[layerOf(file)]!.name}) → ${target} (${LAYERS[layerOf(target)]!.name})`),
  );
  expect(upward).toEqual([]);
});

it("no stage reaches past the one before it, no entry point into another, and nothing imports index.ts", () => {
  const crossing = [...importGraph()].flatMap(([file, targets]) =>
    FORBIDDEN.filter(([from]) => file.startsWith(from)).flatMap(([, to]) =>
      targets.filter((t) => t.startsWith(to)).map((t) => `${file} → ${t}`),
    ),
  );
  expect(crossing).toEqual([]);
});

it("no import chain in src/ is a cycle", () => {
  const graph = importGraph();
  const cycles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "visiting");
    for (const target of graph.get(file) ?? []) if (graph.has(target)) visit(target, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  expect(cycles).toEqual([]);
});

it("the layer check sees the imports it is meant to judge", () => {
  // Guards the check itself: a graph it failed to read would pass both tests above.
  const graph = importGraph();
  expect(graph.get("src/index.ts")).toContain("src/ingest/traces-route.ts");
  expect(graph.get("src/deliver/retry-policy.ts")).toEqual(expect.arrayContaining(["src/cloudflare/limits.ts", "src/env.ts"]));
  expect(graph.get("src/console/app.tsx")).toEqual(expect.arrayContaining(["src/admin/limits.ts", "src/console/error-page.tsx"]));
});
