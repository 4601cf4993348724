/**
 * The baseline for the load benchmark: a Worker that forwards the request's bytes to Braintrust
 * unchanged (no decode, no tenant, no queue), as pointing the gateway straight at Braintrust
 * through a Worker would.
 */
interface PassthroughEnv {
  UPSTREAM: string;
}

const FORWARDED = ["authorization", "content-type", "content-encoding", "x-bt-parent"];

export default {
  async fetch(request: Request, env: PassthroughEnv): Promise<Response> {
    const headers = new Headers();
    for (const name of FORWARDED) {
      const value = request.headers.get(name);
      if (value) headers.set(name, value);
    }
    const upstream = await fetch(`${env.UPSTREAM}/otel/v1/traces`, { method: "POST", headers, body: request.body });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: { "content-type": upstream.headers.get("content-type") ?? "application/x-protobuf" },
    });
  },
} satisfies ExportedHandler<PassthroughEnv>;
