// The webview's copy of each visible run's downsampled series, kept in step with the host by
// applying its deltas (drop buckets from `from`, append the new ones).

import { B_COUNT, B_MEAN, B_XHI, B_XLO, B_YHI, B_YLO, BUCKET_STRIDE, type SeriesDelta } from './protocol';
import { emaWeighted } from '../../src/shared/smoothing';

export type Buckets = number[];

export class SeriesStore {
  private readonly runs = new Map<string, Map<string, Buckets>>();

  /** Applies deltas; returns false when one did not line up (the caller asks for a reset). */
  apply(runId: string, reset: boolean, deltas: readonly SeriesDelta[]): boolean {
    let run = this.runs.get(runId);
    if (!run || reset) {
      run = new Map();
      this.runs.set(runId, run);
    }
    let ok = true;
    for (const d of deltas) {
      let b = run.get(d.name);
      if (!b) {
        b = [];
        run.set(d.name, b);
      }
      const keep = d.from * BUCKET_STRIDE;
      if (keep > b.length) ok = false;
      b.length = Math.min(b.length, keep);
      // A loop, not push(...): a reset can carry tens of thousands of numbers.
      for (let i = 0; i < d.buckets.length; i++) b.push(d.buckets[i] as number);
      if (b.length !== d.total * BUCKET_STRIDE) ok = false;
    }
    return ok;
  }

  get(runId: string, name: string): Buckets | undefined {
    return this.runs.get(runId)?.get(name);
  }

  names(runId: string): string[] {
    return [...(this.runs.get(runId)?.keys() ?? [])];
  }

  drop(keep: ReadonlySet<string>): void {
    for (const id of [...this.runs.keys()]) if (!keep.has(id)) this.runs.delete(id);
  }

  clear(): void {
    this.runs.clear();
  }
}

/** x/y lists of a series for drawing. */
export interface Line {
  readonly xs: number[];
  readonly ys: number[];
}

/** Each bucket's lowest and highest point, in x order: the raw curve with its spikes. */
export function envelope(b: Buckets): Line {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < b.length; i += BUCKET_STRIDE) {
    const xLo = b[i + B_XLO] as number;
    const xHi = b[i + B_XHI] as number;
    const yLo = b[i + B_YLO] as number;
    const yHi = b[i + B_YHI] as number;
    if ((b[i + B_COUNT] as number) === 1 || xLo === xHi) {
      xs.push(xLo);
      ys.push(yLo);
    } else if (xLo < xHi) {
      xs.push(xLo, xHi);
      ys.push(yLo, yHi);
    } else {
      xs.push(xHi, xLo);
      ys.push(yHi, yLo);
    }
  }
  return { xs, ys };
}

/** The envelope's x positions with the EMA of the bucket means (both points of a bucket share it). */
export function smoothedEnvelope(b: Buckets, smoothing: number): { raw: Line; smooth: number[] } {
  const raw = envelope(b);
  const means: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < b.length; i += BUCKET_STRIDE) {
    means.push(b[i + B_MEAN] as number);
    counts.push(b[i + B_COUNT] as number);
  }
  const ema = emaWeighted(means, counts, smoothing);
  const smooth: number[] = [];
  for (let k = 0, i = 0; i < b.length; i += BUCKET_STRIDE, k++) {
    const twoPoints = (b[i + B_COUNT] as number) !== 1 && b[i + B_XLO] !== b[i + B_XHI];
    smooth.push(ema[k] as number);
    if (twoPoints) smooth.push(ema[k] as number);
  }
  return { raw, smooth };
}

/** One point per bucket: its mean (or its peak), at the middle of its extremes. */
export function perBucket(b: Buckets, value: 'mean' | 'max'): Line {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < b.length; i += BUCKET_STRIDE) {
    xs.push(((b[i + B_XLO] as number) + (b[i + B_XHI] as number)) / 2);
    ys.push(value === 'max' ? (b[i + B_YHI] as number) : (b[i + B_MEAN] as number));
  }
  return { xs, ys };
}
