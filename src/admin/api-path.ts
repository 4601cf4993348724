import { quoted } from "../http/caller-text.js";
import { RelayError } from "../http/errors.js";

/**
 * An admin API path with each interpolated value as one encoded segment, so an id like `a/b`, `x?y`
 * or `x/../y` reaches the route it was typed for, never another: the console and the CLI build
 * every call's path with it.
 */
export function adminPath(parts: TemplateStringsArray, ...segments: string[]): string {
  return parts.reduce((path, part, i) => `${path}${pathSegment(segments[i - 1]!)}${part}`);
}

function pathSegment(value: string): string {
  // URLs resolve "." and ".." segments, encoded or not, before the relay sees them: no id can be one.
  if (value === "." || value === "..") throw new RelayError("malformed", `${quoted(value)} cannot be an id: a URL path resolves it`);
  return encodeURIComponent(value);
}
