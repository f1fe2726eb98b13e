// Downsampling for the dashboard's curves. A chart is a few hundred to a few thousand pixels wide,
// so a series never needs more than a couple of thousand points; what it must not lose are the
// spikes. Both downsamplers keep, per x bucket, the lowest and the highest point (so extremes
// survive at every zoom level) and the mean and count (so the webview can smooth without the raw
// data). Wire format: see BUCKET_STRIDE in webview/dashboard/protocol.ts.

import { BUCKET_STRIDE, type SeriesDelta } from '../../../webview/dashboard/protocol';

interface Bucket {
  key: number;
  xLo: number;
  yLo: number;
  xHi: number;
  yHi: number;
  sum: number;
  n: number;
}

function newBucket(key: number, x: number, y: number): Bucket {
  return { key, xLo: x, yLo: y, xHi: x, yHi: y, sum: y, n: 1 };
}

function addTo(b: Bucket, x: number, y: number): void {
  if (y < b.yLo || (y === b.yLo && x < b.xLo)) {
    b.yLo = y;
    b.xLo = x;
  }
  if (y > b.yHi || (y === b.yHi && x > b.xHi)) {
    b.yHi = y;
    b.xHi = x;
  }
  b.sum += y;
  b.n += 1;
}

function merge(into: Bucket, b: Bucket): void {
  if (b.yLo < into.yLo) {
    into.yLo = b.yLo;
    into.xLo = b.xLo;
  }
  if (b.yHi > into.yHi) {
    into.yHi = b.yHi;
    into.xHi = b.xHi;
  }
  into.sum += b.sum;
  into.n += b.n;
}

function pushWire(out: number[], b: Bucket): void {
  out.push(b.xLo, b.yLo, b.xHi, b.yHi, b.sum / b.n, b.n);
}

/**
 * A series downsampled as it grows. Buckets are `width` steps wide; when there are more than
 * `maxBuckets`, the width doubles and neighbours merge, so memory and message size stay bounded
 * however long the run. Appends only touch the last bucket or add new ones, so `drain()` usually
 * returns a handful of buckets; after a coarsening it returns them all (`from` 0).
 */
export class StreamingBuckets {
  private buckets: Bucket[] = [];
  private width = 1;
  /** Lowest bucket index changed since the last drain; Infinity when none. */
  private dirtyFrom = Infinity;
  private rebuilt = false;

  constructor(readonly maxBuckets = 2000) {
    if (maxBuckets < 2) throw new Error('maxBuckets must be at least 2');
  }

  get size(): number {
    return this.buckets.length;
  }

  get bucketWidth(): number {
    return this.width;
  }

  add(x: number, y: number): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const key = Math.floor(x / this.width);
    const last = this.buckets[this.buckets.length - 1];
    let index: number;
    if (last && key === last.key) {
      addTo(last, x, y);
      index = this.buckets.length - 1;
    } else if (!last || key > last.key) {
      this.buckets.push(newBucket(key, x, y));
      index = this.buckets.length - 1;
    } else {
      // Out of order (a resumed run logs again from its checkpoint's step): find or insert.
      index = this.search(key);
      const at = this.buckets[index];
      if (at && at.key === key) addTo(at, x, y);
      else this.buckets.splice(index, 0, newBucket(key, x, y));
    }
    if (index < this.dirtyFrom) this.dirtyFrom = index;
    if (this.buckets.length > this.maxBuckets) this.coarsen();
  }

  /** First index whose key is >= key. */
  private search(key: number): number {
    let lo = 0;
    let hi = this.buckets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.buckets[mid] as Bucket).key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private coarsen(): void {
    while (this.buckets.length > this.maxBuckets) {
      this.width *= 2;
      const merged: Bucket[] = [];
      for (const b of this.buckets) {
        const key = Math.floor(b.key / 2);
        const last = merged[merged.length - 1];
        if (last && last.key === key) merge(last, b);
        else merged.push({ ...b, key });
      }
      this.buckets = merged;
    }
    this.rebuilt = true;
    this.dirtyFrom = 0;
  }

  /** Everything, as a reset delta. */
  snapshot(name: string): SeriesDelta {
    const out: number[] = [];
    for (const b of this.buckets) pushWire(out, b);
    return { name, from: 0, total: this.buckets.length, buckets: out };
  }

  /** What changed since the last drain, or undefined when nothing did. */
  drain(name: string): SeriesDelta | undefined {
    if (this.dirtyFrom === Infinity && !this.rebuilt) return undefined;
    const from = this.rebuilt ? 0 : this.dirtyFrom;
    const out: number[] = [];
    for (let i = from; i < this.buckets.length; i++) pushWire(out, this.buckets[i] as Bucket);
    this.dirtyFrom = Infinity;
    this.rebuilt = false;
    return { name, from, total: this.buckets.length, buckets: out };
  }

  /** Marks everything as sent (after a snapshot). */
  markClean(): void {
    this.dirtyFrom = Infinity;
    this.rebuilt = false;
  }
}

