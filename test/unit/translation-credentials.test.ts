import { describe, expect, it } from "vitest";
import { attr } from "../../scripts/lib/traces.js";
import { CREDENTIAL_NAMES, NOT_CREDENTIAL_NAMES } from "../../src/process/mask-credentials.js";
import { MAX_PARSED_ENTRIES_PER_SPAN } from "../../src/process/raw-json.js";
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

/** A setting holding, deep down, a member of this name. */
function nested(name: string, value: string = TOKEN) {
  return { servers: [{ config: { [name]: value } }] };
}

/** The metadata of a request of these settings (or of this text). */
function metadataOf(body: object | string): unknown {
  const text = typeof body === "string" ? body : JSON.stringify({ messages: [], ...body });
  return translated([attr("tfy.input", text)])["braintrust.metadata"];
}

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

  it("in a tool an answer echoes with them withheld as null, the echo is still dropped", () => {
    const tools = [
      { type: "mcp", server_label: "orders", server_url: "https://mcp.example.com", headers: { authorization: TOKEN } },
      { type: "mcp", server_label: "drive", connector_id: "connector_googledrive", authorization: TOKEN },
    ];
    const withheld = [
      { ...tools[0], headers: null, allowed_tools: null },
      { ...tools[1], authorization: null, server_url: null },
    ];
    const answer = (answered: unknown[]) => JSON.stringify({ id: "r", model: "gpt-4.1", output: [], tools: answered });
    const shown = (answered: unknown[]) =>
      translated([
        attr("tfy.span_type", "Model"),
        attr("tfy.input", JSON.stringify({ model: "gpt-4.1", input: "hi", tools })),
        attr("tfy.output", answer(answered)),
      ])["braintrust.metadata"];

    expect(shown(withheld)).toMatchObject({ tools: [{ headers: { authorization: "[REDACTED]" } }, { authorization: "[REDACTED]" }] });
    expect(shown(withheld)).toMatchObject({ response: { id: "r" } });
    expect(shown(withheld)).not.toHaveProperty("response.tools");
    // Only credentials are withheld, and only as null: another member the request set answered null, or
    // headers answered otherwise, are the response's own.
    for (const changed of [
      [withheld[0], { ...withheld[1], server_label: null }],
      [{ ...withheld[0], headers: { "x-region": "eu" } }, withheld[1]],
    ])
      expect(shown(changed)).toMatchObject({ response: { tools: changed } });
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

  it("are each name of the list, in its spellings, at any depth, and after words of its own", () => {
    const spellings = (name: string) => {
      const words = name.split(" ");
      const camel = words.map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1))).join("");
      return [
        words.join("_"),
        words.join("-").toUpperCase(),
        camel,
        `X-Custom-${camel[0]!.toUpperCase()}${camel.slice(1)}`,
        `openai_${words.join("_")}`,
      ];
    };
    for (const name of CREDENTIAL_NAMES.flatMap(spellings)) expect(metadataOf(nested(name)), name).toEqual(nested(name, "[REDACTED]"));
  });

  it("are the names providers, clouds and MCP server configs give theirs", () => {
    const names = [
      "X-Auth-Token",
      "PRIVATE-TOKEN",
      "Ocp-Apim-Subscription-Key",
      "X-Amz-Security-Token",
      "X-Access-Token",
      "Authentication",
      "GITHUB_PERSONAL_ACCESS_TOKEN",
      "OPENAI_API_KEY",
      "anthropic_api_key",
      "x-goog-api-key",
      "OAuthToken",
      "aws_secret_access_key",
      "Set-Cookie",
      // Words after a run of capitals, and a doubled separator.
      "AWSAccessKey",
      "JWTToken",
      "api__key",
    ];
    for (const name of names) expect(metadataOf(nested(name)), name).toEqual(nested(name, "[REDACTED]"));
  });

  it("leave alone names that only end like a credential's, and those the list says hold none", () => {
    const names = [
      "max_tokens",
      "prompt_tokens",
      "completion_tokens",
      "prompt_cache_key",
      "idempotency_key",
      "public_key",
      "key",
      "secret_name",
      "token_type",
      "next_page_token",
      "pageToken",
      ...NOT_CREDENTIAL_NAMES.map((name) => name.replaceAll(" ", "_")),
    ];
    for (const name of names) expect(metadataOf(nested(name)), name).toEqual(nested(name, TOKEN));
  });

  it("are a value named by its name or key, and the second of a pair a list holds, the name spelled with escapes or not", () => {
    const body = `{"messages":[],"env":[{"name":"GITHUB_TOKEN","value":"${TOKEN}"},{"name":"LOG_LEVEL","value":"debug"}],"vars":[{"Key":"API_K\\u0045Y","Value":"${TOKEN}"},{"key":"X-Api-Key","value":"${TOKEN}"},{"Name":"DB_PASSWORD","Value":"${TOKEN}"}],"headers":[["Authorization","Bearer ${TOKEN}"],["Accept","*/*"]],"required":["password","model"]}`;

    expect(metadataOf(body)).toEqual({
      env: [
        { name: "GITHUB_TOKEN", value: "[REDACTED]" },
        { name: "LOG_LEVEL", value: "debug" },
      ],
      vars: [
        { Key: "API_KEY", Value: "[REDACTED]" },
        { key: "X-Api-Key", value: "[REDACTED]" },
        { Name: "DB_PASSWORD", Value: "[REDACTED]" },
      ],
      headers: [
        ["Authorization", "[REDACTED]"],
        ["Accept", "*/*"],
      ],
      // Two names in a setting's own list are no pair.
      required: ["password", "model"],
    });
  });

  it("leave alone a list in a list that is no name and value: three words, or a first item that is no name", () => {
    const body = {
      messages: [],
      synonyms: [["password", "passphrase", "passcode"]],
      logit_bias: [
        [50256, -100],
        [null, "token"],
      ],
    };

    expect(metadataOf(body)).toEqual({ synonyms: body.synonyms, logit_bias: body.logit_bias });
  });

  it("are a value named by the header it is sent as, in the shapes auth configs give it, and not one of a header holding none", () => {
    const body = {
      messages: [],
      mcp_servers: [
        { url: "https://mcp.example.com/mcp", auth: { type: "static", header: "Authorization", value: `Bearer ${TOKEN}` } },
        { url: "https://tools.example.com/mcp", auth: { header_name: "X-API-Key", header_value: TOKEN } },
        { url: "https://n8n.example.com/mcp", options: { headerName: "X-Auth-Token", headerValue: TOKEN } },
        { url: "https://api.example.com/mcp", Auth: { Header: "Authorization", Value: TOKEN } },
        { url: "https://proxy.example.com/mcp", Auth: { HeaderName: "X-Api-Key", HeaderValue: TOKEN } },
      ],
      inject: [
        { header: "Content-Type", value: "application/json" },
        { header_name: "Accept", header_value: "*/*" },
      ],
    };

    expect(metadataOf(body)).toEqual({
      mcp_servers: [
        { url: "https://mcp.example.com/mcp", auth: { type: "static", header: "Authorization", value: "[REDACTED]" } },
        { url: "https://tools.example.com/mcp", auth: { header_name: "X-API-Key", header_value: "[REDACTED]" } },
        { url: "https://n8n.example.com/mcp", options: { headerName: "X-Auth-Token", headerValue: "[REDACTED]" } },
        { url: "https://api.example.com/mcp", Auth: { Header: "Authorization", Value: "[REDACTED]" } },
        { url: "https://proxy.example.com/mcp", Auth: { HeaderName: "X-Api-Key", HeaderValue: "[REDACTED]" } },
      ],
      inject: body.inject,
    });
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
    // Draft 7's name for $defs, which older generators (zod-to-json-schema, Pydantic v1) write.
    const draft7 = {
      type: "function",
      function: {
        name: "rotate",
        parameters: { type: "object", properties: { token: { $ref: "#/definitions/Token" } }, definitions: { Token: { type: "string" } } },
      },
    };
    const gemini = {
      functionDeclarations: [{ name: "login", parameters: { type: "OBJECT", properties: { api_key: { type: "STRING" } } } }],
    };
    const body = { messages: [], tools: [login, draft7, gemini], config: { properties: { token: TOKEN } } };

    expect(translated([attr("tfy.input", JSON.stringify(body))])["braintrust.metadata"]).toEqual({
      tools: [login, draft7, gemini],
      // A value is no schema: one under `properties` is masked all the same.
      config: { properties: { token: "[REDACTED]" } },
    });
  });

  it("keep the schema of a parameter that looks like one only by its const or items, in parameters marked only by their $schema", () => {
    const parameters = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      properties: { password: { const: TOKEN }, secret: { items: { minLength: 8, default: TOKEN } } },
    };
    const masked = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      properties: { password: { const: "[REDACTED]" }, secret: { items: { minLength: 8, default: "[REDACTED]" } } },
    };

    expect(metadataOf({ tools: [{ name: "t", parameters }] })).toEqual({ tools: [{ name: "t", parameters: masked }] });
  });

  it("in a schema's parameter of such a name are the values it gives, and a map of such names is searched only in a schema", () => {
    const parameters = {
      type: "object",
      properties: {
        api_key: { type: "string", default: TOKEN, examples: [TOKEN], description: "the key" },
        token: { enum: [TOKEN] },
        user: { type: "string", default: "me" },
      },
    };
    const body = { messages: [], tools: [{ name: "t", parameters }], config: { properties: { password: { value: TOKEN } } } };

    expect(metadataOf(JSON.stringify(body))).toEqual({
      tools: [
        {
          name: "t",
          parameters: {
            type: "object",
            properties: {
              api_key: { type: "string", default: "[REDACTED]", examples: "[REDACTED]", description: "the key" },
              token: { enum: "[REDACTED]" },
              user: { type: "string", default: "me" },
            },
          },
        },
      ],
      config: { properties: { password: "[REDACTED]" } },
    });
  });

  it("in a schema's parameter of such a name are the values its items and alternatives give too, at any depth", () => {
    const parameters = {
      type: "object",
      properties: {
        api_keys: { type: "array", items: { type: "string", default: TOKEN, enum: [TOKEN], examples: [TOKEN] } },
        token: { anyOf: [{ type: "string", const: TOKEN }, { type: "null" }] },
        password: { oneOf: [{ type: "string", examples: [TOKEN] }, { type: "integer" }] },
        client_secret: { allOf: [{ type: "string" }, { default: TOKEN }] },
        secrets: { type: "object", additionalProperties: { type: "array", items: { example: TOKEN } } },
        credential: { type: "array", prefixItems: [{ type: "string", default: TOKEN }], items: false },
        tags: { type: "array", items: { type: "string", default: "red" } },
      },
    };
    const masked = {
      type: "object",
      properties: {
        api_keys: { type: "array", items: { type: "string", default: "[REDACTED]", enum: "[REDACTED]", examples: "[REDACTED]" } },
        token: { anyOf: [{ type: "string", const: "[REDACTED]" }, { type: "null" }] },
        password: { oneOf: [{ type: "string", examples: "[REDACTED]" }, { type: "integer" }] },
        client_secret: { allOf: [{ type: "string" }, { default: "[REDACTED]" }] },
        secrets: { type: "object", additionalProperties: { type: "array", items: { example: "[REDACTED]" } } },
        credential: { type: "array", prefixItems: [{ type: "string", default: "[REDACTED]" }], items: false },
        tags: { type: "array", items: { type: "string", default: "red" } },
      },
    };

    expect(metadataOf({ tools: [{ name: "t", parameters }] })).toEqual({ tools: [{ name: "t", parameters: masked }] });
  });

  it("past the span's parse budget show a setting naming one as [REDACTED] whole, and one naming none as its text", () => {
    const filler = ",0".repeat(MAX_PARSED_ENTRIES_PER_SPAN);
    const holding = `[{"headers":{"X-Auth-Token":"${TOKEN}"}}${filler}]`;
    const holdingNone = `[{"description":"it\\u2019s","page_token":"p"}${filler}]`;
    const spelled = `[{"n":"x"},{"Authoriz\\u0061tion":"${TOKEN}"}${filler}]`;

    expect(metadataOf(`{"messages":[],"tools":${holding}}`)).toEqual({ tools: "[REDACTED]" });
    expect(metadataOf(`{"messages":[],"tools":${spelled}}`)).toEqual({ tools: "[REDACTED]" });
    expect(metadataOf(`{"messages":[],"tools":${holdingNone}}`)).toEqual({ tools: holdingNone });
  });

  it("are found under a key written with white space before its colon, as JSON allows", () => {
    const body = `{"messages":[],"servers":[{"config":{"token" :"${TOKEN}"}}]}`;

    expect(translated([attr("tfy.input", body)])["braintrust.metadata"]).toEqual({ servers: [{ config: { token: "[REDACTED]" } }] });
  });

  it("are masked whole where one holds an object, at any depth, whatever its members are named", () => {
    const body = { messages: [], servers: [{ auth: { credentials: { user: "bot", value: TOKEN }, cookie: { sid: TOKEN } } }] };

    expect(translated([attr("tfy.input", JSON.stringify(body))])["braintrust.metadata"]).toEqual({
      servers: [{ auth: { credentials: "[REDACTED]", cookie: "[REDACTED]" } }],
    });
  });

  it("mask a whole setting past the span's parse budget that may name one, which cannot be searched", () => {
    // Each `{}` two entries: the list alone is past the budget, so the setting is left as its text.
    const filler = Array.from({ length: MAX_PARSED_ENTRIES_PER_SPAN / 2 + 1 }, () => ({}));
    const body = { messages: [], config: { api_key: TOKEN, filler }, temperature: 0.2 };

    const metadata = translated([attr("tfy.input", JSON.stringify(body))])["braintrust.metadata"];

    expect(metadata).toEqual({ config: "[REDACTED]", temperature: 0.2 });
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

  it("leave alone a setting of text written with escapes, which may spell a key's name but is no key", () => {
    const body = '{"messages":[],"user":"Jos\\u00e9","note":"a\\u0020token"}';

    expect(translated([attr("tfy.input", body)])["braintrust.metadata"]).toEqual({ user: "José", note: "a token" });
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
