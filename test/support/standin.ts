import { env } from "cloudflare:workers";
import { standinClient } from "../standin/client.js";

/** The Braintrust stand-in this test project shares (see test/standin). */
export const standin = standinClient(env.STANDIN_URL);

/** The largest body the stand-in got uncompressed for `key`, answered or not: what the relay's upstream cap bounds. */
export async function largestUncompressedRequest(key: string): Promise<number> {
  const uncompressed = (await standin.attempts(key)).filter((a) => a.contentEncoding === "");
  return Math.max(0, ...uncompressed.map((a) => a.bytes));
}
