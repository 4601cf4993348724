/**
 * The KV copy of a record whose authoritative copy lives elsewhere. Changes made while a write is
 * under way share the next write (group commit): ten concurrent changes cost two KV writes, not
 * ten, which keeps a burst of admin calls under KV's one write per second per key.
 */
export class KvReplica {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /** `write` copies the authoritative record, as it is when the write starts, to KV. */
  constructor(private readonly write: () => Promise<void>) {}

  /** Settles once a write that started after this call has finished: it carries every change made before the call. */
  sync(): Promise<void> {
    this.queued ??= (this.running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        const run = this.write();
        this.running = run;
        run.then(
          () => this.settled(run),
          () => this.settled(run),
        );
        return run;
      });
    return this.queued;
  }

  private settled(run: Promise<void>): void {
    if (this.running === run) this.running = undefined;
  }
}
