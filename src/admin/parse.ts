import type { z } from "zod";
import { RelayError } from "../http/errors.js";
import { fieldErrors } from "../tenants/issue-text.js";

/** Zod's first complaint as a 400 that names the field, e.g. `braintrust.api_url`, in fieldErrors' words. */
export function parseOrReject<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value, { error: fieldErrors });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = (issue?.path ?? []).join(".");
  throw new RelayError("invalid_field", `${path || "body"}: ${issue?.message ?? "is not valid"}`, { field: path || "body" });
}
