/**
 * Informers that keep watching (main.ts has two: the LatencyScalers and their Deployments).
 * client-node gives the list + watch + cache; what it lacks for a long-running operator is here.
 */
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import { errorText } from './kube.js';
import type { Logger } from './log.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** What every watch shares: the cluster, the log, how often a watch is opened anew. */
export interface Watching {
  kc: KubeConfig;
  log: Logger;
  rewatchSeconds: number;
}

/**
 * An informer on WHAT that keeps watching. client-node's informer stops for good on any error
 * other than 410 Gone (which it handles by listing again): start it again, with a growing delay so
 * a broken API server is not hammered; aborts are ours (stop() while re-watching) and need nothing.
 * A watch can also stall without an error (no client timeout in client-node 1.x): open a new one
 * every REWATCH_SECONDS. start() resolves once the first list is in the cache, however many
 * attempts that takes: before that, a Deployment missing from it would be no news.
 */
export function watched<T extends KubernetesObject>(
  { kc, log, rewatchSeconds }: Watching,
  what: string,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
) {
  let stopping = false; // stop() was called: errors and the re-watch timer then change nothing
  let listed = false;
  const informer = makeInformer<T>(kc, path, async () => {
    const items = await list();
    listed = true; // the informer fills its cache from ITEMS before its start() resolves
    return items;
  });
  let synced!: () => void;
  const ready = new Promise<void>((resolve) => (synced = resolve));
  const start = async (): Promise<void> => {
    try {
      await informer.start();
    } catch (err) {
      log.warn({ err: errorText(err) }, `could not start the watch on ${what}`);
    }
    if (listed) synced();
  };
  let failures = 0;
  let lastError = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  informer.on('error', (err?: unknown) => {
    if (stopping || (err as Error | undefined)?.name === 'AbortError') return;
    if (Date.now() - lastError > 60_000) failures = 0;
    lastError = Date.now();
    const delay = Math.min(30_000, 1000 * 2 ** failures++);
    log.warn(
      { err: errorText(err), retryInMs: delay },
      `watch on ${what} failed: starting it again`,
    );
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void start(), delay);
  });
  informer.on('connect', () => log.debug(`watching ${what}`));
  // With an old resourceVersion the API server answers 410 and the informer lists again. The
  // pause lets the old watch's end (an abort) arrive while the informer is stopped: otherwise
  // client-node would take it for a normal end and open a second watch next to the new one.
  let rewatch: NodeJS.Timeout | undefined;
  return {
    informer,
    async start(): Promise<void> {
      rewatch = setInterval(() => {
        void (async () => {
          log.info(`re-opening the watch on ${what}`);
          await informer.stop();
          await sleep(1000);
          if (!stopping) await start();
        })();
      }, rewatchSeconds * 1000);
      await start();
      await ready;
    },
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(rewatch);
      clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}
