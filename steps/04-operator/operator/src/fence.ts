/**
 * Fencing: a write is made only by the leader, inside its renew deadline (lease.ts isLeader()),
 * checked just before the write, not once per reconcile: a reconcile's calls, with their retries,
 * can outlast the deadline, and by then another replica may lead. (No import: the Docker suite
 * tests events.ts, which uses this, without client-node.)
 */

/** Thrown instead of a write this replica may no longer make: the reconcile stops there. */
export class NotLeader extends Error {
  constructor(readonly write: string) {
    super(`not the leader, or past the renew deadline: ${write} skipped`);
    this.name = 'NotLeader';
  }
}

/**
 * Runs WRITE if IS_LEADER() says this replica may act now; else throws NotLeader (WHAT names it).
 */
export async function fenced<T>(
  isLeader: () => boolean,
  what: string,
  write: () => Promise<T>,
): Promise<T> {
  if (!isLeader()) throw new NotLeader(what);
  return write();
}
