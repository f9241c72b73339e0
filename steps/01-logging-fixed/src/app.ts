import express from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from './log.js';
import { drawPrize, isLuckyVisitor } from './lucky.js';
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
}

export function createApp({ store, version, hostname, random, log }: AppDeps) {
  const app = express();
  const startedAt = Date.now();
  let served = 0; // requests this replica has served

  // One JSON line per request, with just what an operator reads.
  app.use(
    pinoHttp({
      logger: log,
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

  return app;
}
