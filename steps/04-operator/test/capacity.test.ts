/**
 * The capacity model (operator/src/capacity.ts): requests spread at random over the replicas, a
 * replica's p95 in proportion to what it works on. Pure: checked against the figures the e2e
 * test measured on kind (6 users: p95 ~130 ms on 1 replica, ~118 ms on 2, ~85 ms on 3) and by
 * properties.
 */
import fc from 'fast-check';
import { capacityFrom, replicasFor, sharedWith } from '../operator/src/capacity.js';

test('a request shares its replica with the 95th percentile of a binomial draw of the others', () => {
  expect(sharedWith(6, 1)).toBe(6); // all on one
  expect(sharedWith(6, 2)).toBe(5); // 1 + Binomial(5, 1/2): P(<= 3) = 0.81, P(<= 4) = 0.97
  expect(sharedWith(6, 3)).toBe(4); // 1 + Binomial(5, 1/3): P(<= 2) = 0.79, P(<= 3) = 0.95
  expect(sharedWith(1, 3)).toBe(1); // one request in flight: alone wherever it lands
  expect(sharedWith(0.4, 1)).toBe(1); // less than one on average: alone
});

test('the requests in flight are an average: between two counts, sharedWith lies between theirs in proportion', () => {
  expect(sharedWith(5.8, 1)).toBeCloseTo(5.8, 9); // on one replica, all of them
  expect(sharedWith(6.5, 3)).toBeCloseTo(4.5, 9); // halfway from 6 (4) to 7 (5)
  expect(sharedWith(5.5, 2)).toBe(5); // 5 and 6 on 2 replicas both share with 5
  fc.assert(
    fc.property(
      fc.double({ min: 1, max: 60, noNaN: true }),
      fc.integer({ min: 1, max: 30 }),
      (inFlight, replicas) => {
        const [below, above] = [Math.floor(inFlight), Math.floor(inFlight) + 1];
        const s = sharedWith(inFlight, replicas);
        return sharedWith(below, replicas) <= s && s <= sharedWith(above, replicas);
      },
    ),
  );
});

test("the capacity learned from the e2e test's three measured windows is nearly the same (4.2-4.7): the spread explains why 2 replicas were not enough", () => {
  const learned = [
    capacityFrom(6, 1, 130, 100),
    capacityFrom(6, 2, 118, 100),
    capacityFrom(6, 3, 85, 100),
  ];
  expect(learned.map((c) => Math.round(c * 10) / 10)).toEqual([4.6, 4.2, 4.7]);
  // From any of them, 6 users need exactly 3 replicas (the e2e test's count), 1 user needs 1.
  for (const c of learned) expect(replicasFor(6, c, 5)).toBe(3);
  for (const c of learned) expect(replicasFor(1, c, 5)).toBe(1);
});

test('replicasFor: never more than max; max when even max is not enough', () => {
  expect(replicasFor(100, 4.6, 5)).toBe(5);
  expect(replicasFor(0, 4.6, 5)).toBe(1);
});

test('property: more demand never needs fewer replicas, and more capacity never needs more', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 60, noNaN: true }),
      fc.double({ min: 0, max: 60, noNaN: true }),
      fc.double({ min: 1, max: 20, noNaN: true }),
      fc.double({ min: 1, max: 20, noNaN: true }),
      (l1, l2, c1, c2) => {
        const [lo, hi] = l1 <= l2 ? [l1, l2] : [l2, l1];
        const [small, big] = c1 <= c2 ? [c1, c2] : [c2, c1];
        return (
          replicasFor(lo, small, 30) <= replicasFor(hi, small, 30) &&
          replicasFor(lo, big, 30) <= replicasFor(lo, small, 30)
        );
      },
    ),
  );
});

test('a plateau: where one replica more would not lower what a request shares, the count stops, unless it was measured slow there (PAST)', () => {
  // 6 in flight: 6, 5, 4, 4, 4 on 1 to 5 replicas. A replica holding 3.6 is held by none of them.
  expect([1, 2, 3, 4, 5].map((r) => sharedWith(6, r))).toEqual([6, 5, 4, 4, 4]);
  expect(replicasFor(6, 3.6, 5)).toBe(3);
  expect(replicasFor(6, 3.6, 5, 3)).toBe(4); // slow on 3: one more
  expect(replicasFor(6, 3.6, 5, 4)).toBe(5);
  expect(replicasFor(6, 4.6, 5, 3)).toBe(3); // a capacity that 3 replicas hold: 3 whatever PAST
});

test('property: the replicas it names hold the demand (sharedWith <= capacity) or stand on a plateau; one fewer would not hold it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.double({ min: 2, max: 20, noNaN: true }), // a replica that holds 2 at least
      fc.integer({ min: 0, max: 30 }),
      (inFlight, capacity, past) => {
        const max = 1000;
        const r = replicasFor(inFlight, capacity, max, past);
        const holds = sharedWith(inFlight, r) <= capacity;
        const plateau = r > past && sharedWith(inFlight, r + 1) >= sharedWith(inFlight, r);
        return (holds || plateau) && (r === 1 || sharedWith(inFlight, r - 1) > capacity);
      },
    ),
  );
});
