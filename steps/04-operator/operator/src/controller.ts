/**
 * The thin shell around decide(): one reconcile of one LatencyScaler, sample-controller style.
 * Read the object and its Deployment (from the informers' caches, never mutated: no API read per
 * reconcile, 1,000 of them fit in a 5 s tick), take this tick's metric (one batched Prometheus
 * query for the namespace, prometheus.ts), decide, and:
 * - to scale: write the INTENT to status first (desiredReplicas, lastScaleTime), then the scale.
 *   A crash in between leaves a recorded intent in its cooldown: the next reconcile (this replica
 *   or the new leader) completes that same scale instead of deciding a second one.
 * - otherwise: write status, only when it changed (no heartbeat: status.ts stamped()).
 * Events say what happened, once per change.
 * Every write is fenced (fence.ts): made only while this replica leads, checked just before it;
 * a late one is skipped and the reconcile stops there. Status writes carry the resourceVersion
 * read: a 409 means another writer (a new leader) came first, so re-read at the next tick.
 */
import {
  ApiException,
  type AppsV1Api,
  type ConfigurationOptions,
  type CoreV1Api,
  type CustomObjectsApi,
  type ObjectCache,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Scale,
} from '@kubernetes/client-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type Metric, plan, rfc3339, type Tick, unfinishedIntent } from './decide.js';
import { createEvent } from './events.js';
import { fenced, NotLeader } from './fence.js';
import { errorText } from './kube.js';
import type { Logger } from './log.js';
import {
  cacheIsNewer,
  conditionsFor,
  condition,
  GROUP,
  KIND,
  type LatencyScaler,
  mergeConditions,
  type Mode,
  PLURAL,
  type ScalerStatus,
  stamped,
  type Unstamped,
  VERSION,
  type Wanted,
  type Written,
} from './status.js';

/** Event reasons, named once (kubectl get events --field-selector reason=ScaledUp). */
export const EventReason = {
  ScaledUp: 'ScaledUp',
  ScaledDown: 'ScaledDown',
  ScaledToLimit: 'ScaledToLimit',
  WouldScale: 'WouldScale', // spec.dryRun
  MetricUnavailable: 'MetricUnavailable',
  NoSeries: 'NoSeries',
  MetricAvailable: 'MetricAvailable',
  TargetNotFound: 'TargetNotFound',
  TargetRefused: 'TargetRefused',
  ScaleConflict: 'ScaleConflict',
} as const;

export interface Deps {
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  cache: ObjectCache<LatencyScaler>;
  /**
   * The namespace's Deployments, from an informer (main.ts): replicas and readiness without a GET.
   */
  deployments: ObjectCache<V1Deployment>;
  log: Logger;
  /** Where the operator's own metrics go (none in the controller tests). */
  registry?: Registry;
  /**
   * Whether this replica may write now: it holds the Lease, inside its renew deadline (lease.ts).
   */
  isLeader: () => boolean;
  /** This tick's answer from Prometheus for a target (see main.ts: one query for all). */
  metricFor: (target: string) => Promise<Metric>;
  /** The operator's own Deployment: never a target. */
  selfDeployment: string;
  /** Per-call options: a timeout on every Kubernetes request (kube.ts). */
  callOptions: ConfigurationOptions;
  now?: () => Date;
}

/** A status write refused with 409: the object changed since it was read. */
class StatusConflict extends Error {}

