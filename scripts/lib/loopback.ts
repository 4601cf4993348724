import type { Server } from "node:net";

/** Starts `server` listening on `port` of loopback (0: any free one); rejects when the port is taken. */
export function listenOnLoopback(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
}
