/**
 * Events are best effort: a lost one never blocks a reconcile. But they are how people (and the
 * end-to-end test) see each scale, so a failed create is tried again, as client-go's event
 * recorder does (it tries an Event up to 12 times). The caller keeps the Event's name across the
 * tries: a create that got through although its answer timed out then meets 409 AlreadyExists,
 * and the Event is not recorded twice. (No import of client-node: the Docker suite tests this file
 * without it; its ApiException carries the HTTP status as a number, `code`.)
 */
import { NotLeader } from './fence.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often an Event's create is tried before it is given up. */
export const EVENT_TRIES = 3;

/**
 * Runs CREATE until it succeeds, at most TRIES times, PAUSE_MS apart. Resolves to undefined once
 * the Event exists, or to the error that ended the tries: the last one, or one that trying again
 * cannot fix (a 4xx other than 429: the Event itself is refused; a 409 after the first try means
 * that try got through; a NotLeader: this replica may no longer write, fence.ts).
 */
export async function createEvent(
  create: () => Promise<unknown>,
  tries = EVENT_TRIES,
  pauseMs = 1000,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      await create();
      return undefined;
    } catch (err) {
      if (err instanceof NotLeader) return err; // no retry: it would be just as late
      const code = httpStatus(err);
      if (attempt > 1 && code === 409) return undefined; // an earlier try did get through
      // A 409 at once: the name is not ours.
      const refused = code !== undefined && code >= 400 && code < 500 && code !== 429;
      if (refused || attempt >= tries) return err;
      await sleep(pauseMs);
    }
  }
}

/**
 * The HTTP status of a failed call, if it got one (a timeout's DOMException has a `code` too:
 * 23).
 */
function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}
