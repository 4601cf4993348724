/** The relay's admin API from Node, with every failure turned into a message for the operator. */
export class AdminError extends Error {
  override name = "AdminError";

  /** `status`: the relay's answer, when it gave one. */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * An admin API path with each interpolated value as one encoded segment, so an id like `a/b`, `x?y`
 * or `x/../y` reaches the route it was typed for, never another.
 */
export function adminPath(parts: TemplateStringsArray, ...segments: string[]): string {
  return parts.reduce((path, part, i) => `${path}${pathSegment(segments[i - 1]!)}${part}`);
}

function pathSegment(value: string): string {
  // URLs resolve "." and ".." segments, encoded or not, before the relay sees them: no id can be one.
  if (value === "." || value === "..") throw new AdminError(`${JSON.stringify(value)} cannot be an id: a URL path resolves it`);
  return encodeURIComponent(value);
}

export interface AdminClient {
  /** The answer's body. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<unknown>;
  /** The answer's body and ETag, for a write conditional on what was read (If-Match). */
  read(path: string): Promise<{ body: unknown; etag: string | undefined }>;
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
  async function request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ body: unknown; etag: string | undefined }> {
    let response: Response;
    try {
      response = await fetch(`${origin}/admin${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new AdminError(`cannot reach the relay at ${origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    if (response.status === 204) return { body: undefined, etag: undefined };
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new AdminError(`${origin} answered ${response.status} with something that is not the relay's admin API`);
    }
    if (response.ok) return { body: json, etag: response.headers.get("etag") ?? undefined };
    const error = (json as { error?: { message?: string } } | undefined)?.error?.message ?? `HTTP ${response.status}`;
    if (response.status === 401) throw new AdminError(`the relay refused the admin token (${error}): check RELAY_ADMIN_TOKEN`, 401);
    throw new AdminError(error, response.status);
  }
  return {
    call: async (method, path, body, headers) => (await request(method, path, body, headers)).body,
    read: (path) => request("GET", path),
  };
}
