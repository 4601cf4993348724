import { describe, expect, it } from "vitest";
import { storedKeyFieldOf } from "../../src/console/tenant-input.js";
import { RelayError } from "../../src/http/errors.js";

/** The tenant form as sent: its parent and API URL typed into their own fields, its routes in the settings JSON. */
const FORM = { parent: "project_name:p", api_url: "https://braintrust.example.com", key: "keep", settings: '{"routes": []}' };

describe("the console's tenant form, refused for the stored key a setting holds", () => {
  it.each([
    ["parent", "parent"],
    ["braintrust.api_url", "api_url"],
    ["routes.0.parent", "settings"],
  ] as const)("finds the stored key in the field %s was typed in by the refusal's reason, whatever its words", (field, entered) => {
    const refused = new RelayError("invalid_field", `${field}: reworded, as a later relay may word it`, { field, reason: "key_shown" });

    expect(storedKeyFieldOf(refused, FORM)).toBe(entered);
  });

  it.each([
    // The words of a stored key's refusal, without its reason: a relay's message alone says nothing the console acts on.
    ["no reason", { field: "parent" }, "parent: holds the tenant's stored Braintrust key, which would go with every delivery"],
    [
      "another reason",
      { field: "braintrust.api_key", reason: "key_for_another_url" },
      "braintrust.api_key: tenant acme's stored key was given for its api_url",
    ],
    ["no field", { reason: "key_shown" }, "holds the tenant's stored Braintrust key"],
  ] as const)("finds no stored key in a refusal with %s", (_what, options, message) => {
    expect(storedKeyFieldOf(new RelayError("invalid_field", message, options), FORM)).toBeUndefined();
  });
});
