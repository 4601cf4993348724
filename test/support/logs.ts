import { vi } from "vitest";

interface Collector {
  lines: string[];
  errorLines: string[];
}

/**
 * The loggedWhile calls under way, each given every line written meanwhile: one spy on the console
 * serves them all, made by the first and restored by the last, since a spy each would take the
 * lines of the calls before it, and restoring it would end their capture.
 */
const collectors = new Set<Collector>();
let restoreConsole: (() => void) | undefined;

function collect(collector: Collector): void {
  if (collectors.size === 0) {
    const line = (args: unknown[]) => args.map(String).join(" ");
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      for (const each of collectors) each.lines.push(line(args));
    });
    const error = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      for (const each of collectors) each.errorLines.push(line(args));
    });
    restoreConsole = () => {
      log.mockRestore();
      error.mockRestore();
    };
  }
  collectors.add(collector);
}

function stopCollecting(collector: Collector): void {
  collectors.delete(collector);
  if (collectors.size > 0) return;
  restoreConsole?.();
  restoreConsole = undefined;
}

/**
 * What was logged with console.log while `run` ran, line by line, the relay's events among them
 * parsed (one JSON object per line, src/log/events.ts), the events written to the error stream
 * (console.error: the relay's own failures) apart, and what `run` returned. Tests running at once
 * share the console, each seeing every line written while it runs: pick the lines by tenant or id.
 */
export async function loggedWhile<T>(
  run: () => Promise<T>,
): Promise<{ result: T; lines: string[]; events: Array<Record<string, unknown>>; errors: Array<Record<string, unknown>> }> {
  const collector: Collector = { lines: [], errorLines: [] };
  collect(collector);
  let result: T;
  try {
    result = await run();
  } finally {
    stopCollecting(collector);
  }
  const parsed = (from: string[]) => from.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { result, lines: collector.lines, events: parsed(collector.lines), errors: parsed(collector.errorLines) };
}
