/**
 * Shared test helpers: the real Docker engine, real Redis, the step images built exactly as an
 * attendee builds them (`docker build .` in the step folder). Traffic goes only to ports
 * published on 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  GenericContainer,
  Network,
  Wait,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { eventually } from '../lib/eventually.js';

export type { StartedNetwork, StartedTestContainer };
export const KIT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const APP_PORT = 8080;

/** The name of a base image the kit provides (tooling/install/images/<folder>/IMAGE: one source of truth). */
export async function imageName(folder: string): Promise<string> {
  return (await readFile(`${KIT_ROOT}/tooling/install/images/${folder}/IMAGE`, 'utf8')).trim();
}

const execFileAsync = promisify(execFile);

/** Runs the docker CLI, as a person would type it, and returns its stdout. */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

const builds = new Map<string, Promise<string>>();

/**
 * Builds steps/<step> with `docker build` (layer cache makes a rebuild take a second) and returns its
 * tag. The tag names this checkout: two clones testing on one Docker engine must not run each
 * other's image (one's build retagging `:test` between the other's build and its `docker run`).
 */
export function buildStep(step: string): Promise<string> {
  let build = builds.get(step);
  if (!build) {
    const tag = `kube-selfops/${step}:test-${createHash('sha256').update(KIT_ROOT).digest('hex').slice(0, 8)}`;
    build = execFileAsync('docker', ['build', '-q', '-t', tag, `${KIT_ROOT}/steps/${step}`], {
      maxBuffer: 64 * 1024 * 1024,
    }).then(() => tag);
    builds.set(step, build);
  }
  return build;
}

export async function startNetwork(): Promise<StartedNetwork> {
  return new Network().start();
}

/** A named volume that outlives containers; removed by tooling/cleanup.sh through its label. */
export async function createVolume(): Promise<string> {
  return (await docker('volume', 'create', '--label', 'org.testcontainers=true')).trim();
}

/** Redis with append-only persistence, reachable as redis:6379 on the network. */
export async function startRedis(
  network: StartedNetwork,
  volume?: string,
): Promise<StartedTestContainer> {
  let redis = new GenericContainer(await imageName('redis'))
    .withNetwork(network)
    .withNetworkAliases('redis')
    .withCommand(['redis-server', '--appendonly', 'yes'])
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'));
  if (volume) redis = redis.withBindMounts([{ source: volume, target: '/data' }]);
  const started = await redis.start();
  redisOn.set(network.getName(), started);
  return started;
}

/**
 * Starts a step image with REDIS_URL pointing at the network's Redis; port 8080 published. Every
 * replica is also reachable as `app` on the network (how Prometheus and nginx find them all).
 */
export async function startApp(
  image: string,
  network: StartedNetwork,
  env: Record<string, string> = {},
): Promise<StartedTestContainer> {
  const app = await new GenericContainer(image)
    .withNetwork(network)
    .withNetworkAliases('app')
    .withEnvironment({ REDIS_URL: 'redis://redis:6379', ...env })
    .withExposedPorts(APP_PORT)
    .withWaitStrategy(Wait.forListeningPorts())
    .start();
  const redis = redisOn.get(network.getName());
  if (redis) await waitForRedisClient(redis, app.getIpAddress(network.getName()));
  return app;
}

/** The Redis started on each network, so startApp can wait for the app to connect to it. */
const redisOn = new Map<string, StartedTestContainer>();

/**
 * The app listens before its Redis connection is up (it must start even when Redis is away), so a
 * test's first hit could meet "unavailable". Wait until Redis has listed the app as a client in
 * two polls 50 ms apart: the connection is up and its handshake (a few ms) is over.
 */
