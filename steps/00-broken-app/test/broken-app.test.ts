/**
 * Step 00 proves the bugs of the "works on my laptop" version 1.0, on a real Docker engine:
 * it crashes, `docker logs` shows nothing useful, /status is 404 and `docker stop` is slow.
 */
import {
  buildStep,
  dockerLogs,
  hit,
  readFileFrom,
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
import { isLuckyVisitor } from '../src/lucky.js';
import { seededRandom } from '../src/random.js';

/** The hit on which the app, seeded with `seed`, meets its first lucky visitor (replays its own rule). */
function firstLuckyHit(seed: number): number {
  const random = seededRandom(seed);
  let served = 1;
  while (!isLuckyVisitor(served, random)) served++;
  return served;
}

let image: string;
let network: StartedNetwork;
let redis: StartedTestContainer;

beforeAll(async () => {
  [image, network] = await Promise.all([buildStep('00-broken-app'), startNetwork()]);
  redis = await startRedis(network);
});
afterAll(() => teardown(redis, network));

describe('version 1.0 crashes', () => {
  const SEED = 7;
  let app: StartedTestContainer;
  afterAll(() => teardown(app));

  test('the first lucky visitor after hit 50 kills the process', async () => {
    const luckyHit = firstLuckyHit(SEED);
    expect(luckyHit).toBeGreaterThan(50);
    app = await startApp(image, network, { LUCKY_SEED: String(SEED) });

    const { statuses, failure } = await hit(urlOf(app), luckyHit + 50);

    expect(failure).toBeDefined(); // a request got no answer: the app was gone
    expect(statuses.every((status) => status === 200)).toBe(true);
    // The lucky visitor gets its page: it is sent before the prize draw starts. The draw runs in
    // the background, and Redis may answer it in the same read as the next visitor's INCR, so that
    // one visitor may still get a page before the process dies; nobody after.
    expect(statuses.length).toBeGreaterThanOrEqual(luckyHit);
    expect(statuses.length).toBeLessThanOrEqual(luckyHit + 1);
    expect(Number(await redisGet(redis, 'hits'))).toBeGreaterThanOrEqual(luckyHit);
    expect(Number(await redisGet(redis, 'hits'))).toBeLessThanOrEqual(luckyHit + 1);
    expect(await waitForExit(app)).toBe(1);
  });

  test('docker logs shows nothing useful: no request log, no crash', async () => {
    const logs = await dockerLogs(app);
    expect(logs.trim()).toBe('starting hits...');
  });

  test('the cause is only in a file inside the (now dead) container', async () => {
    // docker cp still reads the stopped container's file; on Kubernetes a restart loses it.
    const log = await readFileFrom(app, '/tmp/app.log');
    expect(log).toContain("TypeError: Cannot read properties of undefined (reading 'toUpperCase')");
    expect(log).toMatch(/GET \/ 200/);
  });
});

describe('operations has nothing to look at', () => {
  let app: StartedTestContainer;
  beforeAll(async () => {
    app = await startApp(image, network);
  });
  afterAll(() => teardown(app));

  test('the page shows version 1.0.0, its hostname and the hit counter', async () => {
    const page = await (await fetch(urlOf(app))).text();
    expect(page).toContain('<dd id="version">1.0.0</dd>');
    expect(page).toContain(`<dd id="hostname">${app.getId().slice(0, 12)}</dd>`);
    expect(page).toMatch(/<dd id="hits">\d+<\/dd>/);
    expect(page).toContain('<dd id="redis">connected</dd>');
  });

  test('/status is 404', async () => {
    expect((await fetch(urlOf(app, '/status'))).status).toBe(404);
  });

  test('docker stop waits the whole grace period: SIGTERM never reaches node', async () => {
    const seconds = await timedDockerStop(app);
    expect(seconds).toBeGreaterThanOrEqual(9);
    expect(await waitForExit(app)).toBe(137); // killed by SIGKILL after 10 s
  });
});
