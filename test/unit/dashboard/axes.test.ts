// Chart axes of the dashboard (webview/dashboard/axes.ts), the cases issue 18 reported: a step axis
// beyond the run, fractional step ticks, an accuracy axis up to 1.5, learning-rate labels cut off.

import * as assert from 'node:assert/strict';
import { axisWidth, realRange, stepLabel, stepRange, STEP_INCRS, stepTicks, tickLabels, valueRange } from '../../../webview/dashboard/axes';

describe('dashboard chart axes', () => {
  it('ends the step axis at the run length, or at the data without one', () => {
    assert.deepEqual(stepRange(85, 85), [0, 85], 'a run of 85 steps: not 150');
    assert.deepEqual(stepRange(40, 240), [0, 240], 'a live run: its whole length, so progress shows');
    assert.deepEqual(stepRange(85, undefined), [0, 85]);
    assert.deepEqual(stepRange(undefined, undefined), [0, 1]);
    assert.deepEqual(stepRange(300, 240), [0, 300], 'never cuts data off');
  });

  it('ticks steps on whole numbers only', () => {
    assert.ok(STEP_INCRS.every((i) => Number.isInteger(i)));
    assert.deepEqual(STEP_INCRS.slice(0, 8), [1, 2, 5, 10, 20, 25, 50, 100]);
    assert.deepEqual(stepTicks([2, 2.5, 3, 3.5]), [2, null, 3, null]);
    assert.deepEqual([0, 85, 12000, 2_500_000, 2.5].map((v) => stepLabel(v)), ['0', '85', '12k', '2.5M', '']);
  });

  it('keeps scores inside [0, 1] (or [0, 100] for percentages) and losses above 0', () => {
    const acc = valueRange(0.62, 0.97, realRange('eval/accuracy', 0.97));
    assert.ok(acc[1] <= 1 && acc[0] >= 0 && acc[0] < 0.62, `accuracy axis ${acc}`);
    assert.deepEqual(valueRange(1, 1, realRange('eval/f1', 1)), [0.9, 1], 'a perfect score stays under the top');
    const em = valueRange(40, 81.5, realRange('eval/exact_match', 81.5));
    assert.ok(em[1] <= 100 && em[1] > 81.5, `SQuAD exact_match in percent: ${em}`);
    const loss = valueRange(0.01, 2.3, realRange('loss', 2.3));
    assert.equal(loss[0], 0, 'no negative loss');
    assert.ok(loss[1] > 2.3 && loss[1] < 2.6);
    assert.deepEqual(realRange('eval/matthews', 0.5), undefined, 'unknown quantities are not clamped');
    const free = valueRange(-0.2, 0.4);
    assert.ok(free[0] < -0.2 && free[1] > 0.4);
  });

  it('labels learning-rate ticks in full and short, and makes room for them', () => {
    assert.deepEqual(tickLabels([0, 1e-5, 2e-5, 3e-5]), ['0', '1e-5', '2e-5', '3e-5']);
    assert.deepEqual(tickLabels([1.5e-5, 2e-5, 2.5e-5]), ['1.5e-5', '2e-5', '2.5e-5']);
    assert.deepEqual(tickLabels([0.25, 0.5, 0.75, 1]), ['0.25', '0.5', '0.75', '1']);
    assert.deepEqual(tickLabels([1000, 1500, 2000]), ['1000', '1500', '2000']);
    // Each label gives back its tick.
    for (const ticks of [[2.01e-5, 2.02e-5, 2.03e-5], [0.6, 0.65, 0.7], [0.001, 0.0015, 0.002]]) {
      const labels = tickLabels(ticks);
      labels.forEach((l, i) => assert.ok(Math.abs(Number(l) - (ticks[i] as number)) < 1e-9, `${l} for ${ticks[i]}`));
    }
    const perChar = (t: string): number => t.length * 6.5;
    const w = axisWidth(tickLabels([0, 1.5e-5, 3e-5, 4.5e-5]), perChar);
    assert.ok(w >= perChar('4.5e-5') + 10, `the axis (${w}px) holds its widest label`);
    assert.ok(axisWidth(['0', '1'], perChar) < w);
  });
});
