import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { create, fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
import {
  ExportTracePartialSuccessSchema,
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { type Attempt, BRAINTRUST_MAX_REQUEST_BYTES, type FaultStep, type ReceivedRequest } from "./braintrust-standin-contract.js";
import { braintrustView } from "./braintrust-view.js";
import { listenOnLoopback } from "./loopback.js";

/**
 * A local stand-in for Braintrust's OTLP endpoint that keeps Braintrust's contract: API keys it
 * has issued and may revoke (401 otherwise), exactly one valid `x-bt-parent` (400), protobuf or
 * JSON (415), gzip or no content coding (415), a 10 MB request limit (413), bodies that must decode
 * (400), and a protobuf ExportTraceServiceResponse on success. Tests script failures per API key and read back what
 * arrived through a small control API under `/_standin/`.
 */
const TRACE_PATHS = new Set(["/otel/v1/traces", "/self-hosted/otel/v1/traces"]);
const PARENT = /^(project_id|project_name|experiment_id):.+$/;

export class BraintrustStandIn {
  private readonly keys = new Set<string>();
  private readonly faults = new Map<string, FaultStep[]>();
  private readonly received = new Map<string, ReceivedRequest[]>();
  private readonly attempts = new Map<string, Attempt[]>();
  private server?: Server;
  /** Extra ports serving the same endpoint, which tests close and reopen to play an outage. */
  private readonly listeners = new Map<number, Server>();

  /**
   * `onAccepted` sees each accepted request, decoded (the demo prints them as they arrive);
   * `record: false` keeps nothing, for load that would otherwise fill memory (the benchmark).
   */
  constructor(
    private readonly options: {
      onAccepted?: (received: ReceivedRequest, request: ExportTraceServiceRequest) => void;
      record?: boolean;
    } = {},
  ) {}

  async start(port = 0): Promise<string> {
    this.server = await this.listen(port);
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await Promise.all([this.server, ...this.listeners.values()].map((server) => close(server)));
  }

  private async listen(port: number): Promise<Server> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" }).end(`stand-in error: ${String(err)}`);
      });
    });
    await listenOnLoopback(server, port);
    return server;
  }

  issueKey(): string {
    const key = `sk-standin-${randomBytes(12).toString("hex")}`;
    this.keys.add(key);
    return key;
  }

  /** The first step scripted for the key that applies to a request to `parent`, taken off its list. */
  private nextFault(key: string, parent: string | string[] | undefined): FaultStep | undefined {
    const steps = this.faults.get(key) ?? [];
    const at = steps.findIndex((step) => step.parent === undefined || step.parent === parent);
    return at < 0 ? undefined : steps.splice(at, 1)[0];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://standin");
    if (url.pathname.startsWith("/_standin/")) return this.control(req, res, url);
    const body = await readAll(req);
    const arrivedAt = Date.now();
    if (!TRACE_PATHS.has(url.pathname)) return json(res, 403, { error: "Forbidden" });
    if (req.method !== "POST") return json(res, 405, { error: "Method not allowed" });

    const key = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    const attempts = this.attempts.get(key) ?? [];
    this.attempts.set(key, attempts);
    const encoding = req.headers["content-encoding"] ?? "";
    const attempted = (status: number): Attempt => {
      const attempt: Attempt = { status, arrivedAt, receivedAt: Date.now(), bytes: body.byteLength, contentEncoding: encoding };
      attempts.push(attempt);
      return attempt;
    };
    const step = this.nextFault(key, req.headers["x-bt-parent"]);
    if (step?.delayMs) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
    if (step?.reset) {
      attempted(0);
      req.socket.destroy();
      return;
    }
    const scripted = (status: number) => {
      const attempt = attempted(status);
      res.writeHead(status, { "content-type": "application/json", ...step?.headers });
      if (step?.bodyBytes !== undefined) return streamFiller(res, step.bodyBytes, attempt);
      res.end(step?.body ?? JSON.stringify({ error: "scripted failure" }));
    };
    if (step?.status && step.beforeChecks) return scripted(step.status);
    // What is scripted (but the wait) is for a request Braintrust would take: one the checks refuse leaves it to the next.
    const refuse = (status: number, payload: unknown) => {
      if (step) this.faults.get(key)?.unshift({ ...step, delayMs: 0 });
      attempted(status);
      return json(res, status, payload);
    };

    // Every check Braintrust makes comes before a scripted failure: a request it would refuse for good
    // is refused, so a relay that sends one fails its test whatever outage the test scripts.
    if (!this.keys.has(key)) return refuse(401, { error: "Invalid API key" });
    const parent = req.headers["x-bt-parent"];
    if (typeof parent !== "string" || !PARENT.test(parent))
      return refuse(400, { error: "x-bt-parent must be project_id:, project_name: or experiment_id:" });
    const contentType = req.headers["content-type"] ?? "";
    if (contentType !== "application/x-protobuf" && contentType !== "application/json")
      return refuse(415, { error: "Unsupported content type" });
    // OTLP/HTTP receivers decode gzip or nothing: a body labelled with any other coding would not be read as sent.
    // Coding names are case-insensitive (RFC 9110, section 8.4.1).
    const coding = encoding.toLowerCase();
    if (coding !== "" && coding !== "gzip") return refuse(415, { error: "Unsupported content encoding" });
    if (body.byteLength > BRAINTRUST_MAX_REQUEST_BYTES) return refuse(413, { error: "Request too large" });
    let decoded: Buffer;
    try {
      decoded = coding === "gzip" ? gunzipSync(body) : body;
    } catch {
      return refuse(400, { error: "Invalid gzip body" });
    }
    if (decoded.byteLength > BRAINTRUST_MAX_REQUEST_BYTES) return refuse(413, { error: "Request too large" });
    let request: ExportTraceServiceRequest;
    try {
      request =
        contentType === "application/x-protobuf"
          ? fromBinary(ExportTraceServiceRequestSchema, decoded)
          : fromJson(ExportTraceServiceRequestSchema, JSON.parse(decoded.toString("utf8")), { ignoreUnknownFields: true });
    } catch {
      return refuse(400, { error: "Invalid OTLP request" });
    }
    if (step?.status) return scripted(step.status);

    if (this.options.record !== false || this.options.onAccepted) {
      const received: ReceivedRequest = {
        path: url.pathname,
        parent,
        contentType,
        contentEncoding: encoding,
        userAgent: req.headers["user-agent"] ?? "",
        body: decoded.toString("base64"),
        receivedAt: Date.now(),
      };
      if (this.options.record !== false) {
        const list = this.received.get(key) ?? [];
        list.push(received);
        this.received.set(key, list);
      }
      this.options.onAccepted?.(received, request);
    }
    if (step?.dropAnswer) {
      attempted(0);
      req.socket.destroy();
      return;
    }
    const attempt = attempted(200);
    res.writeHead(200, { "content-type": "application/x-protobuf" });
    if (step?.bodyBytes !== undefined) return streamFiller(res, step.bodyBytes, attempt);
    const response = create(ExportTraceServiceResponseSchema, {
      partialSuccess: step?.partialSuccess
        ? create(ExportTracePartialSuccessSchema, {
            rejectedSpans: BigInt(step.partialSuccess.rejectedSpans),
            errorMessage: step.partialSuccess.errorMessage,
          })
        : undefined,
    });
    res.end(toBinary(ExportTraceServiceResponseSchema, response));
  }

  /**
   * `/_standin/keys` (POST issue, DELETE revoke), `/_standin/faults` (POST), `/_standin/received`,
   * `/_standin/view` (what Braintrust would show of it), `/_standin/attempts`, `/_standin/listeners`
   * (POST open, DELETE close).
   */
  private async control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = await readAll(req);
    const key = url.searchParams.get("key") ?? "";
    switch (`${req.method} ${url.pathname}`) {
      case "POST /_standin/keys":
        return json(res, 201, { key: this.issueKey() });
      case "DELETE /_standin/keys":
        this.keys.delete(key);
        return json(res, 200, {});
      case "POST /_standin/faults": {
        const steps = JSON.parse(body.toString("utf8")) as FaultStep[];
        this.faults.set(key, [...(this.faults.get(key) ?? []), ...steps]);
        return json(res, 200, {});
      }
      case "GET /_standin/received":
        return json(res, 200, this.received.get(key) ?? []);
      case "GET /_standin/view": {
        // One parent's view, as Braintrust shows each project or experiment on its own: a trace split
        // across parents is broken in both, so views of two parents are never merged into one.
        const received = this.received.get(key) ?? [];
        const parents = [...new Set(received.map((r) => r.parent))];
        const parent = url.searchParams.get("parent") ?? (parents.length <= 1 ? (parents[0] ?? "") : undefined);
        if (parent === undefined) {
          // Named, as the relay chose them (routes, a span's own parent): the user need not guess them.
          const named = parents.map((p) => JSON.stringify(p));
          const list = `${named.slice(0, -1).join(", ")} and ${named.at(-1)}`;
          return json(res, 409, { error: `spans went to ${parents.length} parents, ${list}: ask for one with &parent=` });
        }
        const requests = received
          .filter((r) => r.parent === parent)
          .map((r) => fromBinary(ExportTraceServiceRequestSchema, Buffer.from(r.body, "base64")));
        return json(res, 200, braintrustView(requests));
      }
      case "GET /_standin/attempts":
        return json(res, 200, this.attempts.get(key) ?? []);
      case "POST /_standin/listeners": {
        const server = await this.listen(Number(url.searchParams.get("port") ?? 0));
        const port = (server.address() as AddressInfo).port;
        this.listeners.set(port, server);
        return json(res, 201, { port });
      }
      case "DELETE /_standin/listeners": {
        const port = Number(url.searchParams.get("port"));
        const server = this.listeners.get(port);
        this.listeners.delete(port);
        if (server) await close(server);
        return json(res, 200, {});
      }
      default:
        return json(res, 404, { error: "no such control route" });
    }
  }
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Writes `bytes` of filler a chunk at a time, each once the last has drained, and stops when the
 * client goes away: a test can send an answer of any size without holding it, and `answeredBytes`
 * shows how much of it the client took.
 */
async function streamFiller(res: ServerResponse, bytes: number, attempt: Attempt): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, "x");
  attempt.answeredBytes = 0;
  while (attempt.answeredBytes < bytes && !res.destroyed) {
    const piece = chunk.subarray(0, Math.min(chunk.byteLength, bytes - attempt.answeredBytes));
    const drained = res.write(piece);
    attempt.answeredBytes += piece.byteLength;
    if (!drained)
      await new Promise<void>((resolve) => {
        const go = () => {
          res.off("drain", go).off("close", go);
          resolve();
        };
        res.on("drain", go).on("close", go);
      });
  }
  res.end();
}

function json(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(payload));
}
