// Exponential moving average as TensorBoard draws it: debiased, so the first points are not
// pulled towards zero. Runs in the webview over downsampled buckets; a bucket of n points with
// mean m updates the average as n points of value m would, so the smoothed curve does not change
// shape when the host coarsens its buckets.

/** Smoothing factor in [0, 1): 0 is the raw curve; 0.99 averages over roughly 100 points. */
export function clampSmoothing(s: number): number {
  if (!Number.isFinite(s) || s < 0) return 0;
  return Math.min(s, 0.999);
}

/** EMA of single points. */
export function ema(values: ArrayLike<number>, smoothing: number): number[] {
  const ones = new Array<number>(values.length).fill(1);
  return emaWeighted(values, ones, smoothing);
}

export interface EmaState {
  readonly last: number;
  readonly weight: number;
}

/**
 * EMA over (mean, count) pairs. `state` carries on from an earlier call, e.g. the buckets before
 * a zoomed range (see `emaWeightedState`).
 */
export function emaWeighted(means: ArrayLike<number>, counts: ArrayLike<number>, smoothing: number, state?: EmaState): number[] {
  const s = clampSmoothing(smoothing);
  const out = new Array<number>(means.length);
  let last = state?.last ?? 0;
  let weight = state?.weight ?? 0;
  for (let i = 0; i < means.length; i++) {
    const m = means[i] as number;
    const n = Math.max(1, counts[i] as number);
    const keep = s === 0 ? 0 : Math.pow(s, n);
    last = last * keep + (1 - keep) * m;
    weight = weight * keep + (1 - keep);
    out[i] = weight > 0 ? last / weight : m;
  }
  return out;
}

/** The EMA state after the given pairs, to seed a later call. */
export function emaWeightedState(means: ArrayLike<number>, counts: ArrayLike<number>, smoothing: number): EmaState {
  const s = clampSmoothing(smoothing);
  let last = 0;
  let weight = 0;
  for (let i = 0; i < means.length; i++) {
    const keep = s === 0 ? 0 : Math.pow(s, Math.max(1, counts[i] as number));
    last = last * keep + (1 - keep) * (means[i] as number);
    weight = weight * keep + (1 - keep);
  }
  return { last, weight };
}
