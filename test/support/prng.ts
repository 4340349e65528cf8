/**
 * Seeded pseudo-random numbers for tests (mulberry32: 32 bits of state, fast, well mixed), so
 * every run checks the same cases and a failure replays from its seed.
 */

/** Uniform 32-bit unsigned integers. */
export function seededUint32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform numbers in [0, 1): the seededUint32 sequence divided by 2^32. */
export function seededRandom(seed: number): () => number {
  const next = seededUint32(seed);
  return () => next() / 0x1_0000_0000;
}

/** Uniform integers in [0, below): floor(seededRandom() * below). */
export function seededIntBelow(seed: number): (below: number) => number {
  const random = seededRandom(seed);
  return (below) => Math.floor(random() * below);
}
