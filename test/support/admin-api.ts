import { admin } from "./relay.js";

/** A Braintrust key the admin API tests store: none of them sends spans with it. */
export const API_KEY = "sk-admin-test-0123456789abcdef";

/** A PUT of the tenant record, and the admin API's answer as JSON. */
export async function putTenant(id: string, body: unknown) {
  const response = await admin("PUT", `/tenants/${id}`, body);
  return { response, json: (await response.json()) as Record<string, unknown> };
}
