/** The capacity model is pure logic: checked on its own, with real timers and no app around it. */
import { Capacity } from '../src/capacity.js';
import { setTimeout as sleep } from 'node:timers/promises';

test('never works on more than `slots` requests at once, and serves the queue in arrival order', async () => {
  const capacity = new Capacity(2);
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const jobs = Array.from({ length: 7 }, (_, id) =>
    capacity.use(async () => {
      started.push(id);
      running++;
      peak = Math.max(peak, running);
      await sleep(5);
      running--;
      return id;
    }),
  );
  expect(capacity.queued).toBe(5);
  expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(peak).toBe(2);
  expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(capacity.queued).toBe(0);
});

test('a failing request frees its slot for the next one', async () => {
  const capacity = new Capacity(1);
  const failing = capacity.use(() => Promise.reject(new Error('boom')));
  const next = capacity.use(() => Promise.resolve('served'));
  await expect(failing).rejects.toThrow('boom');
  await expect(next).resolves.toBe('served');
});
