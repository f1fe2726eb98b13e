// After a resume the dashboard and the Runs view agree on the step: the resumed run's summary goes
// back to the checkpoint it continues from (not the last step logged before it was killed), then on.

import * as assert from 'node:assert/strict';
import { RunModel } from '../../../src/core/dashboard/model';
import type { RunEvent } from '../../../src/core/runs/protocol';
import { fakeRun } from './fakeRun';

describe('dashboard summary across a resume', () => {
  it('shows the step of the checkpoint a resume continues from, then the new steps', () => {
    // Checkpoints every 200 steps (fakeRun's evaluations); the worker was killed at step 330.
    const before = fakeRun({ maxSteps: 1000, upTo: 330 });
    const checkpoints = before.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step);
    const newest = Math.max(...checkpoints);
    assert.ok(newest < 330, `a checkpoint before the kill (${checkpoints})`);
    const m = new RunModel();
    m.ingest(before);
    assert.equal(m.summary().step, 330);
    const t = (before[before.length - 1] as RunEvent).ts + 60;
    m.ingest([{ type: 'status', ts: t, state: 'starting', message: 'resuming' }]);
    assert.equal(m.summary().step, newest, 'the Runs view says "resuming from step N" with the same N');
    const again = fakeRun({ maxSteps: 1000, upTo: 260 }).filter((e) => e.type === 'step' && e.step > newest);
    m.ingest([{ type: 'status', ts: t + 1, state: 'running' }, ...again]);
    assert.equal(m.summary().step, 260);
    m.ingest([{ type: 'status', ts: t + 2, state: 'starting', message: '' }]);
    assert.equal(m.summary().step, 260, 'only a resume goes back');
  });
});
