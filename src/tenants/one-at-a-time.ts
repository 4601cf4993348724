/**
 * Runs async work strictly one after another. A Durable Object's input gate lets other calls in
 * while it awaits KV or any other binding, so a read-modify-write spanning such an await needs
 * this to stay atomic.
 */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    // The next piece of work waits for this one to settle, never for it to succeed.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
