/**
 * A platform binding (KV, R2, a queue) that is the real one except that one method throws, as the
 * platform's does when the store is unavailable: an error with that message, or the error given (one
 * marked as Cloudflare marks its own). `when` picks the calls that fail (by their arguments, e.g. one
 * key prefix); the rest reach the real binding, so everything else behaves as it does in production.
 */
export function failingBinding<T extends object, M extends keyof T & string>(
  binding: T,
  method: M,
  error: string | Error,
  when: (...args: unknown[]) => boolean = () => true,
): T {
  const failure = () => (typeof error === "string" ? new Error(error) : error);
  return wrappingMethod(binding, method, (real, ...args) => (when(...args) ? Promise.reject(failure()) : real(...args)));
}

/**
 * A platform binding that is the real one except that `meanwhile` runs at one moment of `method`'s
 * first call: before it reaches the binding, or once it has answered and before its caller reads the
 * answer. An operator's change landing while the relay works on what it read, say.
 */
export function meddlingBinding<T extends object>(
  binding: T,
  method: keyof T & string,
  at: "before" | "after",
  meanwhile: () => Promise<void>,
): T {
  let calls = 0;
  return wrappingMethod(binding, method, async (real, ...args) => {
    const first = calls++ === 0;
    if (first && at === "before") await meanwhile();
    const answer = await real(...args);
    if (first && at === "after") await meanwhile();
    return answer;
  });
}

type Call = (...args: unknown[]) => Promise<unknown>;

/**
 * `binding` as it is but for `method`, which `wrap` answers in its place, given the real one: a
 * platform binding, or a Durable Object stub.
 */
function wrappingMethod<T extends object>(binding: T, method: string, wrap: (real: Call, ...args: unknown[]) => Promise<unknown>): T {
  return new Proxy(binding, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      // Called through Reflect.apply, not the function's own bind or apply: a Durable Object stub's
      // members answer those as calls of the object's.
      const real: Call = (...args) => Reflect.apply(value, target, args);
      return property === method ? (...args: unknown[]) => wrap(real, ...args) : real;
    },
  });
}

/**
 * An R2 bucket that is the real one but lists `prefix` as holding only what is under `within`, in
 * one page: a test's call over every tenant's objects then sees its own tenants', not those of the
 * tests running beside it.
 */
export function listingOnly(bucket: R2Bucket, prefix: string, within: string[]): R2Bucket {
  return new Proxy(bucket, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property !== "list") return (...args: unknown[]) => Reflect.apply(value, target, args);
      return async (options?: R2ListOptions): Promise<R2Objects> => {
        if (options?.prefix !== prefix) return target.list(options);
        const pages = await Promise.all(within.map((under) => target.list({ ...options, prefix: under })));
        return { objects: pages.flatMap((page) => page.objects), truncated: false, delimitedPrefixes: [] };
      };
    },
  });
}

/**
 * A queue that remembers each message it is asked to hold, with the delay it was sent with, so a
 * test reads what was (re-)enqueued rather than timing it. With `delegate` (the real queue) the
 * messages go on to it; without, they stay here, never delivered.
 */
export function recordingQueue<Body>(delegate?: Queue<Body>): Queue<Body> & { sent: MessageSendRequest<Body>[]; batches: number[] } {
  const sent: MessageSendRequest<Body>[] = [];
  /** The number of messages of each sendBatch call, in order. */
  const batches: number[] = [];
  const held = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
  return {
    sent,
    batches,
    send: async (body, options) => {
      sent.push({ body, ...options });
      return delegate ? delegate.send(body, options) : held;
    },
    sendBatch: async (messages, options) => {
      const list = [...messages].map((m) => ({ delaySeconds: options?.delaySeconds, ...m }));
      sent.push(...list);
      batches.push(list.length);
      return delegate ? delegate.sendBatch(list, options) : held;
    },
    metrics: async () => (delegate ? delegate.metrics() : held.metadata.metrics),
  };
}

/**
 * A Durable Object namespace that is the real one except that one object's `method` throws, as a
 * call does when the object is reset (a deploy, an overload) partway: the others answer as ever.
 */
export function failingObject<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  name: string,
  method: string,
  error: string | Error,
): DurableObjectNamespace<T> {
  return wrappingStubs(namespace, (stub, asked) =>
    asked === name ? failingBinding(stub, method as keyof typeof stub & string, error) : stub,
  );
}

/**
 * A Durable Object namespace that is the real one except that each object's `method` lets
 * `meanwhile` run at one moment of the call: before the object is reached, or once it has answered
 * and before its caller reads the answer. Another admin's change landing there, say.
 */
export function meddlingObjects<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  method: string,
  at: "before" | "after",
  meanwhile: () => Promise<void>,
): DurableObjectNamespace<T> {
  return wrappingStubs(namespace, (stub) =>
    wrappingMethod(stub, method, async (real, ...args) => {
      if (at === "before") await meanwhile();
      const answer = await real(...args);
      if (at === "after") await meanwhile();
      return answer;
    }),
  );
}

/**
 * A Durable Object namespace that is the real one except that each object's `method` answers as
 * `older` makes the real answer: an object still running an older relay's code, mid-deploy.
 */
export function olderObjects<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  method: string,
  older: (answer: unknown) => unknown,
): DurableObjectNamespace<T> {
  return wrappingStubs(namespace, (stub) => wrappingMethod(stub, method, async (real, ...args) => older(await real(...args))));
}

/** A Durable Object namespace that is the real one, each stub it gives out passed through `wrap` first. */
function wrappingStubs<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  wrap: (stub: DurableObjectStub<T>, name: string) => DurableObjectStub<T>,
): DurableObjectNamespace<T> {
  return new Proxy(namespace, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property !== "getByName") return value.bind(target);
      return (name: string) => wrap(target.getByName(name), name);
    },
  });
}

/**
 * A KV namespace that is the real one but answers a read of `key` only once released: KV read the
 * value at once (as it was then), and the read is still under way, as an ingest request's is while
 * an admin change lands in the same isolate. `read` settles once such a read has KV's answer.
 */
export function heldReads(kv: KVNamespace, key: string): { kv: KVNamespace; read: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let answered!: () => void;
  const read = new Promise<void>((resolve) => {
    answered = resolve;
  });
  const held = wrappingMethod(kv, "get", async (real, ...args) => {
    const answer = await real(...args);
    if (args[0] === key) {
      answered();
      await released;
    }
    return answer;
  });
  return { kv: held, read, release };
}

/**
 * A Durable Object's SQL storage made to keep every cursor its queries open, in the list returned:
 * a test sums the rows they read or wrote, as Cloudflare bills them.
 */
export function recordingCursors(sql: SqlStorage): SqlStorageCursor<Record<string, SqlStorageValue>>[] {
  const exec = sql.exec.bind(sql);
  const opened: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  sql.exec = ((query: string, ...bindings: SqlStorageValue[]) => {
    const cursor = exec(query, ...bindings);
    opened.push(cursor);
    return cursor;
  }) as typeof sql.exec;
  return opened;
}
