import type { z } from "zod";
import { isJsonObject } from "../../src/encoding/json.js";
import { repeatable } from "../../src/http/caller-text.js";
import { isLoopback } from "../../src/http/loopback.js";
import { ErrorAnswer } from "./admin-answers.js";
import { oneLine } from "./table.js";

/** What an HTTP header's value may hold (RFC 9110's field-vchar, spaces and tabs), which fetch checks. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Whether words the operator typed could be a secret, and so are not printed back: a key or token
 * typed or pasted where something else was meant is a word of 20 characters or more without a space.
 */
export function mayBeSecret(word: string): boolean {
  return /^\S{20,}$/.test(word);
}

/** The relay's admin API from Node, with every failure turned into a message for the operator. */
export class AdminError extends Error {
  override name = "AdminError";

  /**
   * `status`: the relay's answer, when it gave one; `field`: the input a 400 names (`braintrust.api_url`);
   * `reason`: why a 400 over the tenant's stored key was made (`key_for_another_url`).
   */
  constructor(
    message: string,
    readonly status?: number,
    readonly field?: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * An answer that cannot be the relay's admin API's: not JSON, or JSON of another shape. `answered`:
 * the status of whatever answered (a proxy's 503 page), for a script to read, and never taken for the
 * relay's own, which `status` is: a proxy's 404 is no "no such tenant".
 */
export class NotTheAdminApi extends AdminError {
  override name = "NotTheAdminApi";

  constructor(
    message: string,
    readonly answered: number,
  ) {
    super(message);
  }
}

export interface AdminClient {
  /** The answer's body, once it has the shape `answer` gives. */
  call<T>(method: string, path: string, answer: z.ZodType<T>, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** The answer's body and ETag, for a write conditional on what was read (If-Match). */
  read<T>(path: string, answer: z.ZodType<T>): Promise<{ body: T; etag: string | undefined }>;
  /** The answer's body and status, for a call whose status says what it did (a tenant's PUT: 201 created, 200 changed). */
  send<T>(
    method: string,
    path: string,
    answer: z.ZodType<T>,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ body: T; status: number }>;
}

/**
 * How a connection that was made can break once the request may have gone (undici's and Node's
 * codes): the socket closed or reset, or no answer in time. Anything else (refused, no such host, a
 * TLS handshake that failed) broke before a request was sent.
 */
const BROKEN_AFTER_SENDING = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/**
 * How long a call may take, its answer read whole: the relay answers its slowest page (a replay of
 * 40 dead letters, a page of 49 tenants' statistics) in seconds, and undici alone would wait 5
 * minutes for a server that never answers, and without end for one that trickles its answer.
 */
const CALL_TIMEOUT_MS = 60_000;

/** `source`: where the operator gave the relay's address, as refusals of it name it (`--url`, `RELAY_URL`). */
export function adminClient(baseUrl: string, token: string | undefined, source = "--url", callTimeoutMs = CALL_TIMEOUT_MS): AdminClient {
  /**
   * The relay's origin and the token, checked at the first call rather than when the client is
   * made: a command's own usage mistake (a bad --window, no replay target) is then the one told,
   * with exit code 2, whatever RELAY_URL and RELAY_ADMIN_TOKEN hold.
   */
  function target(): { origin: string; token: string } {
    let url: URL;
    try {
      url = new URL(baseUrl);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
    } catch {
      // Shown unless it may hold a secret: a user:password before an @, a query or fragment (a token
      // given as a parameter), or a token given in its place.
      const mayHoldSecret = /[@?#]/.test(baseUrl) || (!baseUrl.includes("://") && mayBeSecret(baseUrl));
      throw new AdminError(
        `${source} ${mayHoldSecret ? "(not shown: it may hold a password or token)" : JSON.stringify(baseUrl)} is not an http(s) URL`,
      );
    }
    // The Worker answers at its origin's root: a path or query would end up before /admin, where it
    // serves nothing. Said without the URL: a user:password, query or fragment may hold a secret.
    if (url.username || url.password || url.search || url.hash) {
      throw new AdminError(`${source} must be the relay's address alone, without a path, user name, password, query or fragment`);
    }
    // A path alone, the console's address copied from a browser say: its origin holds nothing of the rest, so it is named.
    if (url.pathname !== "/") throw new AdminError(`${source} must be the relay's address alone, without a path: give ${url.origin}`);
    // The token goes in every request's header: over plain http only to this machine, as the console's session does.
    if (url.protocol === "http:" && !isLoopback(url.hostname)) {
      throw new AdminError(
        `${source} ${url.origin} is plain http to another machine, where the admin token would travel in clear: use https (http only at localhost)`,
      );
    }
    if (!token) throw new AdminError("set RELAY_ADMIN_TOKEN to the relay's ADMIN_TOKEN");
    // fetch would refuse the header with the token in its words, and the CLI print them.
    if (!HEADER_VALUE.test(token))
      throw new AdminError("RELAY_ADMIN_TOKEN holds a character no HTTP header can carry, such as a line break");
    return { origin: url.origin, token };
  }
  async function request<T>(
    method: string,
    path: string,
    answer: z.ZodType<T>,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ body: T; etag: string | undefined; status: number }> {
    const { origin, token: adminToken } = target();
    // Written before the call: a body JSON cannot write is no failure to reach the relay.
    const requestBody = body === undefined ? undefined : JSON.stringify(body);
    let response: Response;
    try {
      response = await fetch(`${origin}/admin${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json", ...headers },
        body: requestBody,
        // Followed, a 307 or 308 would send the body, a tenant's Braintrust key among it, wherever the
        // Location says, another host or plain http; the token's header is all undici would hold back.
        redirect: "manual",
        signal: AbortSignal.timeout(callTimeoutMs),
      });
    } catch (err) {
      if (isTimeout(err)) throw notAnsweredInTime(origin, method);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      // A change whose connection broke once it was made may have been carried out: run again, a token
      // would be issued twice. A read, or a request never sent, is only to be tried again.
      if (method !== "GET" && cause?.code !== undefined && BROKEN_AFTER_SENDING.has(cause.code)) {
        throw new AdminError(
          `the connection to the relay at ${origin} broke before its answer came (${why}): the call may have been carried out; check before running it again`,
        );
      }
      // The server is running, so "is it running?" would send the operator the wrong way: it answered plain http.
      if (cause?.code === "ERR_SSL_WRONG_VERSION_NUMBER") {
        const local = isLoopback(new URL(origin).hostname)
          ? `; the local dev server (wrangler dev) is ${origin.replace("https:", "http:")}`
          : "";
        throw new AdminError(`cannot reach the relay at ${origin}: it answers plain http, not https, so nothing was sent${local}`);
      }
      throw new AdminError(`cannot reach the relay at ${origin} (${why}): is it running? Give its address with --url or RELAY_URL`);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = response.headers.get("location");
      throw new AdminError(
        `${origin} answered ${response.status}, a redirect to ${location ?? "nowhere"}: the CLI does not follow redirects; point --url at the relay itself`,
        response.status,
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      if (isTimeout(err)) throw notAnsweredInTime(origin, method);
      // The relay answered, so a change was made (or refused): run again, a token would be issued twice.
      throw new AdminError(
        method === "GET"
          ? `the connection to the relay at ${origin} broke while its answer was read: try again`
          : `the connection to the relay at ${origin} broke while its answer (${response.status}) was read: the call may have been carried out; check before running it again`,
      );
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw notTheAdminApi(origin, response.status);
    }
    if (response.ok) {
      const checked = answer.safeParse(json);
      if (!checked.success) throw notTheAdminApi(origin, response.status, checked.error);
      // The answer as the relay sent it, now known to have its shape: what parsing makes is another
      // object (keys in the schema's order, --json prints them; a model named `__proto__` lost).
      return { body: json as T, etag: response.headers.get("etag") ?? undefined, status: response.status };
    }
    // A refusal the relay did not write (a proxy's, another service's at that address) is not named as the relay's.
    const refusal = ErrorAnswer.safeParse(json);
    if (!refusal.success) throw notTheAdminApi(origin, response.status, refusal.error);
    // On one line, its control characters shown as U+FFFD: the words are whatever server answers at --url,
    // which may quote what it was sent (a proxy's refusal), and the terminal or CI log keeps what is printed.
    const error = withoutSentSecrets(oneLine(refusal.data.error.message), adminToken, body);
    if (response.status === 401) throw new AdminError(`the relay refused the admin token (${error}): check RELAY_ADMIN_TOKEN`, 401);
    throw new AdminError(error, response.status, refusal.data.error.field, refusal.data.error.reason);
  }
  /**
   * A refusal's words with what the call sent that is secret masked, as the relay masks them: the
   * admin token, and the Braintrust key of a tenant's PUT.
   */
  function withoutSentSecrets(text: string, adminToken: string, body: unknown): string {
    const braintrust = isJsonObject(body) ? body.braintrust : undefined;
    const key = isJsonObject(braintrust) ? braintrust.api_key : undefined;
    // Text too short to be a secret (a wrong token, `wrong`) is no secret, and would be found in any words.
    const mask = (within: string, secret: string, shownAs: string) =>
      repeatable(secret, false) ? within : within.replaceAll(secret, shownAs);
    const masked = mask(text, adminToken, "[the admin token]");
    return typeof key === "string" ? mask(masked, key, "[redacted]") : masked;
  }
  /** A call whose answer did not come whole in time: a change may have been made all the same. */
  function notAnsweredInTime(origin: string, method: string): AdminError {
    const after = method === "GET" ? "try again" : "the call may have been carried out; check before running it again";
    return new AdminError(`the relay at ${origin} did not answer within ${callTimeoutMs / 1000} s: ${after}`);
  }
  /** An answer that cannot be the relay's: not JSON, or JSON of another shape (the first difference named). */
  function notTheAdminApi(origin: string, status: number, shape?: z.ZodError): NotTheAdminApi {
    const [issue] = shape?.issues ?? [];
    // The path holds keys the server chose (a model's name): on one line, without their control characters.
    const difference = issue ? ` (${oneLine(issue.path.join(".")) || "the answer"}: ${issue.message})` : "";
    return new NotTheAdminApi(`${origin} answered ${status} with something that is not the relay's admin API${difference}`, status);
  }
  return {
    call: async (method, path, answer, body, headers) => (await request(method, path, answer, body, headers)).body,
    read: (path, answer) => request("GET", path, answer),
    send: request,
  };
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && err.name === "TimeoutError";
}
