/**
 * Leader election on a coordination.k8s.io Lease, the way client-go's leaderelection package does
 * it, in about a hundred lines: client-node has none, and the libraries that add one bring a
 * framework with them. Every replica tries every RETRY seconds:
 * - no Lease: create it, holding it;
 * - held by us: renew it (an update with the resourceVersion we read: a lost race is a 409);
 * - held by another: take it over only when its record has not changed for LEASE_DURATION, as
 *   measured on OUR clock from when we saw it change (no trust in other clocks).
 * A leader that could not renew for RENEW_DEADLINE (< LEASE_DURATION) stops acting before anyone
 * may take over. On shutdown the leader releases the Lease, so the other replica takes over at
 * once.
 */

/** The part of a coordination.k8s.io/v1 Lease this uses (client-node's V1Lease fits it). */
export interface Lease {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: unknown;
    renewTime?: unknown;
    leaseTransitions?: number;
  };
}

export interface LeaseSettings {
  namespace: string;
  name: string;
  /** This replica's name: its pod name. */
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retrySeconds: number;
}

/** The three calls it makes (client-node's CoordinationV1Api, a timeout on each: main.ts). */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<Lease>;
  createNamespacedLease(param: { namespace: string; body: Lease }): Promise<Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: Lease }): Promise<Lease>;
}

/** A time as the API server wants it in a Lease (MicroTime: six decimals). */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');
const isNotFound = (err: unknown) => (err as { code?: number } | undefined)?.code === 404;

export class LeaderElector {
  private lastRenew = -Infinity; // our clock, when we last held the Lease for sure
  // Another holder's record, and when we saw it change.
  private observed: { record: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly api: LeaseApi,
    private readonly settings: LeaseSettings,
    private readonly onChange: (leader: boolean) => void = () => undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  /** True while this replica may act: it renewed the Lease less than RENEW_DEADLINE ago. */
  isLeader(): boolean {
    return this.clock() - this.lastRenew < this.settings.renewDeadlineSeconds * 1000;
  }

  /** One attempt to acquire or renew; returns whether we lead. Errors count as "not renewed". */
  async tryOnce(): Promise<boolean> {
    const before = this.isLeader();
    try {
      await this.acquireOrRenew();
    } catch {
      // An API error or a lost race (409): not renewed this time. isLeader() runs out on its own.
    }
    const after = this.isLeader();
    if (after !== before) this.onChange(after);
    return after;
  }

  /** Tries every RETRY seconds until stop(). */
  start(): void {
    const loop = async () => {
      await this.tryOnce();
      this.timer = setTimeout(() => void loop(), this.settings.retrySeconds * 1000);
    };
    void loop();
  }

  /**
   * Stops trying; if we lead, releases the Lease (holder cleared) so another replica takes it
   * now.
   */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    if (!this.isLeader()) return;
    this.lastRenew = -Infinity;
    const { namespace, name } = this.settings;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== this.settings.identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1 },
        },
      });
    } catch {
      // Not released: the other replica takes over when the Lease expires.
    }
    this.onChange(false);
  }

  private async acquireOrRenew(): Promise<void> {
    const { namespace, name, identity, leaseDurationSeconds } = this.settings;
    const now = this.clock();
    const spec = (previous?: Lease['spec']) => ({
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime:
        previous?.holderIdentity === identity && previous.acquireTime
          ? previous.acquireTime
          : microTime(now),
      renewTime: microTime(now), // MicroTime: the API server wants six decimals
      leaseTransitions:
        (previous?.leaseTransitions ?? 0) + (previous?.holderIdentity === identity ? 0 : 1),
    });
    let lease: Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: { metadata: { name, namespace }, spec: { ...spec(), leaseTransitions: 0 } },
      });
      this.lastRenew = now;
      return;
    }
    const holder = lease.spec?.holderIdentity;
    if (holder && holder !== identity) {
      // Someone else's: expired only if its record stood still for its whole duration, by our
      // clock.
      const record = `${holder}/${lease.metadata?.resourceVersion}`;
      if (this.observed?.record !== record) this.observed = { record, at: now };
      const duration = (lease.spec?.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (now - this.observed.at < duration) return;
    }
    // Ours, free (released), or expired: write ourselves in, with the resourceVersion we read.
    await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: { ...lease, spec: spec(lease.spec) },
    });
    this.lastRenew = now;
    this.observed = undefined;
  }
}
