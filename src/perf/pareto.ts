/**
 * The Pareto front of throughput against p99 latency: the configurations no other one beats on
 * both at once. A point is dominated when another has at least its throughput and at most its
 * p99 and is strictly better on one of them; the front is every point not dominated. Equal
 * points do not dominate each other, so both stay on the front. A point without a p99 (no
 * latency measured) counts as infinitely slow.
 */
export interface TradeoffPoint {
  recordsPerSec: number;
  p99Ms: number | null;
}

/** flags[i] is true when points[i] is on the front. O(n log n). */
export function paretoFront(points: readonly TradeoffPoint[]): boolean[] {
  const order = points.map((_, i) => i);
  const p99 = (i: number): number => points[i].p99Ms ?? Number.POSITIVE_INFINITY;
  // Best throughput first; among equal throughput, best latency first.
  order.sort((a, b) => points[b].recordsPerSec - points[a].recordsPerSec || p99(a) - p99(b));
  const flags = new Array<boolean>(points.length).fill(false);
  let bestP99 = Number.POSITIVE_INFINITY;
  let i = 0;
  while (i < order.length) {
    // A run of equal throughput: its best latency is on the front unless a faster point had lower
    // or equal latency (nothing is faster than the first run); its other members are dominated
    // by that best one, or equal to it.
    let j = i;
    while (j < order.length && points[order[j]].recordsPerSec === points[order[i]].recordsPerSec) j++;
    const runBest = p99(order[i]);
    if (i === 0 || runBest < bestP99) {
      for (let k = i; k < j && p99(order[k]) === runBest; k++) flags[order[k]] = true;
      bestP99 = runBest;
    }
    i = j;
  }
  return flags;
}
