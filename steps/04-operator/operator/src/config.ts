export interface Config {
  /** The namespace whose LatencyScalers this operator serves (its own: a Role, no ClusterRole). */
  namespace: string;
  /** /healthz and /metrics. */
  port: number;
  /** Every LatencyScaler is reconciled this often: latency changes make no Kubernetes events. */
  resyncSeconds: number;
  /** The watch is re-opened this often, so a stream that died silently is noticed. */
  rewatchSeconds: number;
  /** The Prometheus to ask: the operator's own setting, never a field of the resource. */
  prometheusUrl: string;
  /** This replica's name (the pod's), its identity in the Lease. */
  podName: string;
  /** The operator's own Deployment: a LatencyScaler that targets it is refused. */
  selfDeployment: string;
  /** The Lease: a leader that stops renewing for this long is replaced. */
  leaseSeconds: number;
  /** Every Kubernetes call gives up after this long. */
  apiTimeoutMs: number;
  /** A reconcile running longer than this fails /healthz. */
  reconcileBoundSeconds: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Reads the settings once, at start-up, and fails fast naming the setting that is wrong. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const namespace = env.WATCH_NAMESPACE ?? '';
  if (!DNS_LABEL.test(namespace)) {
    throw new Error(
      `WATCH_NAMESPACE=${namespace} is not valid: expected a namespace name, e.g. hits`,
    );
  }
  const prometheusUrl = env.PROMETHEUS_URL || 'http://prometheus.monitoring.svc:9090';
  if (!/^https?:\/\/[^/?#\s]+\/?$/.test(prometheusUrl)) {
    throw new Error(
      `PROMETHEUS_URL=${prometheusUrl} is not valid: ` +
        'expected a base URL like http://prometheus.monitoring.svc:9090',
    );
  }
  const podName = env.POD_NAME || `latency-operator-${process.pid}`;
  const selfDeployment = env.SELF_DEPLOYMENT || 'latency-operator';
  if (!DNS_LABEL.test(selfDeployment))
    throw new Error(`SELF_DEPLOYMENT=${selfDeployment} is not valid: expected a Deployment name`);
  const resyncSeconds = integer(env, 'RESYNC_SECONDS', 2, 1, 3600);
  return {
    namespace,
    port: integer(env, 'PORT', 8081, 1, 65535),
    resyncSeconds,
    rewatchSeconds: integer(env, 'REWATCH_SECONDS', 300, 10, 86_400),
    prometheusUrl,
    podName,
    selfDeployment,
    leaseSeconds: integer(env, 'LEASE_SECONDS', 15, 3, 300),
    apiTimeoutMs: integer(env, 'API_TIMEOUT_MS', 5000, 100, 60_000),
    reconcileBoundSeconds: integer(env, 'RECONCILE_BOUND_SECONDS', 60, 5, 3600),
  };
}

function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${raw} is not valid: expected a whole number from ${min} to ${max}`);
  }
  return value;
}
