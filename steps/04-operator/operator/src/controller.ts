/**
 * The thin shell around decide(): one reconcile of one LatencyScaler, sample-controller style.
 * Read the object (from the informer's cache, never mutated), read the Deployment's scale, ask
 * Prometheus, decide, write the scale only when it changes, then the status only when it
 * changes, and say what happened in an Event.
 */
import { ApiException, type AppsV1Api, type CoreV1Api, type CustomObjectsApi, type ObjectCache, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import { decide, type LatencySample } from './decide.js';
import type { Logger } from './log.js';
import { conditionsFor, condition, GROUP, KIND, type LatencyScaler, mergeConditions, PLURAL, sameStatus, type ScalerStatus, VERSION } from './status.js';

/** Event reasons, named once (kubectl get events --field-selector reason=ScaledUp). */
export const EventReason = {
  ScaledUp: 'ScaledUp',
  ScaledDown: 'ScaledDown',
  ScaledToLimit: 'ScaledToLimit',
  MetricUnavailable: 'MetricUnavailable',
  MetricAvailable: 'MetricAvailable',
  TargetNotFound: 'TargetNotFound',
  ScaleConflict: 'ScaleConflict',
} as const;

export interface Deps {
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  cache: ObjectCache<LatencyScaler>;
  log: Logger;
  registry: Registry;
  queryLatency: (prometheus: string, namespace: string, app: string) => Promise<LatencySample>;
  now?: () => Date;
}

export function createController(deps: Deps) {
  const { apps, core, custom, cache, log } = deps;
  const now = deps.now ?? (() => new Date());
  // The time of our last scale per key, in memory as well as in status: if a status write fails
  // after a scale, the cooldown still holds.
  const scaledAt = new Map<string, Date>();
  const reconciles = new Counter({ name: 'latency_operator_reconciles_total', help: 'Reconciles by result', labelNames: ['result'], registers: [deps.registry] });
  const scales = new Counter({ name: 'latency_operator_scales_total', help: 'Scale writes by direction', labelNames: ['direction'], registers: [deps.registry] });
  const latencyGauge = new Gauge({ name: 'latency_operator_observed_p95_ms', help: 'Last p95 read from Prometheus', labelNames: ['namespace', 'name'], registers: [deps.registry] });

  async function event(scaler: LatencyScaler, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const time = now();
    await core.createNamespacedEvent({
      namespace: scaler.metadata.namespace,
      body: {
        metadata: { name: `${scaler.metadata.name}.${time.getTime().toString(16)}${Math.random().toString(16).slice(2, 6)}`, namespace: scaler.metadata.namespace },
        involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: scaler.metadata.name, namespace: scaler.metadata.namespace, uid: scaler.metadata.uid },
        reason,
        message,
        type,
        source: { component: 'latency-operator' },
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      },
    }).catch((err: unknown) => log.warn({ err: errorText(err), reason }, 'could not record an event'));
  }

  async function writeStatus(scaler: LatencyScaler, status: ScalerStatus): Promise<void> {
    if (sameStatus(scaler.status, status)) return;
    await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: scaler.metadata.namespace, plural: PLURAL, name: scaler.metadata.name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Reconciles the LatencyScaler KEY (namespace/name). Throws on a transient error: the queue retries. */
  async function reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const scaler = cache.get(name, namespace);
    if (!scaler) {
      scaledAt.delete(key); // deleted: nothing to do, the Deployment keeps its replicas
      return;
    }
    const { spec } = scaler;
    const generation = scaler.metadata.generation;
    const previous = scaler.status;
    const target = spec.targetRef.name;

    let scale;
    try {
      scale = await apps.readNamespacedDeploymentScale({ name: target, namespace });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw err;
      const message = `Deployment ${namespace}/${target} not found`;
      if (condition(previous, 'ScalingActive')?.reason !== 'TargetNotFound') await event(scaler, 'Warning', EventReason.TargetNotFound, message);
      await writeStatus(scaler, {
        ...previous,
        observedGeneration: generation,
        conditions: mergeConditions(previous?.conditions, [
          ...(previous?.conditions ?? []).filter((c) => c.type !== 'ScalingActive'),
          { type: 'ScalingActive', status: 'False', reason: 'TargetNotFound', message },
        ], generation, now()),
      });
      reconciles.inc({ result: 'target-not-found' });
      return;
    }

    const current = scale.spec?.replicas ?? 0;
    const latency = await deps.queryLatency(spec.prometheus, namespace, target);
    const remembered = scaledAt.get(key);
    const persisted = previous?.lastScaleTime ? new Date(previous.lastScaleTime) : undefined;
    const lastScaleTime = [remembered, persisted].filter((d): d is Date => d !== undefined).sort((a, b) => b.getTime() - a.getTime())[0];
    const decision = decide(spec, current, latency, lastScaleTime, now());
    if (latency.kind === 'value') latencyGauge.set({ namespace, name }, latency.ms);
    log.info({ scaler: key, target, current, latency, desired: decision.desired, reason: decision.reason }, decision.message);

    let scaledTime = lastScaleTime;
    let inCooldown = decision.inCooldown;
    if (decision.desired !== current) {
      try {
        // The scale we read, with its resourceVersion: if anyone changed it since, this is a 409
        // and nothing is overwritten; the next reconcile reads it again.
        await apps.replaceNamespacedDeploymentScale({
          name: target,
          namespace,
          body: { ...scale, spec: { ...scale.spec, replicas: decision.desired } },
        });
      } catch (err) {
        if (err instanceof ApiException && err.code === 409) {
          await event(scaler, 'Warning', EventReason.ScaleConflict, `the scale of ${target} changed while deciding; will decide again`);
        }
        throw err;
      }
      scaledTime = now();
      inCooldown = true;
      scaledAt.set(key, scaledTime);
      const up = decision.desired > current;
      scales.inc({ direction: up ? 'up' : 'down' });
      const reason = decision.reason === 'ScaledUp' ? EventReason.ScaledUp : decision.reason === 'ScaledDown' ? EventReason.ScaledDown : EventReason.ScaledToLimit;
      await event(scaler, 'Normal', reason, `${target}: ${decision.message}`);
      log.info({ scaler: key, target, from: current, to: decision.desired, reason }, 'scaled');
    }

    // Say so once when Prometheus goes away or comes back, not every 5 s.
    const wasUnavailable = condition(previous, 'MetricAvailable')?.reason === 'PrometheusUnavailable';
    if (latency.kind === 'unavailable' && !wasUnavailable) {
      await event(scaler, 'Warning', EventReason.MetricUnavailable, decision.message);
    } else if (latency.kind !== 'unavailable' && wasUnavailable) {
      await event(scaler, 'Normal', EventReason.MetricAvailable, 'Prometheus answers again');
    }

    const status: ScalerStatus = {
      observedGeneration: generation,
      currentReplicas: current,
      desiredReplicas: decision.desired,
      ...(scaledTime ? { lastScaleTime: scaledTime.toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
      ...(latency.kind === 'value' ? { lastLatencyMs: Math.round(latency.ms) } : previous?.lastLatencyMs !== undefined ? { lastLatencyMs: previous.lastLatencyMs } : {}),
      conditions: mergeConditions(previous?.conditions, conditionsFor({ ...decision, inCooldown }, latency), generation, now()),
    };
    await writeStatus(scaler, status);
    reconciles.inc({ result: decision.reason });
  }

  return { reconcile };
}

/** An error in one line: the API server's message when there is one. */
export function errorText(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    const message = /"message":"((?:[^"\\]|\\.)*)"/.exec(body)?.[1];
    return `HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
