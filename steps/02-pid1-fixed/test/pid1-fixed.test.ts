/**
 * Step 02 proves the PID 1 beat on a real Docker engine: `docker stop` is fast and clean, a
 * request in flight still gets its answer, the app does not run as root, readiness waits for
 * Redis, and the data lives outside the app container.
 */
import {
  answers,
  buildStep,
  createVolume,
  docker,
  dockerLogs,
  eventually,
  hit,
  jsonLogLines,
  redisGet,
  startApp,
  startNetwork,
  startRedis,
  teardown,
  timedDockerStop,
  urlOf,
  waitForExit,
  type StartedNetwork,
  type StartedTestContainer,
} from '@kit/testkit';
import { setTimeout as sleep } from 'node:timers/promises';

let image: string;
let network: StartedNetwork;
let redis: StartedTestContainer;

beforeAll(async () => {
  [image, network] = await Promise.all([buildStep('02-pid1-fixed'), startNetwork()]);
  redis = await startRedis(network);
});
afterAll(() => teardown(redis, network));

describe('node is PID 1 and handles SIGTERM', () => {
  let app: StartedTestContainer;
  beforeAll(async () => {
    app = await startApp(image, network);
  });
  afterAll(() => teardown(app));

  test('PID 1 is node, running as the unprivileged user node (uid 1000)', async () => {
    const { output } = await app.exec([
      'sh',
      '-c',
      'tr "\\0" " " </proc/1/cmdline; echo; grep ^Uid: /proc/1/status',
    ]);
    const [cmdline, uid] = output.trim().split('\n');
    expect(cmdline?.trim()).toBe('node dist/server.js');
    expect(uid?.split(/\s+/).slice(1)).toEqual(['1000', '1000', '1000', '1000']); // real, effective, saved, fs
  });

  test('docker stop takes well under a second and the app exits 0', async () => {
    await hit(urlOf(app), 3);
    const seconds = await timedDockerStop(app);
    expect(seconds).toBeLessThan(1);
    expect(await waitForExit(app)).toBe(0);
    const logs = await dockerLogs(app);
    expect(logs).toContain('"signal":"SIGTERM"');
    expect(logs).toContain('"msg":"shut down cleanly"');
  });
});

describe('a request in flight when SIGTERM arrives', () => {
  let app: StartedTestContainer;
  beforeAll(async () => {
    app = await startApp(image, network);
  });
  afterAll(async () => {
    await docker('unpause', redis.getId()).catch(() => {});
    await teardown(app);
  });

  test('completes with 200, new connections are refused, then the app exits 0', async () => {
    await hit(urlOf(app), 1); // connected and warm
    // Freeze Redis: the next hit waits for its INCR, so it is in flight for as long as we like.
    await docker('pause', redis.getId());
    const inFlight = fetch(urlOf(app)).then(async (response) => ({
      status: response.status,
      body: await response.text(),
    }));
    await sleep(300);

    const stopping = timedDockerStop(app); // SIGTERM now, with the request still waiting
    await sleep(500);
    await expect(fetch(urlOf(app, '/status'))).rejects.toThrow(); // draining: no new connections
    await docker('unpause', redis.getId());

    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/<dd id="hits">\d+<\/dd>/);
    expect(await stopping).toBeLessThan(5);
    expect(await waitForExit(app)).toBe(0);

    const messages = jsonLogLines(await dockerLogs(app)).map((line) => line.msg);
    const order = [
      'shutting down: draining in-flight requests',
      'request completed',
      'shut down cleanly',
    ];
    const positions = order.map((msg) => messages.lastIndexOf(msg));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});

describe('readiness: no traffic before Redis, no empty Service during a Redis outage', () => {
  let app: StartedTestContainer;
  let lateRedis: StartedTestContainer | undefined;
  let ownNetwork: StartedNetwork;
  afterAll(() => teardown(app, lateRedis, ownNetwork));

  const ready = async () => {
    const response = await fetch(urlOf(app, '/check/ready'));
    return `${response.status} ${await response.text()}`;
  };

  test('/check/ready is 503 until the first Redis connection, then stays 200 when Redis goes away', async () => {
    ownNetwork = await startNetwork(); // no Redis on it yet
    app = await startApp(image, ownNetwork);
    expect(await ready()).toBe('503 waiting for redis');
    expect((await fetch(urlOf(app, '/check/live'))).status).toBe(200); // alive: no restart needed

    lateRedis = await startRedis(ownNetwork);
    // The shared wait for an answer; its error names the last one.
    await answers(
      urlOf(app, '/check/ready'),
      10_000,
      (status, body) => `${status} ${body}` === '200 ok',
    );
    expect(await ready()).toBe('200 ok');

    await lateRedis.stop({ timeout: 10_000 });
    lateRedis = undefined;
    expect((await fetch(urlOf(app))).status).toBe(503); // the page says Redis is unavailable...
    expect(await ready()).toBe('200 ok'); // ...and the replica stays in the Service to say so
  });
});

describe('the data lives outside the app container', () => {
  let app: StartedTestContainer;
  let ownRedis: StartedTestContainer | undefined;
  let ownNetwork: StartedNetwork;

  afterAll(() => teardown(app, ownRedis, ownNetwork));

  /** Hits once, retrying while the app reconnects to Redis; returns the counter the page shows. */
  async function countedHit(): Promise<number> {
    return eventually(
      'the app to count the hit',
      async () => {
        const response = await fetch(urlOf(app)).catch(() => undefined);
        const match = response && (await response.text()).match(/<dd id="hits">(\d+)<\/dd>/);
        return response?.status === 200 && match ? Number(match[1]) : undefined;
      },
      10_000,
      100,
    );
  }

  test('the counter survives an app restart and a new Redis container on the same volume', async () => {
    ownNetwork = await startNetwork();
    const volume = await createVolume();
    ownRedis = await startRedis(ownNetwork, volume);
    app = await startApp(image, ownNetwork);

    expect(await countedHit()).toBe(1);
    expect(await countedHit()).toBe(2);

    await app.restart({ timeout: 10_000 }); // SIGTERM, then a fresh process
    expect(await countedHit()).toBe(3);

    await ownRedis.stop({ timeout: 10_000 }); // removes the Redis container, keeps the volume
    ownRedis = await startRedis(ownNetwork, volume);
    expect(await countedHit()).toBe(4);
    expect(await redisGet(ownRedis, 'hits')).toBe('4');
  });
});
