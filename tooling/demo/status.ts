/**
 * Reading the operator's view during the demo: the Deployment's replicas and the LatencyScaler's
 * status, with the operator's last decision. Pure functions over the JSON that kubectl prints,
 * so the rewritten operator's status (lastDecision, desiredReplicas) and today's (conditions
 * only) both read.
 */

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}

export interface ScalerStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  lastLatencyMs?: number;
  lastDecision?: { reason?: string; message?: string };
  conditions?: Condition[];
}

export interface ScalerSpec {
  thresholdMs?: number;
  minReplicas?: number;
  maxReplicas?: number;
  cooldownSeconds?: number;
}

export interface Observed {
  replicas: number;
  ready: number;
  desired: number | null;
  decision: string | null;
  message: string | null;
  spec: ScalerSpec;
}

interface Item {
  kind: string;
  spec?: { replicas?: number } & ScalerSpec;
  status?: { readyReplicas?: number } & ScalerStatus;
}

/**
 * The operator's last decision: `status.lastDecision` (the rewritten operator), else what the
 * conditions say (today's operator writes no decision field): no metric, limited, cooling down.
 */
export function decisionOf(
  status: ScalerStatus | undefined,
): { reason: string; message: string | null } | null {
  if (!status) return null;
  if (status.lastDecision?.reason)
    return { reason: status.lastDecision.reason, message: status.lastDecision.message ?? null };
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  const metric = condition('MetricAvailable');
  if (metric?.status === 'False') return { reason: metric.reason, message: metric.message ?? null };
  const limited = condition('ScalingLimited');
  if (limited?.status === 'True')
    return { reason: limited.reason, message: limited.message ?? null };
  const cooldown = condition('InCooldown');
  if (cooldown?.status === 'True')
    return { reason: 'InCooldown', message: cooldown.message ?? null };
  if (metric) return { reason: 'WithinTarget', message: metric.message ?? null };
  return null;
}

/** `kubectl get deploy/hits latencyscaler/hits -o json` (a List; the scaler may be missing). */
export function observe(list: { items: Item[] }): Observed {
  const deployment = list.items.find((item) => item.kind === 'Deployment');
  const scaler = list.items.find((item) => item.kind === 'LatencyScaler');
  const decision = decisionOf(scaler?.status);
  return {
    replicas: deployment?.spec?.replicas ?? 0,
    ready: deployment?.status?.readyReplicas ?? 0,
    desired: scaler?.status?.desiredReplicas ?? null,
    decision: decision?.reason ?? null,
    message: decision?.message ?? null,
    spec: scaler?.spec ?? {},
  };
}

/** The live line: elapsed, replicas, p95, the decision; WIDTH cuts it to one terminal line. */
export function timelineLine(
  t: number,
  seen: Observed,
  p95: number | null,
  thresholdMs: number,
  phase: string,
  width = 120,
): string {
  const sign = t < 0 ? '-' : ' ';
  const clock = `${sign}${String(Math.floor(Math.abs(t) / 60)).padStart(1)}:${String(Math.floor(Math.abs(t) % 60)).padStart(2, '0')}`;
  const p95Text =
    p95 === null
      ? '  no data'
      : `${p95.toFixed(0).padStart(5)} ms${p95 > thresholdMs ? ' !' : '  '}`;
  const desired =
    seen.desired !== null && seen.desired !== seen.replicas ? ` (desired ${seen.desired})` : '';
  const decision = seen.decision
    ? `${seen.decision}${seen.message ? `: ${seen.message}` : ''}`
    : '-';
  const line = `${clock}  ${phase.padEnd(6)}  replicas ${seen.ready}/${seen.replicas}${desired}  p95 ${p95Text}  ${decision}`;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}
