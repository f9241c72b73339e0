/**
 * The LatencyScaler resource as TypeScript types, and the status the operator writes, computed
 * by pure functions from the decision (so "write status only when it changed" is a comparison).
 */
import type { Decision, Metric, Recommendation, ScalerSpec } from './decide.js';

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
  /** Written BEFORE the scale, with desiredReplicas: the intent survives a crash (controller.ts). */
  lastScaleTime?: string;
  /** When the replicas of the last scale were all ready: the cooldown counts from then. */
  readyTime?: string;
  lastLatencyMs?: number;
  /** The scale-down window's recommendations (decide.ts): a restart keeps its memory. */
  recommendations?: Recommendation[];
  lastDecision?: { reason: string; message: string; time: string };
  conditions?: Condition[];
}

export interface LatencyScaler {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; uid?: string; generation?: number; resourceVersion?: string };
  spec: ScalerSpec & { targetRef: { name: string }; paused?: boolean; dryRun?: boolean };
  status?: ScalerStatus;
}

export type Wanted = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/** How the operator acts on a LatencyScaler: normally, paused (holds), or dry run (never writes the scale). */
export type Mode = 'active' | 'paused' | 'dry-run';

/** The conditions a decision implies, each True or False with a reason a person can act on. */
export function conditionsFor(decision: Decision, metric: Metric, mode: Mode = 'active'): Wanted[] {
  const metricCondition: Wanted =
    metric.kind === 'value' ? { type: 'MetricAvailable', status: 'True', reason: 'Sampled', message: `p95 ${Math.round(metric.ms)} ms at ${metric.rps.toFixed(1)} requests/s` }
    : metric.kind === 'no-traffic' ? { type: 'MetricAvailable', status: 'True', reason: 'NoTraffic', message: 'the request rate is 0: nothing to serve' }
    : metric.kind === 'no-series' ? { type: 'MetricAvailable', status: 'False', reason: 'NoSeries', message: metric.detail }
    : { type: 'MetricAvailable', status: 'False', reason: 'PrometheusUnavailable', message: decision.message };
  const active: Wanted =
    mode === 'paused' ? { type: 'ScalingActive', status: 'False', reason: 'Paused', message: 'spec.paused is true: the replicas are left as they are' }
    : decision.reason === 'ScalingDisabled' ? { type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled', message: decision.message }
    : mode === 'dry-run' ? { type: 'ScalingActive', status: 'True', reason: 'DryRun', message: 'spec.dryRun is true: decisions are recorded, the scale is never written' }
    : { type: 'ScalingActive', status: 'True', reason: 'TargetFound', message: 'the Deployment\'s scale is read and written' };
  return [
    metricCondition,
    active,
    decision.limited
      ? { type: 'ScalingLimited', status: 'True', reason: decision.reason, message: decision.message }
      : { type: 'ScalingLimited', status: 'False', reason: 'WithinRange', message: 'replicas are within minReplicas and maxReplicas' },
    decision.inCooldown
      ? { type: 'InCooldown', status: 'True', reason: 'RecentlyScaled', message: 'the last scale was less than cooldownSeconds ago' }
      : { type: 'InCooldown', status: 'False', reason: 'CooledDown', message: 'free to scale' },
  ];
}

/**
 * Merges wanted conditions into the previous ones: lastTransitionTime changes only when a
 * condition's status does (Kubernetes API conventions), so an unchanged state writes nothing.
 */
export function mergeConditions(previous: Condition[] | undefined, wanted: Array<Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>>, generation: number | undefined, now: Date): Condition[] {
  return wanted.map((condition) => {
    const before = previous?.find((old) => old.type === condition.type);
    const lastTransitionTime = before && before.status === condition.status ? before.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z');
    return { ...condition, lastTransitionTime, observedGeneration: generation };
  });
}

/** The condition of TYPE, if any. */
export function condition(status: ScalerStatus | undefined, type: Condition['type']): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Deep equality of two statuses, whatever their key order (the API server sorts keys). */
export function sameStatus(a: ScalerStatus | undefined, b: ScalerStatus): boolean {
  return canonical(a ?? {}) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([x], [y]) => (x < y ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
