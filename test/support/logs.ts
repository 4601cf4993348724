import { vi } from "vitest";

/**
 * What was logged with console.log while `run` ran, line by line, the relay's events among them
 * parsed (one JSON object per line, src/log/events.ts), and what `run` returned. Tests running at
 * once share the console: pick the lines by tenant or id.
 */
export async function loggedWhile<T>(
  run: () => Promise<T>,
): Promise<{ result: T; lines: string[]; events: Array<Record<string, unknown>> }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  let result: T;
  try {
    result = await run();
  } finally {
    log.mockRestore();
  }
  const events = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { result, lines, events };
}
