import { hostname } from 'node:os';
import { createClient } from 'redis';
import { createApp } from './app.js';
import { readConfig, type Config } from './config.js';
import { createLogger } from './log.js';
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

const random = config.luckySeed === undefined ? Math.random : seededRandom(config.luckySeed);
const app = createApp({ store: redis, version: config.version, hostname: hostname(), random, log });
app.listen(config.port, () =>
  log.info({ port: config.port, version: config.version }, 'listening'),
);