export function createController(deps: Deps) {
  const { apps, core, custom, cache, deployments, log, callOptions, isLeader } = deps;
  const now = deps.now ?? (() => new Date());
  const registers = deps.registry ? [deps.registry] : [];
  const reconciles = new Counter({
    name: 'latency_operator_reconciles_total',
    help: 'Reconciles by result',
    labelNames: ['result'],
    registers,
  });
  const scales = new Counter({
    name: 'latency_operator_scales_total',
    help: 'Scale writes by direction',
    labelNames: ['direction'],
    registers,
  });
  const latencyGauge = new Gauge({
    name: 'latency_operator_observed_p95_ms',
    help: 'Last p95 read from Prometheus',
    labelNames: ['namespace', 'name'],
    registers,
  });

  /** Records an Event, tried again if the create fails (events.ts); a lost one is only logged. */
  async function event(
    scaler: LatencyScaler,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const time = now();
    const body = {
      // One name for all the tries: a create that got through is not recorded twice.
      metadata: {
        name:
          `${scaler.metadata.name}.${time.getTime().toString(16)}` +
          Math.random().toString(16).slice(2, 6),
        namespace: scaler.metadata.namespace,
      },
      involvedObject: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: KIND,
        name: scaler.metadata.name,
        namespace: scaler.metadata.namespace,
        uid: scaler.metadata.uid,
      },
      reason,
      message,
      type,
      source: { component: 'latency-operator' },
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    // Fenced on every try: a retry a second later may come after the renew deadline.
    const err = await createEvent(() =>
      fenced(isLeader, `Event ${reason}`, () =>
        core.createNamespacedEvent({ namespace: scaler.metadata.namespace, body }, callOptions),
      ),
    );
    if (err instanceof NotLeader) throw err; // the reconcile stops: no later write is ours either
    if (err !== undefined) log.warn({ err: errorText(err), reason }, 'could not record an event');
  }

  // The last status this replica wrote, per key, until the informer's cache shows it (or a newer
  // one): the cache lags behind our own write by a moment (status.ts cacheIsNewer()).
  const written = new Map<string, Written>();
  // The status to decide from, and the resourceVersion it is of (the precondition of the next
  // write).
  const statusOf = (
    key: string,
    scaler: LatencyScaler,
  ): { status: ScalerStatus | undefined; resourceVersion: string | undefined } => {
    const ours = written.get(key);
    if (ours && !cacheIsNewer(scaler, ours))
      return { status: ours.status, resourceVersion: ours.resourceVersion };
    written.delete(key);
    return { status: scaler.status, resourceVersion: scaler.metadata.resourceVersion };
  };

  /**
   * Writes NEXT if it changes anything (stamped with now), else nothing. The merge patch carries
   * the resourceVersion the status was read at: a deposed leader's late write is refused (409),
   * never laid over the new leader's.
   */
  async function writeStatus(scaler: LatencyScaler, next: Unstamped): Promise<void> {
    const status = stamped(scaler.status, next, now());
    if (!status) return;
    const key = `${scaler.metadata.namespace}/${scaler.metadata.name}`;
    let patched: LatencyScaler;
    try {
      patched = (await fenced(isLeader, 'status write', () =>
        custom.patchNamespacedCustomObjectStatus(
          {
            group: GROUP,
            version: VERSION,
            namespace: scaler.metadata.namespace,
            plural: PLURAL,
            name: scaler.metadata.name,
            body: { metadata: { resourceVersion: scaler.metadata.resourceVersion }, status },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch, callOptions),
        ),
      )) as LatencyScaler;
    } catch (err) {
      if ((err as { code?: unknown } | undefined)?.code !== 409) throw err;
      written.delete(key); // what we wrote before is not the latest: read the cache again
      throw new StatusConflict(errorText(err));
    }
    written.set(key, {
      uid: scaler.metadata.uid,
      resourceVersion: patched.metadata?.resourceVersion,
      status,
    });
  }

  /** Only the ScalingActive condition changes (target missing or refused), with an Event once. */
  async function notActive(
    scaler: LatencyScaler,
    reason: 'TargetNotFound' | 'TargetRefused',
    message: string,
  ): Promise<void> {
    const previous = scaler.status;
    if (condition(previous, 'ScalingActive')?.reason !== reason)
      await event(scaler, 'Warning', reason, message);
    const others: Wanted[] = (previous?.conditions ?? []).filter((c) => c.type !== 'ScalingActive');
    await writeStatus(scaler, {
      ...previous,
      observedGeneration: scaler.metadata.generation,
      lastDecision: { reason, message },
      conditions: mergeConditions(
        previous?.conditions,
        [...others, { type: 'ScalingActive', status: 'False', reason, message }],
        scaler.metadata.generation,
        now(),
      ),
    });
    reconciles.inc({ result: reason });
  }

  /**
   * Sets the scale to REPLICAS if it is not there yet, with the resourceVersion read (409 if anyone
   * changed it since).
   */
  async function scaleTo(scale: V1Scale, replicas: number, scaler: LatencyScaler): Promise<void> {
    if (scale.spec?.replicas === replicas) return;
    try {
      await fenced(isLeader, 'scale write', () =>
        apps.replaceNamespacedDeploymentScale(
          {
            name: scale.metadata!.name!,
            namespace: scaler.metadata.namespace,
            body: { ...scale, spec: { ...scale.spec, replicas } },
          },
          callOptions,
        ),
      );
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) {
        await event(
          scaler,
          'Warning',
          EventReason.ScaleConflict,
          `the scale of ${scale.metadata?.name} changed while deciding; will decide again`,
        );
      }
      throw err;
    }
    scales.inc({ direction: replicas > (scale.spec?.replicas ?? 0) ? 'up' : 'down' });
  }

  const eventReason = (reason: string) =>
    reason === 'ScaledUp'
      ? EventReason.ScaledUp
      : reason === 'ScaledDown'
        ? EventReason.ScaledDown
        : EventReason.ScaledToLimit;

  /**
   * Reconciles the LatencyScaler KEY (namespace/name). Throws on a transient error: the queue
   * retries. A write fenced off or a status conflict ends it quietly: the next tick decides again.
   */
  async function reconcile(key: string): Promise<void> {
    try {
      await reconcileOnce(key);
    } catch (err) {
      if (err instanceof NotLeader) {
        log.warn(
          { scaler: key, skipped: err.write },
          'lost the lease or past its renew deadline: write skipped, reconcile stopped',
        );
        reconciles.inc({ result: 'NotLeader' });
      } else if (err instanceof StatusConflict) {
        log.info(
          { scaler: key, err: err.message },
          'status changed since it was read (409): nothing written, read again at the next tick',
        );
        reconciles.inc({ result: 'StatusConflict' });
      } else {
        throw err;
      }
    }
  }

  async function reconcileOnce(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = cache.get(name, namespace);
    if (!cached) {
      written.delete(key);
      return; // deleted: nothing to do, the Deployment keeps its replicas
    }
    const { status: previous, resourceVersion } = statusOf(key, cached);
    const scaler = {
      ...cached,
      metadata: { ...cached.metadata, resourceVersion },
      status: previous,
    };
    const { spec } = scaler;
    const generation = scaler.metadata.generation;
    const target = spec.targetRef.name;
    const mode: Mode = spec.paused ? 'paused' : spec.dryRun ? 'dry-run' : 'active';

    if (target === deps.selfDeployment) {
      return notActive(
        scaler,
        'TargetRefused',
        `Deployment ${target} is this operator itself: ` +
          'an operator that scales itself on its own decisions is refused',
      );
    }
    const deployment = deployments.get(target, namespace);
    if (!deployment)
      return notActive(scaler, 'TargetNotFound', `Deployment ${namespace}/${target} not found`);
    // The scale as the cache saw it: written back with that resourceVersion, any change since
    // (a kubectl scale, a rollout) makes the write a 409, as a GET of the scale would.
    const scale: V1Scale = {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: target, namespace, resourceVersion: deployment.metadata?.resourceVersion },
      spec: { replicas: deployment.spec?.replicas ?? 0 },
    };
    const current = scale.spec?.replicas ?? 0;
    const tick: Tick = {
      spec,
      mode,
      current,
      ready: deployment.status?.readyReplicas ?? 0,
      memory: { ...previous, lastReason: previous?.lastDecision?.reason },
      now: now(),
    };

    const intent = unfinishedIntent(tick);
    const recorded = previous?.lastDecision; // the intent's reason and sentence
    if (intent !== undefined && recorded) {
      log.info(
        { scaler: key, target, from: current, to: intent },
        'completing the scale recorded in status',
      );
      await scaleTo(scale, intent, scaler);
      await event(scaler, 'Normal', eventReason(recorded.reason), `${target}: ${recorded.message}`);
      reconciles.inc({ result: 'IntentCompleted' });
      return;
    }

    const metric = await deps.metricFor(target);
    const { decision, scale: scaling, message, readyTime, capacity } = plan(tick, metric);
    const reason = decision.reason;
    if (metric.kind === 'value') latencyGauge.set({ namespace, name }, metric.ms);
    log.info(
      { scaler: key, target, mode, current, metric, desired: decision.desired, reason },
      message,
    );

    // Say so once when the metric goes away or comes back, not every 5 s.
    const before = condition(previous, 'MetricAvailable')?.reason;
    if (metric.kind === 'unavailable' && before !== 'PrometheusUnavailable')
      await event(scaler, 'Warning', EventReason.MetricUnavailable, decision.message);
    if (metric.kind === 'no-series' && before !== 'NoSeries')
      await event(scaler, 'Warning', EventReason.NoSeries, decision.message);
    if (
      (metric.kind === 'value' || metric.kind === 'no-traffic') &&
      (before === 'PrometheusUnavailable' || before === 'NoSeries')
    ) {
      await event(
        scaler,
        'Normal',
        EventReason.MetricAvailable,
        'Prometheus records the target again',
      );
    }
    if (
      mode === 'dry-run' &&
      decision.desired !== current &&
      previous?.desiredReplicas !== decision.desired
    ) {
      await event(scaler, 'Normal', EventReason.WouldScale, `${target}: ${message}`);
    }

    const time = now();
    const lastScaleTime = scaling ? rfc3339(time) : previous?.lastScaleTime;
    const status: Unstamped = {
      ...(readyTime && !scaling
        ? { readyTime }
        : previous?.readyTime
          ? { readyTime: previous.readyTime }
          : {}),
      observedGeneration: generation,
      currentReplicas: current,
      desiredReplicas: decision.desired,
      ...(lastScaleTime ? { lastScaleTime } : {}),
      ...(scaling
        ? { scaledFromReplicas: decision.scaledFrom }
        : previous?.scaledFromReplicas !== undefined
          ? { scaledFromReplicas: previous.scaledFromReplicas }
          : {}),
      ...(metric.kind === 'value'
        ? { lastLatencyMs: Math.round(metric.ms) }
        : previous?.lastLatencyMs !== undefined
          ? { lastLatencyMs: previous.lastLatencyMs }
          : {}),
      recommendations: decision.recommendations,
      // Two decimals: a capacity learned again each busy tick changes status only when it moves.
      ...(capacity !== undefined ? { capacity: Math.round(capacity * 100) / 100 } : {}),
      lastDecision: { reason, message },
      conditions: mergeConditions(
        previous?.conditions,
        conditionsFor({ ...decision, inCooldown: decision.inCooldown || scaling }, metric, mode),
        generation,
        time,
      ),
    };
    // The intent first: once it is in status, no crash can make this scale happen twice.
    await writeStatus(scaler, status);
    if (scaling) {
      await scaleTo(scale, decision.desired, scaler);
      await event(scaler, 'Normal', eventReason(decision.reason), `${target}: ${decision.message}`);
      log.info({ scaler: key, target, from: current, to: decision.desired, reason }, 'scaled');
    }
    reconciles.inc({ result: reason });
  }

  return { reconcile };
}