async function waitForRedisClient(
  redis: StartedTestContainer,
  appIp: string,
  timeoutMs = 15_000,
): Promise<void> {
  let seen = 0;
  const listed = async () => {
    const { output } = await redis.exec(['redis-cli', 'client', 'list']);
    return output.split('\n').some((line) => line.includes(`addr=${appIp}:`));
  };
  await eventually(
    `the app at ${appIp} to connect to Redis`,
    async () => ((await listed()) && ++seen === 2 ? true : undefined),
    timeoutMs,
    50,
  );
}

/** The app's URL on the host's loopback. */
export function urlOf(app: StartedTestContainer, path = '/'): string {
  return `http://127.0.0.1:${app.getMappedPort(APP_PORT)}${path}`;
}

export interface HitResult {
  /** Requests answered with a status code, in order. */
  statuses: number[];
  /** The error of the first request that got no answer (the app was gone), if any. */
  failure?: Error;
}

/** Sends `count` GET requests one after another; stops at the first one that gets no answer. */
export async function hit(url: string, count: number): Promise<HitResult> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      statuses.push(response.status);
    } catch (err) {
      return { statuses, failure: err as Error };
    }
  }
  return { statuses };
}

/** `docker stop` as typed by a person (default grace period); returns the seconds it took. */
export async function timedDockerStop(container: StartedTestContainer): Promise<number> {
  const start = process.hrtime.bigint();
  await docker('stop', container.getId());
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** `docker run` in the foreground, for an app expected to exit: returns its exit code and output. */
export async function dockerRunToExit(
  image: string,
  env: Record<string, string>,
): Promise<{ exitCode: number; output: string }> {
  const args = ['run', '--rm', '--label', 'org.testcontainers=true'];
  for (const [name, value] of Object.entries(env)) args.push('-e', `${name}=${value}`);
  try {
    const { stdout, stderr } = await execFileAsync('docker', [...args, image], { timeout: 30_000 });
    return { exitCode: 0, output: stdout + stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: unknown; stdout: string; stderr: string };
    if (typeof code !== 'number') throw err;
    return { exitCode: code, output: stdout + stderr };
  }
}

/** What `docker logs` shows: stdout and stderr together. */
export async function dockerLogs(container: StartedTestContainer): Promise<string> {
  const { stdout, stderr } = await execFileAsync('docker', ['logs', container.getId()], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout + stderr;
}

/** Reads a file out of a container, running or stopped, with `docker cp`. */
export async function readFileFrom(container: StartedTestContainer, path: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kit-cp-'));
  try {
    await docker('cp', `${container.getId()}:${path}`, dir);
    return await readFile(join(dir, basename(path)), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The JSON lines of a log (one object per line); anything else, like an entrypoint's echo, is dropped. */
export function jsonLogLines<T = { level: string; msg: string }>(logs: string): T[] {
  return logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as T);
}

/** Waits (at most `timeoutMs`) for the container to exit and returns its exit code: `docker wait`. */
export async function waitForExit(
  container: StartedTestContainer,
  timeoutMs = 10_000,
): Promise<number> {
  const id = container.getId().slice(0, 12);
  const { stdout } = await execFileAsync('docker', ['wait', id], { timeout: timeoutMs }).catch(
    (err: Error & { killed?: boolean }) => {
      throw err.killed ? new Error(`container ${id} still running after ${timeoutMs} ms`) : err;
    },
  );
  return Number(stdout.trim());
}

/** Reads a key with redis-cli inside the Redis container. */
export async function redisGet(redis: StartedTestContainer, key: string): Promise<string> {
  const { output, exitCode } = await redis.exec(['redis-cli', 'get', key]);
  if (exitCode !== 0) throw new Error(`redis-cli get ${key} failed: ${output}`);
  return output.trim();
}

/** Stops containers and the network whatever state they are in (some tests crash or stop them). */
export async function teardown(
  ...things: Array<{ stop(): Promise<unknown> } | undefined>
): Promise<void> {
  for (const thing of things) {
    try {
      await thing?.stop();
    } catch {
      // already stopped or removed: nothing left to clean
    }
  }
}