/** Full-resolution points of one series, kept for zooming; grows by doubling. */
export class RawSeries {
  private xs = new Float64Array(256);
  private ys = new Float64Array(256);
  private n = 0;
  /** True while x only grew: a zoom then finds its range by binary search. */
  private sorted = true;

  get length(): number {
    return this.n;
  }

  push(x: number, y: number): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    if (this.n === this.xs.length) {
      const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.xs = grow(this.xs);
      this.ys = grow(this.ys);
    }
    if (this.n > 0 && x < (this.xs[this.n - 1] as number)) this.sorted = false;
    this.xs[this.n] = x;
    this.ys[this.n] = y;
    this.n++;
  }

  /** Points with x in [x0, x1] in `buckets` equal-width buckets, plus the nearest point outside each end. */
  downsample(name: string, x0: number, x1: number, buckets: number): SeriesDelta {
    if (!this.sorted) return downsampleRange(name, this.xs.subarray(0, this.n), this.ys.subarray(0, this.n), x0, x1, buckets);
    // Only the points in range and one neighbour each side.
    const lo = Math.max(0, lowerBound(this.xs, this.n, x0) - 1);
    const hi = Math.min(this.n, upperBound(this.xs, this.n, x1) + 1);
    return downsampleRange(name, this.xs.subarray(lo, hi), this.ys.subarray(lo, hi), x0, x1, buckets);
  }
}

/** First index with xs[i] >= x. */
function lowerBound(xs: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with xs[i] > x. */
function upperBound(xs: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Min/max/mean buckets of the points with x in [x0, x1]; works on unsorted x. The nearest point
 * before x0 and after x1 come along as one-point buckets so a line runs to the chart's edges.
 * The result holds at most `buckets + 2` buckets.
 */
export function downsampleRange(name: string, xs: ArrayLike<number>, ys: ArrayLike<number>, x0: number, x1: number, buckets: number): SeriesDelta {
  const count = Math.max(1, Math.floor(buckets));
  const span = x1 - x0;
  const slots: (Bucket | undefined)[] = new Array<Bucket | undefined>(count);
  let before: Bucket | undefined;
  let after: Bucket | undefined;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    const y = ys[i] as number;
    if (x < x0) {
      if (!before || x > before.xLo) before = newBucket(-1, x, y);
      continue;
    }
    if (x > x1) {
      if (!after || x < after.xLo) after = newBucket(count, x, y);
      continue;
    }
    const k = span > 0 ? Math.min(count - 1, Math.floor(((x - x0) / span) * count)) : 0;
    const b = slots[k];
    if (b) addTo(b, x, y);
    else slots[k] = newBucket(k, x, y);
  }
  const out: number[] = [];
  if (before) pushWire(out, before);
  for (const b of slots) if (b) pushWire(out, b);
  if (after) pushWire(out, after);
  return { name, from: 0, total: out.length / BUCKET_STRIDE, buckets: out };
}
