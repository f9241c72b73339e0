/**
 * Liveness that follows the worker, not just the process: /healthz fails when a reconcile has run
 * longer than a bound (every call in it has a timeout, so only a bug gets it stuck), or when the
 * resync tick stopped. It does not depend on Prometheus or the API server answering: an outage of
 * either would otherwise restart the operator for nothing.
 */
export class Health {
  private lastTick: number;
  private busy: { key: string; since: number } | undefined;

  constructor(
    private readonly tickBoundMs: number,
    private readonly reconcileBoundMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.lastTick = clock();
  }

  tick(): void {
    this.lastTick = this.clock();
  }

  /** Wraps one reconcile of KEY: its start and end are what liveness watches. */
  async track<T>(key: string, work: () => Promise<T>): Promise<T> {
    this.busy = { key, since: this.clock() };
    try {
      return await work();
    } finally {
      this.busy = undefined;
    }
  }

  /** ok, or why not (the text /healthz answers). */
  check(): { ok: boolean; reason: string } {
    const now = this.clock();
    if (this.busy && now - this.busy.since > this.reconcileBoundMs) {
      return {
        ok: false,
        reason:
          `reconcile of ${this.busy.key} stuck for ` +
          `${Math.round((now - this.busy.since) / 1000)} s`,
      };
    }
    if (now - this.lastTick > this.tickBoundMs)
      return {
        ok: false,
        reason: `resync tick stalled for ${Math.round((now - this.lastTick) / 1000)} s`,
      };
    return { ok: true, reason: 'ok' };
  }
}
