/**
 * How many replicas a demand needs, from what one replica holds: pure, no clock, no network.
 *
 * Demand is the requests in flight, all replicas together (Little's law: request rate x mean
 * latency, read from the histogram the app exports). It does not depend on how many replicas
 * served it: 6 users in closed loops are 6 requests in flight on 1 replica or on 3.
 *
 * A Service spreads requests over the replicas at random (kube-proxy picks a backend per
 * connection). A request that arrives while L others are in flight shares its replica with each
 * of them with probability 1/R: it sees 1 + Binomial(L - 1, 1/R) requests there. Its latency
 * grows with that count, so the p95 of the latency is set by the 95th percentile of that count.
 * CAPACITY is the count at which a replica's p95 reaches the threshold: learned from a busy
 * window (capacityFrom), never asked of the user.
 */

/** The percentile the threshold is about. */
export const QUANTILE = 0.95;

/** P(Binomial(n, p) <= k), summed term by term (n is a count of requests in flight: small). */
function binomialCdf(k: number, n: number, p: number): number {
  let term = (1 - p) ** n; // P(X = 0)
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term *= ((n - i + 1) / i) * (p / (1 - p));
    sum += term;
  }
  return sum;
}

// #region capacity
/**
 * The QUANTILE of the requests one request shares its replica with, itself included, when
 * IN_FLIGHT requests are spread at random over REPLICAS: 1 + Binomial(IN_FLIGHT - 1, 1/R).
 * IN_FLIGHT is an average, not a count: between two counts, in proportion (no jump at 5.5).
 */
export function sharedWith(inFlight: number, replicas: number): number {
  const count = Math.max(1, Math.floor(inFlight));
  const part = Math.max(0, inFlight - count);
  const of = (n: number) => {
    if (replicas <= 1 || n === 1) return n;
    let k = 0; // the others on its replica
    while (k < n - 1 && binomialCdf(k, n - 1, 1 / replicas) < QUANTILE) k++;
    return 1 + k;
  };
  const atCount = of(count);
  return part === 0 ? atCount : atCount + part * (of(count + 1) - atCount);
}

/**
 * The fewest replicas (1 to MAX) at which IN_FLIGHT requests, spread at random, keep the p95
 * under the threshold: sharedWith <= CAPACITY. But where one replica more would not lower
 * sharedWith (a plateau of the percentile: 6 in flight share with 4 on 3, 4 or 5 replicas), the
 * model cannot tell the next replica from this one, so it stops there; it goes past PAST only,
 * the replicas a slow p95 was measured on. MAX when even MAX is not enough.
 */
export function replicasFor(inFlight: number, capacity: number, max: number, past = 0): number {
  for (let r = 1; r < max; r++) {
    const share = sharedWith(inFlight, r);
    if (share <= capacity || (r > past && sharedWith(inFlight, r + 1) >= share)) return r;
  }
  return max;
}
// #endregion capacity

/**
 * What one replica holds with its p95 at the threshold, from a window whose p95 was P95 ms on
 * REPLICAS with IN_FLIGHT requests in flight: latency grows in proportion to the requests a
 * replica works on (the capacity model of step 03), so at the threshold it holds
 * sharedWith x threshold / p95.
 */
export function capacityFrom(
  inFlight: number,
  replicas: number,
  p95Ms: number,
  thresholdMs: number,
): number {
  return (sharedWith(inFlight, replicas) * thresholdMs) / p95Ms;
}
