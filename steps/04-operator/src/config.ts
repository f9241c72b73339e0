import { readFileSync } from 'node:fs';

export interface Config {
  port: number;
  redisUrl: string;
  version: string;
  /** How long a shutdown waits for in-flight requests before it cuts them off. */
  drainTimeoutMs: number;
  /** /slow: how many requests one replica works on at once, and how long each takes. */
  slowSlots: number;
  slowWorkMs: number;
  /** Seed for the lucky draw; unset means truly random. Tests set it to be deterministic. */
  luckySeed: number | undefined;
}

/** Reads the settings once, at start-up, and fails fast naming the setting that is wrong. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: integer(env, 'PORT', 8080, 1, 65535),
    redisUrl: redisUrl(env.REDIS_URL ?? 'redis://localhost:6379'),
    version: env.APP_VERSION ?? packageVersion(),
    // Below `docker stop`'s 10 s and Kubernetes' grace period, so the app exits on its own terms.
    drainTimeoutMs: integer(env, 'DRAIN_TIMEOUT_MS', 8000, 0, 600_000),
    slowSlots: integer(env, 'SLOW_SLOTS', 2, 1, 1000),
    slowWorkMs: integer(env, 'SLOW_WORK_MS', 40, 0, 60_000),
    luckySeed:
      env.LUCKY_SEED === undefined ? undefined : integer(env, 'LUCKY_SEED', 0, 0, 2 ** 32 - 1),
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

function redisUrl(raw: string): string {
  if (!/^rediss?:\/\/[^/]+/.test(raw)) {
    throw new Error(
      `REDIS_URL=${raw} is not valid: expected redis://host:port, e.g. redis://redis:6379`,
    );
  }
  return raw;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
