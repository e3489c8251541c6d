/**
 * A seeded pseudo-random generator whose whole state is one 32-bit integer (mulberry32), so the
 * trainer can save it in a checkpoint and replay the same shuffles after a resume.
 */
import { ArgumentError } from '../core/errors.js';

/**
 * @example
 * const rng = new SeededRandom(42);
 * const order = rng.permutation(10); // same order for the same seed on every machine
 * const saved = rng.state; // ... new SeededRandom(0, saved) continues the same stream
 */
export class SeededRandom {
  private s: number;

  constructor(seed: number, state?: number) {
    if (!Number.isInteger(seed)) throw new ArgumentError('seed', 'an integer', seed);
    this.s = (state ?? seed) >>> 0;
  }

  /** The generator's state (restore it with `new SeededRandom(seed, state)`). */
  get state(): number {
    return this.s;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
