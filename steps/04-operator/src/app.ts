import express from 'express';
import { pinoHttp } from 'pino-http';
import type { Capacity } from './capacity.js';
import type { Logger } from './log.js';
import { drawPrize, isLuckyVisitor } from './lucky.js';
import { measureLatency, type Metrics } from './metrics.js';
import { renderPage } from './page.js';
import type { Random } from './random.js';

/** What the app needs from Redis: the hit counter and marketing's prize list. */
export interface Store {
  readonly isReady: boolean;
  incr(key: string): Promise<number>;
  sMembers(key: string): Promise<string[]>;
  ping(): Promise<string>;
}

export interface AppDeps {
  store: Store;
  version: string;
  hostname: string;
  random: Random;
  log: Logger;
  /** True once a shutdown has begun: the replica must get no new traffic. */
  isShuttingDown: () => boolean;
  metrics: Metrics;
  capacity: Capacity;
  slowWorkMs: number;
}

export function createApp({
  store,
  version,
  hostname,
  random,
  log,
  isShuttingDown,
  metrics,
  capacity,
  slowWorkMs,
}: AppDeps) {
  const app = express();
  const startedAt = Date.now();
  let served = 0; // requests this replica has served

  app.use(measureLatency(metrics));
  // One JSON line per request, with just what an operator reads.
  app.use(
    pinoHttp({
      logger: log,
      // Probes and scrapes are noise.
      autoLogging: {
        ignore: (req) => req.url === '/metrics' || (req.url?.startsWith('/check/') ?? false),
      },
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get('/', async (req, res) => {
    served += 1;
    const lucky = isLuckyVisitor(served, random);
    let hits: number | undefined;
    try {
      hits = await store.incr('hits');
    } catch (err) {
      req.log.error({ err }, 'redis: could not count the hit');
    }
    // #region lucky
    if (lucky) {
      // Hand out the prize in the background: the visitor need not wait for it, but a failure
      // must be logged, never left as an unhandled rejection (that is what killed 1.0).
      store
        .sMembers('prizes')
        .then((prizes) => {
          const prize = drawPrize(prizes, random);
          req.log.info(
            { visitor: hits, prize },
            prize ? 'lucky visitor won a prize' : 'lucky visitor, but no prizes to give',
          );
        })
        .catch((err: unknown) => req.log.error({ err }, 'prize draw failed'));
    }
    // #endregion lucky
    res
      .status(hits === undefined ? 503 : 200)
      .type('html')
      .send(renderPage({ version, hostname, hits, redisReady: store.isReady }));
  });

  // What operations asks first: is it up, since when, can it reach its data?
  app.get('/status', async (_req, res) => {
    const redis = await store.ping().then(
      () => 'connected',
      () => 'unavailable',
    );
    res.json({
      version,
      hostname,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      redis,
      served,
    });
  });

  // Work whose latency depends on the load on this replica (see capacity.ts).
  app.get('/slow', async (_req, res) => {
    // The wait is the model's (capacity.ts): 0 when a slot was free, whatever the first call costs.
    let waitedMs = 0;
    await capacity.use(async (waited) => {
      waitedMs = Math.round(waited);
      await new Promise((resolve) => setTimeout(resolve, slowWorkMs));
    });
    res.json({ hostname, waitedMs, workMs: slowWorkMs });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // Probes for Kubernetes. Live: the process answers. Ready: send me traffic (not yet, or no more).
  app.get('/check/live', (_req, res) => {
    res.send('ok');
  });
  // Ready waits for the first Redis connection (a new pod gets no traffic it can't count);
  // after that a Redis outage shows on the page instead of emptying the Service of every pod.
  let redisSeen = false;
  app.get('/check/ready', (_req, res) => {
    redisSeen ||= store.isReady;
    if (isShuttingDown()) res.status(503).send('shutting down');
    else if (!redisSeen) res.status(503).send('waiting for redis');
    else res.send('ok');
  });

  return app;
}
