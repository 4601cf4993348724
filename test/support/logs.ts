import { vi } from "vitest";

/**
 * What was logged with console.log while `run` ran, line by line, the relay's events among them
 * parsed (one JSON object per line, src/log/events.ts), the events written to the error stream
 * (console.error: the relay's own failures) apart, and what `run` returned. Tests running at once
 * share the console: pick the lines by tenant or id.
 */
export async function loggedWhile<T>(
  run: () => Promise<T>,
): Promise<{ result: T; lines: string[]; events: Array<Record<string, unknown>>; errors: Array<Record<string, unknown>> }> {
  const lines: string[] = [];
  const errorLines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errorLines.push(args.map(String).join(" ")));
  let result: T;
  try {
    result = await run();
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  const parsed = (from: string[]) => from.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { result, lines, events: parsed(lines), errors: parsed(errorLines) };
}
