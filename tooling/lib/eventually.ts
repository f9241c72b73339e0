/**
 * The kit's one way to wait for something, in TypeScript (its shell twin is `wait_until` in
 * tooling/lib.sh). Tests import it through the testkit; run-time tools (tooling/deploy.ts, the
 * bench, the demo) import it from here. It imports nothing, so it runs under plain node too.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined, and returns
 * that. A probe that throws is tried again: the state may not exist yet. After `timeoutMs` it
 * fails with what it waited for and the last error the probe threw, so a timeout says why.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    try {
      const result = await probe();
      if (result !== undefined) return result;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last: ${last})`}`,
      );
    }
    await sleep(intervalMs);
  }
}

/**
 * Waits until an HTTP GET of URL answers (any status: a 404 is an answer) and `ready` accepts it;
 * a new NodePort, for one, is refused until kube-proxy has programmed it. The error says what the
 * last attempt got.
 */
export async function answers(
  url: string,
  timeoutMs = 60_000,
  ready: (status: number, body: string) => boolean = () => true,
): Promise<void> {
  await eventually(
    `${url} to answer`,
    async () => {
      let response: Response;
      try {
        response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      } catch (err) {
        const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
        throw new Error(reason, { cause: err });
      }
      const body = await response.text();
      if (ready(response.status, body)) return true;
      throw new Error(`${response.status} ${body.slice(0, 200)}`);
    },
    timeoutMs,
    200,
  );
}
