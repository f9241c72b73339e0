/**
 * A work queue of `namespace/name` keys, the shape of client-go's: a key is queued once however
 * often it is added, never processed by two workers at once, and one that failed comes back
 * after a growing delay (1 s, 2 s, 4 s ... 30 s).
 */
export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly again = new Set<string>(); // added while being processed: run once more after
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private wake: (() => void) | undefined;
  private closed = false;

  add(key: string): void {
    if (this.closed) return;
    if (this.active.has(key)) this.again.add(key);
    else this.queued.add(key);
    this.wake?.();
  }

  /** After a failure: add KEY again later, later still if it keeps failing. */
  retry(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = Math.min(30_000, 1000 * 2 ** (failures - 1));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.add(key);
    }, delay);
    this.timers.add(timer);
    return delay;
  }

  /** After a success: the key's next failure starts the backoff from 1 s. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /**
   * Runs HANDLER for queued keys, one at a time, until close(); resolves when the last one is
   * done.
   */
  async run(handler: (key: string) => Promise<void>): Promise<void> {
    while (!this.closed) {
      const [key] = this.queued;
      if (key === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.queued.delete(key);
      this.active.add(key);
      try {
        await handler(key);
      } finally {
        this.active.delete(key);
        if (this.again.delete(key)) this.queued.add(key);
      }
    }
  }

  /** No new work; the key in progress finishes (run() resolves then). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.wake?.();
  }
}
