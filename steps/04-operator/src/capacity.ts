// #region capacity
/**
 * The capacity of one replica, as a model: it works on at most `slots` requests at once, each
 * taking a fixed `workMs`, and queues the rest in arrival order. So latency depends on the load
 * per replica and not on how fast the laptop is: add replicas and it falls.
 */
export class Capacity {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly slots: number) {}

  /** Requests waiting for a slot right now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `work` as soon as a slot is free, telling it how long it queued (0: a slot was free). */
  async use<T>(work: (waitedMs: number) => Promise<T>): Promise<T> {
    const arrived = performance.now();
    const free = this.busy < this.slots;
    if (free) this.busy++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // a slot handed over
    try {
      return await work(free ? 0 : performance.now() - arrived);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}
// #endregion capacity
