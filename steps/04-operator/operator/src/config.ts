export interface Config {
  /** The namespace whose LatencyScalers this operator serves (its own: a Role, not a ClusterRole). */
  namespace: string;
  /** /healthz and /metrics. */
  port: number;
  /** Every LatencyScaler is reconciled this often: latency changes make no Kubernetes events. */
  resyncSeconds: number;
  /** The watch is re-opened this often, so a stream that died silently is noticed. */
  rewatchSeconds: number;
}

/** Reads the settings once, at start-up, and fails fast naming the setting that is wrong. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const namespace = env.WATCH_NAMESPACE ?? '';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) {
    throw new Error(`WATCH_NAMESPACE=${namespace} is not valid: expected a namespace name, e.g. hits`);
  }
  return {
    namespace,
    port: integer(env, 'PORT', 8081, 1, 65535),
    resyncSeconds: integer(env, 'RESYNC_SECONDS', 5, 1, 3600),
    rewatchSeconds: integer(env, 'REWATCH_SECONDS', 300, 10, 86_400),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${raw} is not valid: expected a whole number from ${min} to ${max}`);
  }
  return value;
}
