/**
 * The kit's one way to wait for something: the tests use it, and so does tooling/deploy.ts
 * (which runs without the kit's npm dependencies, hence this file imports nothing).
 */

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits until an HTTP GET of URL answers (any status: a 404 is an answer) and `ready` accepts it;
 * a new NodePort, for one, is refused until kube-proxy has programmed it. The error says what the
 * last attempt got.
 */
export async function answers(url: string, timeoutMs = 60_000, ready: (status: number, body: string) => boolean = () => true): Promise<void> {
  let last = 'no answer';
  await eventually(`${url} to answer`, async () => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const body = await response.text();
      last = `${response.status} ${body.slice(0, 200)}`;
      return ready(response.status, body) ? true : undefined;
    } catch (err) {
      last = String((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
      return undefined;
    }
  }, timeoutMs, 200).catch((err: Error) => {
    throw new Error(`${err.message} (last: ${last})`);
  });
}
