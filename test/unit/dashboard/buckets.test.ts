import * as assert from 'node:assert/strict';
import { downsampleRange, RawSeries, StreamingBuckets } from '../../../src/core/dashboard/buckets';
import { B_COUNT, B_MEAN, B_XHI, B_XLO, B_YHI, B_YLO, BUCKET_STRIDE } from '../../../webview/dashboard/protocol';
import { SeriesStore } from '../../../webview/dashboard/seriesStore';
import { rng } from './fakeRun';

function column(b: readonly number[], k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < b.length; i += BUCKET_STRIDE) out.push(b[i + k] as number);
  return out;
}

describe('StreamingBuckets', () => {
  it('stays bounded and keeps the extremes, counts and mean of 200k noisy points', () => {
    const r = rng(7);
    const s = new StreamingBuckets(2000);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    const n = 200_000;
    for (let x = 1; x <= n; x++) {
      const y = Math.exp(-x / 50_000) + (r() - 0.5) * 0.2 + (x === 123_457 ? 5 : 0) - (x === 77_777 ? 3 : 0);
      min = Math.min(min, y);
      max = Math.max(max, y);
      sum += y;
      s.add(x, y);
      assert.ok(s.size <= 2000);
    }
    const b = s.snapshot('loss').buckets;
    assert.ok(b.length / BUCKET_STRIDE >= 1000, 'coarsening halves at most once past the limit');
    assert.equal(Math.min(...column(b, B_YLO)), min);
    assert.equal(Math.max(...column(b, B_YHI)), max);
    assert.ok(column(b, B_XHI).includes(123_457), 'the spike keeps its x');
    assert.ok(column(b, B_XLO).includes(77_777), 'the dip keeps its x');
    const counts = column(b, B_COUNT);
    assert.equal(counts.reduce((a, c) => a + c, 0), n);
    const total = column(b, B_MEAN).reduce((a, m, i) => a + m * (counts[i] as number), 0);
    assert.ok(Math.abs(total - sum) < 1e-6 * n);
    const xs = column(b, B_XLO);
    for (let i = 1; i < xs.length; i++) assert.ok((xs[i] as number) > (xs[i - 1] as number), 'buckets stay in x order');
  });

  it('incremental drains rebuild exactly the snapshot on the webview side, across coarsenings', () => {
    const r = rng(3);
    const s = new StreamingBuckets(64);
    const replica = new SeriesStore();
    let small = 0;
    let resets = 0;
    for (let x = 0; x < 5000; x++) {
      s.add(x * 10, r());
      if (x % 7 === 0) {
        const d = s.drain('loss');
        if (d) {
          assert.ok(replica.apply('run', false, [d]));
          if (d.from === 0) resets++;
          else if (d.buckets.length <= 2 * BUCKET_STRIDE) small++;
        }
      }
    }
    const d = s.drain('loss');
    if (d) assert.ok(replica.apply('run', false, [d]));
    assert.deepEqual(replica.get('run', 'loss'), s.snapshot('loss').buckets);
    assert.ok(small > resets * 10, `appends are mostly small (${small} small, ${resets} resets)`);
    assert.equal(s.drain('loss'), undefined, 'nothing new, nothing sent');
  });

  it('takes out-of-order points (a resume) into the right bucket', () => {
    const s = new StreamingBuckets(100);
    for (let x = 1; x <= 50; x++) s.add(x, 1);
    s.drain('loss');
    s.add(20, 9);
    const d = s.drain('loss');
    assert.ok(d);
    assert.equal(d.from, 19);
    assert.equal(d.total, 50);
    const b = s.snapshot('loss').buckets;
    assert.equal(b[19 * BUCKET_STRIDE + B_YHI], 9);
    assert.equal(b[19 * BUCKET_STRIDE + B_COUNT], 2);
  });

  it('ignores NaN and infinite values', () => {
    const s = new StreamingBuckets(10);
    s.add(1, Number.NaN);
    s.add(2, Infinity);
    s.add(Number.NaN, 1);
    assert.equal(s.size, 0);
  });
});

describe('downsampleRange', () => {
  it('returns at most buckets + 2 buckets for the range, with its extremes and one neighbour each side', () => {
    const raw = new RawSeries();
    const r = rng(11);
    for (let x = 0; x < 100_000; x++) raw.push(x, x === 50_500 ? 10 : r());
    const d = raw.downsample('loss', 50_000, 51_000, 100);
    const n = d.buckets.length / BUCKET_STRIDE;
    assert.ok(n <= 102 && n >= 100);
    assert.equal(d.total, n);
    const xLo = column(d.buckets, B_XLO);
    assert.equal(xLo[0], 49_999, 'the point before the range');
    assert.equal(xLo.at(-1), 51_001, 'the point after the range');
    assert.equal(Math.max(...column(d.buckets, B_YHI)), 10);
    const inside = column(d.buckets, B_COUNT).slice(1, -1).reduce((a, c) => a + c, 0);
    assert.equal(inside, 1001);
  });

  it('handles an empty range and unsorted x', () => {
    assert.equal(downsampleRange('x', [], [], 0, 1, 10).total, 0);
    const d = downsampleRange('x', [5, 1, 3], [50, 10, 30], 0, 10, 10);
    assert.deepEqual(column(d.buckets, B_XLO), [1, 3, 5]);
  });
});

describe('RawSeries zoom', () => {
  it('gives the same answer by binary search (sorted x) as by a full scan (after a resume)', () => {
    const sorted = new RawSeries();
    const resumed = new RawSeries();
    const r = rng(5);
    const ys: number[] = [];
    for (let x = 0; x < 10_000; x++) ys.push(r());
    ys.forEach((y, x) => sorted.push(x, y));
    // Same points, but steps 9000.. logged again after 9500 (a resume): x goes back.
    ys.slice(0, 9500).forEach((y, x) => resumed.push(x, y));
    ys.slice(9500).forEach((y, i) => resumed.push(9500 + i, y));
    resumed.push(9000, 0.5);
    const a = sorted.downsample('loss', 2000, 3000, 50);
    const b = resumed.downsample('loss', 2000, 3000, 50);
    assert.deepEqual(a, b);
  });
});
