/**
 * Helpers for the metrics beat: a real Prometheus with the kit's own scrape config and rules,
 * nginx as the load balancer, and k6 as the load. Load targets 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GenericContainer,
  Wait,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { KIT_ROOT, imageName } from './docker.js';
import { query, type Sample } from '../lib/prometheus.js';

const execFileAsync = promisify(execFile);
export const PROMETHEUS_PORT = 9090;

/** Prometheus scraping every container aliased `app` on the network, with k8s/prometheus/rules.yml. */
export async function startPrometheus(network: StartedNetwork): Promise<StartedTestContainer> {
  return new GenericContainer(await imageName('prometheus'))
    .withNetwork(network)
    .withCopyFilesToContainer([
      { source: `${KIT_ROOT}/k8s/prometheus/docker.yml`, target: '/etc/prometheus/prometheus.yml' },
      { source: `${KIT_ROOT}/k8s/prometheus/rules.yml`, target: '/etc/prometheus/rules.yml' },
    ])
    .withExposedPorts(PROMETHEUS_PORT)
    .withWaitStrategy(Wait.forHttp('/-/ready', PROMETHEUS_PORT))
    .start();
}

export type { Sample };

/**
 * An instant query to a Prometheus container, or to a base URL on 127.0.0.1 (a cluster's NodePort);
 * an empty array is Prometheus saying "no data" (tooling/lib/prometheus.ts).
 */
export async function promQuery(
  prometheus: StartedTestContainer | string,
  expr: string,
): Promise<Sample[]> {
  const base =
    typeof prometheus === 'string'
      ? prometheus
      : `http://127.0.0.1:${prometheus.getMappedPort(PROMETHEUS_PORT)}`;
  return query(base, expr);
}

/** nginx in front of every container aliased `app` (k8s/docker/lb.conf); port 80 published. */
export async function startLoadBalancer(network: StartedNetwork): Promise<StartedTestContainer> {
  return new GenericContainer(await imageName('nginx'))
    .withNetwork(network)
    .withCopyFilesToContainer([
      { source: `${KIT_ROOT}/k8s/docker/lb.conf`, target: '/etc/nginx/conf.d/default.conf' },
    ])
    .withExposedPorts(80)
    .withWaitStrategy(Wait.forListeningPorts())
    .start();
}

export interface K6Result {
  /** k6's own figures for http_req_duration, in milliseconds. */
  p50: number;
  p95: number;
  requests: number;
  failedRate: number;
  thresholdsPassed: boolean;
}

/** Runs one of the load/ scripts with the kit's k6 (load/k6); returns its summary. */
export async function runK6(script: string, env: Record<string, string>): Promise<K6Result> {
  const dir = await mkdtemp(join(tmpdir(), 'kit-k6-'));
  const summary = join(dir, 'summary.json');
  try {
    const { stdout, stderr } = await execFileAsync(
      `${KIT_ROOT}/load/k6`,
      ['run', '--quiet', `${KIT_ROOT}/load/${script}`],
      {
        env: { ...process.env, ...env, SUMMARY: summary },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((err: { code?: number; stdout?: string; stderr?: string }) => {
      // Exit code 99: thresholds crossed. The summary is still written, and that is the result.
      if (err.code === 99) return { stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
      throw new Error(`k6 failed (exit ${err.code}): ${err.stderr ?? ''}`);
    });
    // stderr holds the script's own warnings, e.g. why a request failed.
    process.stdout.write(stderr + stdout);
    return parseK6Summary(JSON.parse(await readFile(summary, 'utf8')) as K6Summary);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface K6Summary {
  metrics: Record<
    string,
    { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }
  >;
}

function parseK6Summary({ metrics }: K6Summary): K6Result {
  const duration = metrics.http_req_duration?.values ?? {};
  const thresholds = Object.values(metrics).flatMap((metric) =>
    Object.values(metric.thresholds ?? {}),
  );
  return {
    p50: duration.med ?? NaN,
    p95: duration['p(95)'] ?? NaN,
    requests: metrics.http_reqs?.values.count ?? 0,
    failedRate: metrics.http_req_failed?.values.rate ?? NaN,
    thresholdsPassed: thresholds.every((threshold) => threshold.ok),
  };
}
