import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  }
  return files;
}

it("gen/ is exactly what `npm run generate` makes from proto/", () => {
  const out = mkdtempSync(join(tmpdir(), "gen-check-"));
  try {
    execFileSync("npx", ["buf", "generate", "--output", out], { cwd: root, stdio: "pipe" });
    const fresh = filesUnder(join(out, "gen"));
    const committed = filesUnder(join(root, "gen"));
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, text] of fresh) expect(committed.get(path), path).toBe(text);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
