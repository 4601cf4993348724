import { env } from "cloudflare:workers";
import { standinClient } from "../standin/client.js";

/** The Braintrust stand-in this test project shares (see test/standin). */
export const standin = standinClient(env.STANDIN_URL);
