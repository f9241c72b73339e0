import { hostname } from 'node:os';
import { createClient } from 'redis';
import { createApp } from './app.js';
import { readConfig } from './config.js';
import { seededRandom } from './random.js';

const config = readConfig();

// Fail fast while Redis is away (no offline queue): the page says so instead of hanging.
const redis = createClient({ url: config.redisUrl, disableOfflineQueue: true });
redis.on('error', (err: Error) => console.log(`redis: ${err.message}`));
// Connect in the background and keep retrying, so the app starts even before Redis does.
redis.connect().catch(() => {});

const random = config.luckySeed === undefined ? Math.random : seededRandom(config.luckySeed);
const app = createApp({ store: redis, version: config.version, hostname: hostname(), random });
app.listen(config.port, () =>
  console.log(`hits ${config.version} listening on port ${config.port}`),
);
