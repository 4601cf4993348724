import { describe, expect, it } from "vitest";
import { attr } from "../../scripts/lib/traces.js";
import { attributesOf, spanWith } from "../support/traces.js";
import { DROP, KEEP, translated, translateInPlace } from "../support/translation.js";

const TOKEN = "tfy-mcp-0123456789abcdef";

/** An agent's request naming MCP servers, with the credentials a caller gives them, and a provider key beside. */
const agentRequest = {
  model: "openai-main/gpt-4.1",
  messages: [{ role: "user", content: "Where is my order 1234?" }],
  mcp_servers: [
    { integration_fqn: "truefoundry:mcp/orders", authorization_token: TOKEN, tools: [{ name: "lookup" }] },
    { url: "https://mcp.example.com/mcp", headers: { Authorization: `Bearer ${TOKEN}`, "X-Tenant": "acme" } },
  ],
  tools: [{ type: "mcp", server_url: "https://mcp.example.com", headers: { "x-api-key": TOKEN } }],
  api_key: TOKEN,
  max_tokens: 256,
  temperature: 0.2,
};

describe("credentials in a request body", () => {
  it("show masked in metadata, their keys kept, the other settings as they came", () => {
    const added = translated([attr("tfy.span_type", "AgentResponse"), attr("tfy.input", JSON.stringify(agentRequest))]);

    expect(added["braintrust.metadata"]).toMatchObject({
      mcp_servers: [
        { integration_fqn: "truefoundry:mcp/orders", authorization_token: "[REDACTED]", tools: [{ name: "lookup" }] },
        { url: "https://mcp.example.com/mcp", headers: { Authorization: "[REDACTED]", "X-Tenant": "acme" } },
      ],
      tools: [{ type: "mcp", server_url: "https://mcp.example.com", headers: { "x-api-key": "[REDACTED]" } }],
      api_key: "[REDACTED]",
      max_tokens: 256,
      temperature: 0.2,
    });
    expect(JSON.stringify(added)).not.toContain(TOKEN);
  });

  it("are found by name whatever its case and separators, and in a setting a guardrail passed on", () => {
    const request = { messages: [], config: { ApiKey: TOKEN, "Proxy-Authorization": TOKEN, client_secret: TOKEN } };
    const added = translated([
      attr("tfy.span_type", "Guardrail"),
      attr("tfy.input", JSON.stringify(request)),
      attr("tfy.output", JSON.stringify({ ...request, config: { ...request.config, access_token: TOKEN } })),
    ]);

    expect(JSON.stringify(added)).not.toContain(TOKEN);
    expect(added["braintrust.metadata"]).toMatchObject({ response: { config: { access_token: "[REDACTED]" } } });
  });

  it("in a setting an answer echoes are masked on both sides, so the echo is still dropped", () => {
    const tools = [{ type: "mcp", server_url: "https://mcp.example.com", headers: { authorization: TOKEN } }];
    const added = translated([
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ model: "gpt-4.1", input: "hi", tools })),
      attr("tfy.output", JSON.stringify({ id: "r", model: "gpt-4.1", output: [], tools, status: "completed" })),
    ]);

    expect(JSON.stringify(added)).not.toContain(TOKEN);
    expect(added["braintrust.metadata"]).toMatchObject({ tools: [{ headers: { authorization: "[REDACTED]" } }] });
    expect(added["braintrust.metadata"]).toMatchObject({ response: { id: "r", status: "completed" } });
    expect(added["braintrust.metadata"]).not.toHaveProperty("response.tools");
  });

  it("in an answer a guardrail checked and let through do not show it again", () => {
    const answer = JSON.stringify({
      id: "r",
      model: "gpt-4.1",
      output: [{ type: "message", content: [] }],
      tools: [{ type: "mcp", headers: { Authorization: TOKEN } }],
    });
    const added = translated([attr("tfy.span_type", "Guardrail"), attr("tfy.input", answer), attr("tfy.output", answer)]);

    // The checked answer is the guardrail's input, shown whole: that is not searched (README).
    expect((added["braintrust.metadata"] as { response?: unknown } | undefined)?.response).toBeUndefined();
  });

  it("are found under a key written with escapes, as it decodes", () => {
    const body = `{"messages":[],"headers":{"Authoriz\\u0061tion":"${TOKEN}"}}`;

    expect(translated([attr("tfy.input", body)])["braintrust.metadata"]).toEqual({ headers: { Authorization: "[REDACTED]" } });
  });

  it("are each name of the list, in its spellings, at any depth", () => {
    const names = [
      "Authorization",
      "Proxy-Authorization",
      "authorization_token",
      "authToken",
      "bearer_token",
      "access_token",
      "refreshToken",
      "id_token",
      "session-token",
      "api_token",
      "Token",
      "API_KEY",
      "X-API-Key",
      "x-goog-api-key",
      "secret",
      "secretKey",
      "client_secret",
      "secret_access_key",
      "AWS_SECRET_ACCESS_KEY",
      "aws_session_token",
      "private_key",
      "password",
      "passwd",
      "Cookie",
      "credentials",
    ];
    for (const name of names) {
      const body = { messages: [], servers: [{ config: { [name]: TOKEN } }] };
      const metadata = translated([attr("tfy.input", JSON.stringify(body))])["braintrust.metadata"];

      expect(metadata, name).toEqual({ servers: [{ config: { [name]: "[REDACTED]" } }] });
    }
  });

  it("leave alone a tool's parameter of such a name, whose schema says what it takes, not what it is", () => {
    const login = {
      type: "function",
      function: {
        name: "login",
        parameters: {
          type: "object",
          properties: { user: { type: "string" }, password: { $ref: "#/$defs/Secret" } },
          required: ["password"],
          $defs: { Secret: { type: "string", minLength: 8 } },
        },
      },
    };
    const gemini = {
      functionDeclarations: [{ name: "login", parameters: { type: "OBJECT", properties: { api_key: { type: "STRING" } } } }],
    };
    const body = { messages: [], tools: [login, gemini], config: { properties: { token: TOKEN } } };

    expect(translated([attr("tfy.input", JSON.stringify(body))])["braintrust.metadata"]).toEqual({
      tools: [login, gemini],
      // A value is no schema: one under `properties` is masked all the same.
      config: { properties: { token: "[REDACTED]" } },
    });
  });

  it("leave alone what holds none, and keys that only end like a credential's name", () => {
    const body = { messages: [], api_key: null, password: "", token: false, usage: { prompt_tokens: 3 }, max_tokens: 9, key: "k" };

    expect(translated([attr("tfy.input", JSON.stringify(body))])["braintrust.metadata"]).toEqual({
      api_key: null,
      password: "",
      token: false,
      usage: { prompt_tokens: 3 },
      max_tokens: 9,
      key: "k",
    });
  });

  it("stay in tfy.input, as the gateway sent it, only for a tenant keeping source attributes", () => {
    const attributes = [attr("tfy.span_type", "AgentResponse"), attr("tfy.input", JSON.stringify(agentRequest))];
    const dropped = spanWith("span", attributes);
    const kept = spanWith(
      "span",
      attributes.map((a) => ({ ...a })),
    );
    translateInPlace(dropped, DROP);
    translateInPlace(kept, KEEP);

    expect(JSON.stringify(attributesOf(dropped))).not.toContain(TOKEN);
    expect(attributesOf(kept)["tfy.input"]).toBe(JSON.stringify(agentRequest));
  });
});
