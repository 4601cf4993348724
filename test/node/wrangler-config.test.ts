import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

interface QueueConsumer {
  queue: string;
  max_batch_size?: number;
  max_batch_timeout?: number;
  max_retries?: number;
  retry_delay?: number;
  dead_letter_queue?: string;
}

/** The parts of wrangler.toml these tests read, as wrangler reads them. */
interface WranglerConfig {
  main?: string;
  queues: { producers?: Array<{ binding: string; queue: string }>; consumers?: QueueConsumer[] };
  durable_objects: { bindings: Array<{ name: string; class_name: string }> };
  migrations: Array<{ tag: string; new_classes?: string[]; new_sqlite_classes?: string[] }>;
  r2_buckets: Array<{ bucket_name?: string }>;
  kv_namespaces: Array<{ binding: string }>;
}

const config: WranglerConfig = unstable_readConfig({ config: "wrangler.toml" });
const consumers = config.queues.consumers ?? [];
const producers = config.queues.producers ?? [];

/** The README's section on deploying, whose commands an operator runs in order on a new account. */
function deploySteps(): string {
  const readme = readFileSync("README.md", "utf8");
  const start = readme.indexOf("## Deploying to Cloudflare");
  return readme.slice(start, readme.indexOf("\n## ", start + 1));
}

/** The Durable Object classes the Worker's main module exports, which wrangler.toml must bind and create. */
function exportedDurableObjectClasses(): string[] {
  const main = readFileSync(config.main ?? "src/index.ts", "utf8");
  return [...main.matchAll(/^export \{ (\w+) \} from/gm)].map((match) => match[1]!).sort();
}

it("the dead-letter queue's consumer retries for about a day, not Cloudflare's three immediate retries", () => {
  const consumer = consumers.find((c) => c.queue === "tfy-relay-dead-letters");
  expect((consumer?.max_retries ?? 3) * (consumer?.retry_delay ?? 0)).toBeGreaterThanOrEqual(24 * 3600);
});

it("the delivery queue's consumer gets a batch it could not run back after 30 s, as a message it failed on, not at once", () => {
  const delivery = consumers.find((c) => c.queue === "tfy-relay-deliveries");
  // CONSUMER_FAILURE_DELAY_SECONDS (src/deliver/consumer.ts); with max_retries, the README's "about 2.5 minutes"
  // before the dead-letter queue. Cloudflare's default, none, sends such a batch there within seconds.
  expect(delivery?.retry_delay).toBe(30);
  expect((delivery?.max_retries ?? 3) * (delivery?.retry_delay ?? 0)).toBe(150);
});

describe("Durable Objects", () => {
  it("every class the Worker exports is bound, and every bound class is exported", () => {
    const bound = config.durable_objects.bindings.map((binding) => binding.class_name).sort();
    expect(bound).toEqual(exportedDurableObjectClasses());
  });

  it("every class is created once, with SQLite storage (the Free plan has no other, and the classes use SQL), by migrations tagged in order", () => {
    const created = config.migrations.flatMap((migration) => migration.new_sqlite_classes ?? []).sort();
    expect(created).toEqual(exportedDurableObjectClasses());
    expect(config.migrations.flatMap((migration) => migration.new_classes ?? [])).toEqual([]);
    // Cloudflare applies the migrations after the tag it last recorded: a tag reordered or reused skips or repeats one.
    expect(config.migrations.map((migration) => migration.tag)).toEqual(config.migrations.map((_, i) => `v${i + 1}`));
  });
});

describe("queues", () => {
  it("each queue a consumer reads is filled by the Worker's producer or by another consumer's dead letters", () => {
    const filled = [...producers.map((p) => p.queue), ...consumers.flatMap((c) => (c.dead_letter_queue ? [c.dead_letter_queue] : []))];
    for (const consumer of consumers) expect(filled).toContain(consumer.queue);
  });

  it("the delivery queue's dead letters go to a queue this Worker consumes, the one it tells apart by DEAD_LETTER_QUEUE's default", () => {
    const delivery = consumers.find((c) => c.queue === producers.find((p) => p.binding === "DELIVERY_QUEUE")?.queue);
    const deadLetters = consumers.find((c) => c.queue === delivery?.dead_letter_queue);
    expect(deadLetters?.queue).toBe(readFileSync(".dev.vars.example", "utf8").match(/^DEAD_LETTER_QUEUE=(.*)$/m)?.[1]);
    // Its own failures are dropped after its retries, not sent round again.
    expect(deadLetters?.dead_letter_queue).toBeUndefined();
  });

  // Wrangler's dry run and miniflare take any number here; Cloudflare's API refuses the deploy (Queues limits).
  it.each(consumers.map((c): [string, QueueConsumer] => [c.queue, c]))(
    "%s's consumer settings are within what Cloudflare accepts",
    (_, consumer) => {
      expect(consumer.max_batch_size ?? 10).toBeLessThanOrEqual(100);
      expect(consumer.max_batch_timeout ?? 5).toBeLessThanOrEqual(60);
      expect(consumer.max_retries ?? 3).toBeLessThanOrEqual(100);
      expect(consumer.retry_delay ?? 0).toBeLessThanOrEqual(12 * 3600);
    },
  );
});

describe("the README's deploy steps, on a new account", () => {
  const steps = deploySteps();

  it("create every queue wrangler.toml names", () => {
    const queues = new Set([...producers.map((p) => p.queue), ...consumers.flatMap((c) => [c.queue, c.dead_letter_queue ?? []].flat())]);
    for (const queue of queues) expect(steps).toContain(`npx wrangler queues create ${queue}\n`);
  });

  it("create every R2 bucket and KV namespace wrangler.toml binds", () => {
    for (const bucket of config.r2_buckets) expect(steps).toContain(`npx wrangler r2 bucket create ${bucket.bucket_name}\n`);
    for (const namespace of config.kv_namespaces) expect(steps).toContain(`npx wrangler kv namespace create ${namespace.binding}`);
  });

  it("state each queue consumer's settings as wrangler.toml has them", () => {
    const text = steps.replace(/\s+/g, " ");
    /** The `key = value` settings written in the parentheses that follow `after`, as wrangler reads them. */
    const statedAfter = (after: string) => {
      const start = text.indexOf(`${after} (`);
      const stated = text.slice(start, text.indexOf(")", start));
      return Object.fromEntries([...stated.matchAll(/`(\w+) = ([^`]+)`/g)].map(([, key, value]) => [key, JSON.parse(value!)]));
    };
    const [delivery, deadLetters] = consumers;
    expect({ queue: delivery?.queue, ...statedAfter("the delivery queue") }).toEqual(delivery);
    expect(statedAfter("for a day")).toEqual({ max_retries: deadLetters?.max_retries, retry_delay: deadLetters?.retry_delay });
  });

  it("set every secret the Worker needs: those .dev.vars.example gives a value (an empty one is only for a rotation)", () => {
    const example = readFileSync(".dev.vars.example", "utf8");
    const secrets = example.slice(example.indexOf("\n# Secrets"), example.indexOf("\n# Vars"));
    const needed = [...secrets.matchAll(/^([A-Z_]+)=(.+)$/gm)].map((match) => match[1]!);
    expect(needed).toEqual(["ADMIN_TOKEN", "ENCRYPTION_KEY"]);
    for (const secret of needed) expect(steps).toMatch(new RegExp(`\\| npx wrangler secret put ${secret}\\n`));
  });
});
