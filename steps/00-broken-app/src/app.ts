import express from 'express';
import { drawPrize, isLuckyVisitor } from './lucky.js';
import { renderPage } from './page.js';
import type { Random } from './random.js';

/** What the app needs from Redis: the hit counter and marketing's prize list. */
export interface Store {
  readonly isReady: boolean;
  incr(key: string): Promise<number>;
  sMembers(key: string): Promise<string[]>;
}

export interface AppDeps {
  store: Store;
  version: string;
  hostname: string;
  random: Random;
}

export function createApp({ store, version, hostname, random }: AppDeps) {
  const app = express();
  let served = 0; // requests this replica has served

  app.use((req, res, next) => {
    const start = Date.now();
    res.on('finish', () => {
      const ms = Date.now() - start;
      console.log(`${new Date().toISOString()} ${req.method} ${req.url} ${res.statusCode} ${ms}ms`);
    });
    next();
  });

  app.get('/', async (_req, res) => {
    served += 1;
    const lucky = isLuckyVisitor(served, random);
    let hits: number | undefined;
    try {
      hits = await store.incr('hits');
    } catch (err) {
      console.log(`redis: ${(err as Error).message}`);
    }
    // #region lucky
    if (lucky) {
      // Hand out the prize in the background: the visitor need not wait for it.
      store
        .sMembers('prizes')
        .then((prizes) => console.log(`visitor ${hits} won: ${drawPrize(prizes, random)}`));
    }
    // #endregion lucky
    res
      .status(hits === undefined ? 503 : 200)
      .type('html')
      .send(renderPage({ version, hostname, hits, redisReady: store.isReady }));
  });

  return app;
}
