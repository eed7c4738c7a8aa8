// A small seeded PRNG (mulberry32) and helpers for the AsyncChat randomized tests: a failing run
// is reproduced from the seed its message prints.

export type Random = () => number;  // uniform in [0, 1)

export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max]. */
export function randInt(rand: Random, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

/** `n` bytes drawn from `alphabet`. */
export function randBytes(rand: Random, n: number, alphabet: Uint8Array): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = alphabet[Math.floor(rand() * alphabet.length)]!;
  return out;
}

/**
 * `data` cut at random points into views, as reads of a socket would return it. `maxPiece` bounds
 * a piece; about half the pieces are a single byte, so that every boundary gets split somewhere.
 */
export function randomCuts(rand: Random, data: Buffer, maxPiece: number): Buffer[] {
  const pieces: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    const n = rand() < 0.5 ? 1 : randInt(rand, 1, maxPiece);
    pieces.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return pieces;
}
