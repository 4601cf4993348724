import type { z } from "zod";
import { keyShown } from "../http/caller-text.js";

/**
 * What a field's value must be, in an operator's words rather than zod's ("must be true or false, not
 * a string" for "Invalid input: expected boolean, received string"), as the error map of a parse: a
 * message the schema words itself comes first. A string sent is never repeated: it may be a secret
 * pasted in the wrong field. Issues it has no words for keep zod's (undefined).
 */
export const fieldErrors: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "unrecognized_keys":
      // An unknown field's name is the caller's text: a key pasted as a name is not repeated.
      return `${keyShown(issue.keys[0] ?? "")} is not a known field`;
    case "invalid_type":
      if (issue.input === undefined) return `is required (${issue.expected})`;
      return `must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${sent(issue.input)}`;
    case "too_small":
      return bound(issue.origin, issue.inclusive ? "at least" : "more than", issue.minimum);
    case "too_big":
      return bound(issue.origin, issue.inclusive ? "at most" : "less than", issue.maximum);
    case "invalid_value":
      return `must be ${issue.values.length === 1 ? "" : "one of "}${issue.values.map(valueText).join(", ")}`;
    case "invalid_union": {
      const kinds = issue.errors.map(refusedKinds);
      if (kinds.some((kind) => kind === undefined)) return undefined;
      const named = kinds.flat();
      return `must be ${named.slice(0, -1).join(", ")} or ${named.at(-1)}, not ${sent(issue.input)}`;
    }
    default:
      return undefined;
  }
};

/**
 * What a union's option takes, when it refused the value as a whole (its type, or a value not among
 * its own): `a number`, `"emails"`; undefined when it refused a part of it, whose words are the
 * schema's own message.
 */
function refusedKinds(issues: readonly z.core.$ZodIssue[]): string[] | undefined {
  const issue = issues.length === 1 ? issues[0]! : undefined;
  if (issue === undefined || issue.path.length > 0) return undefined;
  if (issue.code === "invalid_type") return [EXPECTED[issue.expected] ?? issue.expected];
  if (issue.code === "invalid_value") return issue.values.map(valueText);
  return undefined;
}

function valueText(value: unknown): string {
  return typeof value === "bigint" ? String(value) : JSON.stringify(value);
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  boolean: "true or false",
  number: "a number",
  int: "a whole number",
  array: "a list",
  object: "an object",
};

/** What the caller sent, as its type; a number or boolean as itself. */
export function sent(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "string" ? "a string" : "an object";
}

function bound(origin: string, relation: string, limit: number | bigint): string {
  const one = limit === 1 || limit === 1n;
  if (origin === "string") return `must be ${relation} ${limit} ${one ? "character" : "characters"} long`;
  if (origin === "array" || origin === "set") return `must hold ${relation} ${limit} ${one ? "entry" : "entries"}`;
  return `must be ${relation} ${limit}`;
}
