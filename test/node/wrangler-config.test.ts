import { expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

const config = unstable_readConfig({ config: "wrangler.toml" });

it("the dead-letter queue's consumer retries for about a day, not Cloudflare's three immediate retries", () => {
  const consumer = config.queues.consumers?.find((c: { queue: string }) => c.queue === "tfy-relay-dead-letters");
  expect((consumer?.max_retries ?? 3) * (consumer?.retry_delay ?? 0)).toBeGreaterThanOrEqual(24 * 3600);
});
