/**
 * A platform binding (KV, R2, a queue) that is the real one except that one method throws, as the
 * platform's does when the store is unavailable. `when` picks the calls that fail (by their
 * arguments, e.g. one key prefix); the rest reach the real binding, so everything else behaves
 * as it does in production.
 */
export function failingBinding<T extends object, M extends keyof T & string>(
  binding: T,
  method: M,
  error: string,
  when: (...args: unknown[]) => boolean = () => true,
): T {
  return new Proxy(binding, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      const real = value as (...args: unknown[]) => unknown;
      if (property !== method) return real.bind(target);
      return (...args: unknown[]) => (when(...args) ? Promise.reject(new Error(error)) : real.apply(target, args));
    },
  });
}

/** A queue that sends through the real one and remembers each message and its delay, so a test can see what was re-enqueued. */
export function recordingQueue<Body>(queue: Queue<Body>): Queue<Body> & { sent: MessageSendRequest<Body>[] } {
  const sent: MessageSendRequest<Body>[] = [];
  return {
    sent,
    send: async (body, options) => {
      sent.push({ body, ...options });
      return queue.send(body, options);
    },
    sendBatch: async (messages, options) => {
      const list = [...messages];
      sent.push(...list);
      return queue.sendBatch(list, options);
    },
    metrics: () => queue.metrics(),
  };
}
