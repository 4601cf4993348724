/** The relay's admin API from Node, with every failure turned into a message for the operator. */
export class AdminError extends Error {
  override name = "AdminError";
}

export interface AdminClient {
  call(method: string, path: string, body?: unknown): Promise<unknown>;
}

export function adminClient(baseUrl: string, token: string | undefined): AdminClient {
  let url: URL;
  try {
    url = new URL(baseUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
  } catch {
    throw new AdminError(`--url ${JSON.stringify(baseUrl)} is not an http(s) URL`);
  }
  if (!token) throw new AdminError("set RELAY_ADMIN_TOKEN to the relay's ADMIN_TOKEN");
  const origin = url.toString().replace(/\/+$/, "");
  return {
    async call(method, path, body) {
      let response: Response;
      try {
        response = await fetch(`${origin}/admin${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new AdminError(`cannot reach the relay at ${origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      }
      if (response.status === 204) return undefined;
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        throw new AdminError(`${origin} answered ${response.status} with something that is not the relay's admin API`);
      }
      if (response.ok) return json;
      const error = (json as { error?: { message?: string } } | undefined)?.error?.message ?? `HTTP ${response.status}`;
      if (response.status === 401) throw new AdminError(`the relay refused the admin token (${error}): check RELAY_ADMIN_TOKEN`);
      throw new AdminError(error);
    },
  };
}
