import * as assert from 'node:assert/strict';
import { ema, emaWeighted, emaWeightedState } from '../../../src/shared/smoothing';
import { estimateEta, StepRate } from '../../../src/core/dashboard/eta';

describe('EMA smoothing', () => {
  it('is the identity at 0 and debiased from the first point', () => {
    assert.deepEqual(ema([3, 1, 4], 0), [3, 1, 4]);
    const s = ema([2, 2, 2], 0.9);
    for (const v of s) assert.ok(Math.abs(v - 2) < 1e-12, 'a constant stays constant (no pull towards 0)');
  });

  it('matches the TensorBoard formula', () => {
    const out = ema([1, 0], 0.5);
    assert.equal(out[0], 1);
    // last = 0.5 * 0.5 + 0.5 * 0 = 0.25; weight = 0.75
    assert.ok(Math.abs((out[1] as number) - 0.25 / 0.75) < 1e-12);
  });

  it('treats a bucket of n equal points like n points', () => {
    const points = [5, 5, 5, 1, 1, 2, 2, 2, 2];
    const byPoint = ema(points, 0.8);
    const byBucket = emaWeighted([5, 1, 2], [3, 2, 4], 0.8);
    assert.ok(Math.abs((byBucket[0] as number) - (byPoint[2] as number)) < 1e-12);
    assert.ok(Math.abs((byBucket[1] as number) - (byPoint[4] as number)) < 1e-12);
    assert.ok(Math.abs((byBucket[2] as number) - (byPoint[8] as number)) < 1e-12);
  });

  it('carries its state into a later range', () => {
    const all = emaWeighted([4, 3, 2, 1], [1, 1, 1, 1], 0.7);
    const state = emaWeightedState([4, 3], [1, 1], 0.7);
    const rest = emaWeighted([2, 1], [1, 1], 0.7, state);
    assert.ok(Math.abs((rest[1] as number) - (all[3] as number)) < 1e-12);
  });

  it('clamps a smoothing of 1 or more so the curve still moves', () => {
    const out = ema([0, 10, 10, 10], 1.5);
    assert.ok((out[3] as number) > 0);
  });
});

describe('ETA', () => {
  it('is exact at a constant rate', () => {
    const rate = new StepRate(10);
    for (let s = 0; s <= 100; s += 10) rate.add(s, 1000 + s / 4);
    const eta = rate.estimate(500);
    assert.ok(Math.abs((eta.stepsPerSecond as number) - 4) < 1e-9);
    assert.ok(Math.abs((eta.etaSeconds as number) - 100) < 1e-9);
  });

  it('follows a change of speed within its window', () => {
    const rate = new StepRate(5);
    let t = 0;
    for (let s = 1; s <= 50; s++) rate.add(s, (t += 1));
    for (let s = 51; s <= 60; s++) rate.add(s, (t += 0.5));
    assert.ok(Math.abs((rate.estimate(100).stepsPerSecond as number) - 2) < 1e-9);
  });

  it('restarts after a resume and says nothing without two samples', () => {
    const rate = new StepRate();
    rate.add(100, 10);
    rate.add(200, 20);
    rate.add(150, 5000); // resumed from an earlier checkpoint, much later
    assert.deepEqual(rate.estimate(1000), {});
    rate.add(160, 5001);
    assert.equal(rate.estimate(1000).stepsPerSecond, 10);
    assert.deepEqual(estimateEta([{ step: 1, ts: 1 }], 10), {});
    assert.deepEqual(estimateEta([{ step: 1, ts: 1 }, { step: 2, ts: 1 }], 10), {});
    assert.deepEqual(estimateEta([{ step: 1, ts: 1 }, { step: 3, ts: 2 }], undefined), { stepsPerSecond: 2 });
  });
});
