/**
 * The LatencyScaler resource as TypeScript types, and the status the operator writes, computed
 * by pure functions from the decision (so "write status only when it changed" is a comparison).
 */
import {
  type Decision,
  type Metric,
  type Mode,
  type Recommendation,
  rfc3339,
  type ScalerSpec,
} from './decide.js';

export type { Mode };

export const GROUP = 'selfops.kube-selfops.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'latencyscalers';
export const KIND = 'LatencyScaler';

export interface Condition {
  type: 'MetricAvailable' | 'ScalingActive' | 'ScalingLimited' | 'InCooldown';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ScalerStatus {
  observedGeneration?: number;
  currentReplicas?: number;
  desiredReplicas?: number;
  /** Written BEFORE the scale, with desiredReplicas: the intent survives a crash (controller.ts) */
  lastScaleTime?: string;
  /**
   * What that scale counted from (decide.ts LastScale.from): in its cooldown, the p95 window
   * still shows them.
   */
  scaledFromReplicas?: number;
  /** When the replicas of the last scale were all ready: the cooldown counts from then. */
  readyTime?: string;
  lastLatencyMs?: number;
  /** The scale-down window's recommendations (decide.ts): a restart keeps its memory. */
  recommendations?: Recommendation[];
  /** What one replica holds at the threshold, learned from the last busy window (capacity.ts). */
  capacity?: number;
  /** time: when the status last changed (not when the last reconcile ran: no heartbeat). */
  lastDecision?: { reason: string; message: string; time: string };
  conditions?: Condition[];
}

/** A status as a reconcile computes it: its lastDecision without a time (stamped() sets it). */
export type Unstamped = Omit<ScalerStatus, 'lastDecision'> & {
  lastDecision: { reason: string; message: string };
};

export interface LatencyScaler {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
  };
  spec: ScalerSpec & { targetRef: { name: string }; paused?: boolean; dryRun?: boolean };
  status?: ScalerStatus;
}

export type Wanted = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/** The conditions a decision implies, each True or False with a reason a person can act on. */
export function conditionsFor(decision: Decision, metric: Metric, mode: Mode = 'active'): Wanted[] {
  const metricCondition: Wanted =
    metric.kind === 'value'
      ? {
          type: 'MetricAvailable',
          status: 'True',
          reason: 'Sampled',
          message: `p95 ${Math.round(metric.ms)} ms at ${metric.rps.toFixed(1)} requests/s`,
        }
      : metric.kind === 'no-traffic'
        ? {
            type: 'MetricAvailable',
            status: 'True',
            reason: 'NoTraffic',
            message: 'the request rate is 0: nothing to serve',
          }
        : metric.kind === 'no-series'
          ? { type: 'MetricAvailable', status: 'False', reason: 'NoSeries', message: metric.detail }
          : {
              type: 'MetricAvailable',
              status: 'False',
              reason: 'PrometheusUnavailable',
              message: decision.message,
            };
  const active: Wanted =
    mode === 'paused'
      ? {
          type: 'ScalingActive',
          status: 'False',
          reason: 'Paused',
          message: 'spec.paused is true: the replicas are left as they are',
        }
      : decision.reason === 'ScalingDisabled'
        ? {
            type: 'ScalingActive',
            status: 'False',
            reason: 'ScalingDisabled',
            message: decision.message,
          }
        : mode === 'dry-run'
          ? {
              type: 'ScalingActive',
              status: 'True',
              reason: 'DryRun',
              message: 'spec.dryRun is true: decisions are recorded, the scale is never written',
            }
          : {
              type: 'ScalingActive',
              status: 'True',
              reason: 'TargetFound',
              message: "the Deployment's scale is read and written",
            };
  return [
    metricCondition,
    active,
    decision.limited
      ? {
          type: 'ScalingLimited',
          status: 'True',
          reason: decision.reason,
          message: decision.message,
        }
      : {
          type: 'ScalingLimited',
          status: 'False',
          reason: 'WithinRange',
          message: 'replicas are within minReplicas and maxReplicas',
        },
    decision.inCooldown
      ? {
          type: 'InCooldown',
          status: 'True',
          reason: 'RecentlyScaled',
          message: 'the last scale was less than cooldownSeconds ago',
        }
      : { type: 'InCooldown', status: 'False', reason: 'CooledDown', message: 'free to scale' },
  ];
}

/**
 * Merges wanted conditions into the previous ones: lastTransitionTime changes only when a
 * condition's status does (Kubernetes API conventions), so an unchanged state writes nothing.
 */
export function mergeConditions(
  previous: Condition[] | undefined,
  wanted: Array<Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>>,
  generation: number | undefined,
  now: Date,
): Condition[] {
  return wanted.map((condition) => {
    const before = previous?.find((old) => old.type === condition.type);
    const lastTransitionTime =
      before && before.status === condition.status
        ? before.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, 'Z');
    return { ...condition, lastTransitionTime, observedGeneration: generation };
  });
}

/** The condition of TYPE, if any. */
export function condition(
  status: ScalerStatus | undefined,
  type: Condition['type'],
): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * The status to write, or undefined when NEXT changes nothing in PREVIOUS. No heartbeat: a
 * reconcile that decides the same again writes nothing (1,000 resources every 5 s would otherwise
 * be 200 PATCHes a second). A change is stamped with NOW, so every write carries a newer time.
 */
export function stamped(
  previous: ScalerStatus | undefined,
  next: Unstamped,
  now: Date,
): ScalerStatus | undefined {
  const time = previous?.lastDecision?.time;
  if (
    time !== undefined &&
    sameStatus(previous, {
      ...next,
      lastDecision: { reason: next.lastDecision.reason, message: next.lastDecision.message, time },
    })
  )
    return undefined;
  return { ...next, lastDecision: { ...next.lastDecision, time: rfc3339(now) } };
}

/**
 * What this replica last wrote to a LatencyScaler's status, and the resourceVersion the PATCH
 * returned.
 */
export interface Written {
  uid?: string;
  resourceVersion?: string;
  status: ScalerStatus;
}

/**
 * Which status a reconcile starts from: the informer's copy or OURS, the last one this replica
 * wrote. The cache lags our own write by a moment, and a stale lastScaleTime must never allow a
 * second scale. The cache wins once it shows our write (the same resourceVersion) or a later
 * write by another leader (a strictly newer lastDecision.time: every write stamps its time);
 * otherwise ours. A spec edit after our write has another resourceVersion and our time: ours,
 * whose status is the same.
 */
export function cacheIsNewer(cached: LatencyScaler, ours: Written | undefined): boolean {
  if (!ours || ours.uid !== cached.metadata.uid) return true; // none, or a new object of that name
  if (
    ours.resourceVersion !== undefined &&
    cached.metadata.resourceVersion === ours.resourceVersion
  )
    return true;
  return (cached.status?.lastDecision?.time ?? '') > (ours.status.lastDecision?.time ?? '');
}

/** Deep equality of two statuses, whatever their key order (the API server sorts keys). */
export function sameStatus(a: ScalerStatus | undefined, b: ScalerStatus): boolean {
  return canonical(a ?? {}) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
