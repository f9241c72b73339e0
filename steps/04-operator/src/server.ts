import { once } from 'node:events';
import { hostname } from 'node:os';
import { createClient } from 'redis';
import { createApp } from './app.js';
import { Capacity } from './capacity.js';
import { readConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { createMetrics } from './metrics.js';
import { seededRandom } from './random.js';

const log = createLogger();

// Whatever kills the process says why, on stdout, where `docker logs` and `kubectl logs` look.
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'crashed: uncaught exception');
  process.exit(1);
});

let config: Config;
try {
  config = readConfig();
} catch (err) {
  log.fatal({ err }, 'invalid configuration');
  process.exit(1);
}

// Fail fast while Redis is away (no offline queue): the page says so instead of hanging.
const redis = createClient({ url: config.redisUrl, disableOfflineQueue: true });
redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
redis.on('ready', () => log.info({ url: config.redisUrl }, 'redis connected'));
// Connect in the background and keep retrying, so the app starts even before Redis does.
redis.connect().catch(() => {});

let shuttingDown = false;
const capacity = new Capacity(config.slowSlots);
const random = config.luckySeed === undefined ? Math.random : seededRandom(config.luckySeed);
const app = createApp({
  store: redis,
  version: config.version,
  hostname: hostname(),
  random,
  log,
  isShuttingDown: () => shuttingDown,
  metrics: createMetrics(() => capacity.queued),
  capacity,
  slowWorkMs: config.slowWorkMs,
});
const server = app.listen(config.port, () =>
  log.info({ port: config.port, version: config.version }, 'listening'),
);

/**
 * `docker stop` and Kubernetes send SIGTERM (Ctrl-C sends SIGINT): stop taking new connections,
 * let the requests in flight finish, close Redis, exit 0. As PID 1, node has no default
 * handler for these signals: without this code they would be ignored until SIGKILL.
 */
// #region shutdown
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ signal }, 'shutting down: draining in-flight requests');

  server.close(); // no new connections; 'close' fires when the last one has ended
  // Keep-alive connections that finish their request become idle: close them as they do.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  const deadline = setTimeout(() => {
    log.warn(
      { drainTimeoutMs: config.drainTimeoutMs },
      'drain timed out: closing remaining connections',
    );
    server.closeAllConnections();
  }, config.drainTimeoutMs);
  await once(server, 'close');
  clearInterval(sweep);
  clearTimeout(deadline);

  await redis.close().catch((err: unknown) => log.warn({ err }, 'redis did not close cleanly'));
  log.info('shut down cleanly');
  process.exit(0);
}

process.once('SIGTERM', (signal) => void shutdown(signal));
process.once('SIGINT', (signal) => void shutdown(signal));
// #endregion shutdown
