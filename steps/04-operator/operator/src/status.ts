/**
 * The LatencyScaler resource as TypeScript types, and the status the operator writes, computed
 * by pure functions from the decision (so "write status only when it changed" is a comparison).
 */
import type { Decision, LatencySample, ScalerSpec } from './decide.js';

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
  lastScaleTime?: string;
  lastLatencyMs?: number;
  conditions?: Condition[];
}

export interface LatencyScaler {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; uid?: string; generation?: number; resourceVersion?: string };
  spec: ScalerSpec & { targetRef: { name: string }; prometheus: string };
  status?: ScalerStatus;
}

type Wanted = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/** The conditions a decision implies, each True or False with a reason a person can act on. */
export function conditionsFor(decision: Decision, latency: LatencySample): Wanted[] {
  const metric: Wanted =
    latency.kind === 'value'
      ? { type: 'MetricAvailable', status: 'True', reason: 'Sampled', message: `p95 ${Math.round(latency.ms)} ms` }
      : latency.kind === 'no-data'
        ? { type: 'MetricAvailable', status: 'False', reason: 'NoData', message: decision.message }
        : { type: 'MetricAvailable', status: 'False', reason: 'PrometheusUnavailable', message: decision.message };
  return [
    metric,
    decision.reason === 'ScalingDisabled'
      ? { type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled', message: decision.message }
      : { type: 'ScalingActive', status: 'True', reason: 'TargetFound', message: 'the Deployment\'s scale is read and written' },
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
export function mergeConditions(previous: Condition[] | undefined, wanted: Wanted[], generation: number | undefined, now: Date): Condition[] {
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
