import { WORK, type WorkInput } from "./work.js";

/**
 * The runtimes benchmark's Worker (bench/runtimes.ts): `PUT /input/<batch | gzip-batch | chat-request>`
 * hands it the work's input; `POST /run?work=<row>&times=<n>` runs a row of bench/runtimes/work.ts n
 * times, for the benchmark to time from outside (a Worker's own clock stands still while it
 * computes); `POST /nothing` runs nothing, the request's own cost.
 */
const INPUTS: Record<string, keyof WorkInput> = {
  "/input/batch": "batch",
  "/input/gzip-batch": "gzipBatch",
  "/input/chat-request": "chatRequest",
};

const input: Partial<WorkInput> = {};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const inputName = INPUTS[url.pathname];
    if (request.method === "PUT" && inputName) {
      input[inputName] = new Uint8Array(await request.arrayBuffer());
      return new Response(null, { status: 204 });
    }
    if (request.method === "POST" && url.pathname === "/nothing") return new Response(null, { status: 204 });
    if (request.method !== "POST" || url.pathname !== "/run") return new Response("not found", { status: 404 });
    const work = WORK[Number(url.searchParams.get("work"))];
    if (!work || Object.values(INPUTS).some((name) => !input[name])) return new Response("no such work, or no input yet", { status: 400 });
    return new Response(String(await work.run(Number(url.searchParams.get("times")), input as WorkInput)));
  },
} satisfies ExportedHandler;
