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
 * once. An error other than a lost race (a 403, a timeout) is logged when it starts, changes or
 * ends, not on every retry, and makes the replica unready (readiness()): with the Lease forbidden,
 * both replicas stand by for ever, and only that shows it.
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

/**
 * The three calls it makes (client-node's CoordinationV1Api, with a timeout on each: see main.ts).
 */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<Lease>;
  createNamespacedLease(param: { namespace: string; body: Lease }): Promise<Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: Lease }): Promise<Lease>;
}

/**
 * client-go's proportions: a renew deadline of 2/3 of the duration, a try every 1/7 (15 s: 10 s and
 * 2 s).
 */
export function leaseTimings(
  leaseDurationSeconds: number,
): Pick<LeaseSettings, 'leaseDurationSeconds' | 'renewDeadlineSeconds' | 'retrySeconds'> {
  return {
    leaseDurationSeconds,
    renewDeadlineSeconds: Math.ceil((leaseDurationSeconds * 2) / 3),
    retrySeconds: Math.max(1, Math.floor(leaseDurationSeconds / 7)),
  };
}

/**
 * Where lease.ts logs (a pino logger fits; no import of pino here: the Docker suite tests this
 * file).
 */
export interface LeaseLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** A time as the API server wants it in a Lease (MicroTime: six decimals). */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');
const isNotFound = (err: unknown) => (err as { code?: number } | undefined)?.code === 404;

/**
 * An API error as code and message: the HTTP status (client-node's ApiException has it as `code`)
 * or the error's name (a deadline's AbortError, kube.ts), and the API server's own message when it
 * sent one. Not err.message: client-node puts the response headers in it, a new audit ID every
 * time.
 */
export function leaseError(err: unknown): { code: number | string; message: string } {
  const e = err as
    { code?: unknown; name?: unknown; message?: unknown; body?: unknown } | null | undefined;
  const code =
    typeof e?.code === 'number' && e.code >= 100 && e.code < 600
      ? e.code
      : typeof e?.name === 'string'
        ? e.name
        : 'Error';
  const status = typeof e?.body === 'string' ? parsed(e.body) : e?.body;
  const said = (status as { message?: unknown } | undefined)?.message;
  const message =
    typeof said === 'string'
      ? said
      : typeof e?.message === 'string'
        ? e.message.split('\n')[0]!
        : String(err);
  return { code, message };
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class LeaderElector {
  private lastRenew = -Infinity; // our clock, when we last held the Lease for sure
  // Another holder's record, and when we saw it change.
  private observed: { record: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  // Why the last attempt failed ("code message"), '' after one that worked, undefined before any.
  private fault: string | undefined;

  constructor(
    private readonly api: LeaseApi,
    private readonly settings: LeaseSettings,
    private readonly onChange: (leader: boolean) => void = () => undefined,
    private readonly clock: () => number = Date.now,
    private readonly log: LeaseLog = { warn: () => undefined, info: () => undefined },
  ) {}

  /**
   * Readiness: the last attempt read the Lease (whoever holds it). Not while the Lease cannot be
   * read or written (forbidden, timed out): such a replica can never lead, and says so.
   */
  readiness(): { ok: boolean; reason: string } {
    if (this.fault === undefined) return { ok: false, reason: 'the Lease not read yet' };
    return this.fault === ''
      ? { ok: true, reason: 'ok' }
      : { ok: false, reason: `the Lease: ${this.fault}` };
  }

  /** True while this replica may act: it renewed the Lease less than RENEW_DEADLINE ago. */
  isLeader(): boolean {
    return this.clock() - this.lastRenew < this.settings.renewDeadlineSeconds * 1000;
  }

  /** One attempt to acquire or renew; returns whether we lead. Errors count as "not renewed". */
  async tryOnce(): Promise<boolean> {
    const before = this.isLeader();
    try {
      await this.acquireOrRenew();
      this.noted(undefined);
    } catch (err) {
      // Not renewed this time; isLeader() runs out on its own. A lost race (409) is another
      // holder, not a fault: the Lease answered.
      this.noted((err as { code?: unknown } | undefined)?.code === 409 ? undefined : err);
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
   * Stops trying; if we lead, releases the Lease (holder cleared) so another replica takes it now.
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
    } catch (err) {
      this.log.warn(
        { lease: name, ...leaseError(err) },
        'could not release the Lease: the other replica takes over when it expires',
      );
    }
    this.onChange(false);
  }

  /**
   * Records the outcome of one attempt; logs only a change (a first error, another, the end of
   * one).
   */
  private noted(err: unknown): void {
    const { name } = this.settings;
    const error = err === undefined ? undefined : leaseError(err);
    const fault = error ? `${error.code} ${error.message}` : '';
    if (fault === this.fault) return;
    const before = this.fault;
    this.fault = fault;
    if (error)
      this.log.warn(
        { lease: name, ...error },
        'cannot read or renew the Lease: not ready, not leading until it answers',
      );
    else if (before) this.log.info({ lease: name }, 'the Lease answers again: ready');
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
