/**
 * Step 01 proves the logging beat on a real Docker engine: the logs are on stdout as JSON, the
 * old crash site now logs instead of killing the process, and /status answers.
 */
import {
  buildStep,
  dockerLogs,
  dockerRunToExit,
  hit,
  jsonLogLines,
  redisGet,
  startApp,
  startNetwork,
  startRedis,
  teardown,
  urlOf,
  type StartedNetwork,
  type StartedTestContainer,
} from '@kit/testkit';
import { isLuckyVisitor } from '../src/lucky.js';
import { seededRandom } from '../src/random.js';

interface LogLine {
  level: string;
  msg: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  responseTime?: number;
  err?: { message: string };
  visitor?: number;
}

const jsonLines = (logs: string) => jsonLogLines<LogLine>(logs);

/** How many of the first `hits` hits are lucky for the seeded app (replays its own rule). */
function luckyHits(seed: number, hits: number): number {
  const random = seededRandom(seed);
  let lucky = 0;
  for (let served = 1; served <= hits; served++) if (isLuckyVisitor(served, random)) lucky++;
  return lucky;
}

let image: string;
let network: StartedNetwork;
let redis: StartedTestContainer;

beforeAll(async () => {
  [image, network] = await Promise.all([buildStep('01-logging-fixed'), startNetwork()]);
  redis = await startRedis(network);
});
afterAll(() => teardown(redis, network));

describe('version 1.1 under traffic', () => {
  const SEED = 7; // the seed whose lucky visitor killed 1.0 at hit 128
  const HITS = 1000;
  let app: StartedTestContainer;
  let logs: LogLine[];
  let before: number;

  beforeAll(async () => {
    app = await startApp(image, network, { LUCKY_SEED: String(SEED) });
    before = Number((await redisGet(redis, 'hits')) || 0);
    const { statuses, failure } = await hit(urlOf(app), HITS);
    expect(failure).toBeUndefined();
    expect(statuses.filter((status) => status === 200)).toHaveLength(HITS);
    logs = jsonLines(await dockerLogs(app));
  });
  afterAll(() => teardown(app));

  test('1,000 hits, no crash, and the Redis counter rose by exactly 1,000', async () => {
    expect(Number(await redisGet(redis, 'hits')) - before).toBe(HITS);
    expect((await fetch(urlOf(app, '/status'))).status).toBe(200); // still alive
  });

  test('docker logs shows one JSON line per request', () => {
    const requests = logs.filter(
      (line) => line.msg === 'request completed' && line.req?.url === '/',
    );
    expect(requests).toHaveLength(HITS);
    expect(requests[0]).toMatchObject({
      level: 'info',
      req: { method: 'GET', url: '/' },
      res: { statusCode: 200 },
    });
    expect(typeof requests[0]?.responseTime).toBe('number');
  });

  test('the old crash site now logs each lucky visitor instead of dying', () => {
    const lucky = logs.filter((line) => line.msg.startsWith('lucky visitor'));
    expect(lucky.length).toBeGreaterThan(0);
    expect(lucky).toHaveLength(luckyHits(SEED, HITS));
    expect(lucky[0]).toMatchObject({ level: 'info', msg: 'lucky visitor, but no prizes to give' });
    expect(logs.filter((line) => line.level === 'fatal' || line.level === 'error')).toEqual([]);
  });

  test('/status reports version, uptime, Redis and the hits this replica served', async () => {
    const response = await fetch(urlOf(app, '/status'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      version: '1.1.0',
      hostname: app.getId().slice(0, 12),
      uptimeSeconds: expect.any(Number),
      redis: 'connected',
      served: HITS,
    });
  });
});

describe('a fatal error says why, in docker logs', () => {
  test('a bad REDIS_URL stops the app with a JSON line naming the setting', async () => {
    const { exitCode, output } = await dockerRunToExit(image, { REDIS_URL: 'localhost:6379' });
    expect(exitCode).toBe(1);
    const fatal = jsonLines(output).find((line) => line.level === 'fatal');
    expect(fatal?.msg).toBe('invalid configuration');
    expect(fatal?.err?.message).toBe(
      'REDIS_URL=localhost:6379 is not valid: expected redis://host:port, e.g. redis://redis:6379',
    );
  });
});

describe('Redis going away is logged, and the page says so', () => {
  let app: StartedTestContainer;
  let lonelyNetwork: StartedNetwork;
  beforeAll(async () => {
    lonelyNetwork = await startNetwork(); // no Redis on this one
    app = await startApp(image, lonelyNetwork);
  });
  afterAll(() => teardown(app, lonelyNetwork));

  test('503 with "unavailable" on the page, and the reason in the logs', async () => {
    const response = await fetch(urlOf(app));
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('<dd id="redis">unavailable</dd>');
    const status = (await (await fetch(urlOf(app, '/status'))).json()) as { redis: string };
    expect(status.redis).toBe('unavailable');
    expect(
      jsonLines(await dockerLogs(app)).some((line) => line.msg === 'redis connection error'),
    ).toBe(true);
  });
});
