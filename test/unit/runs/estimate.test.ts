// The wizard's estimate: steps as the worker counts them, time from an earlier run's own step events.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { estimateText, formatDuration, measuredThroughput, plannedSteps } from '../../../src/core/runs/estimate';
import type { RunInfo } from '../../../src/core/runs/store';

describe('run estimate', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-estimate-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("counts steps as the worker does: ceil(batches / accumulation) an epoch, epochs rounded up, max_steps first", () => {
    // SST-2's 67,349 training sentences at batch 16: the issue's "about 4,200 steps" for one epoch.
    assert.equal(plannedSteps({ examples: 67_349, epochs: 1, batchSize: 16 }), 4_210);
    assert.equal(plannedSteps({ examples: 67_349, epochs: 3, batchSize: 32, gradientAccumulation: 2 }), 3 * 1_053);
    assert.equal(plannedSteps({ examples: 100, epochs: 0.5, batchSize: 32 }), 2);
    assert.equal(plannedSteps({ examples: 10, epochs: 0.01, batchSize: 32 }), 1);
    assert.equal(plannedSteps({ examples: 67_349, epochs: 1, batchSize: 16, maxSteps: 500 }), 500);
  });

  it('times it from the newest earlier run of the same model, task and device, leaving warm-up out', () => {
    const run = (id: string, device: string, updated: number, rates: number[], model = 'default'): RunInfo => {
      const d = path.join(dir, id);
      fs.mkdirSync(d, { recursive: true });
      const lines = rates.map((r, i) => JSON.stringify({ type: 'step', ts: i, step: 10 * (i + 1), loss: 0.5, samples_per_second: r }));
      fs.writeFileSync(path.join(d, 'events.jsonl'), `${lines.join('\n')}\n{"type": "step", "samples_per`);
      return { id, dir: d, spec: { task: 'sequence_classification', model: { name_or_path: model }, device, name: `run ${id}` } as never, status: { updated } as never, state: 'completed', hasModel: true, hasOnnx: true };
    };
    const runs = [run('a', 'cpu', 1, [2, 40, 41, 42, 43]), run('b', 'cpu', 2, [3, 10, 12, 11, 13]), run('c', 'cuda', 3, [900, 1000]), run('d', 'cpu', 4, [99], 'bert-base-uncased')];
    const t = measuredThroughput(runs, 'default', 'sequence_classification', 'cpu');
    assert.deepEqual(t, { samplesPerSecond: 11.5, run: 'run b', device: 'cpu' });
    assert.equal(measuredThroughput(runs, 'default', 'token_classification', 'cpu'), undefined);
    const text = estimateText({ examples: 67_349, epochs: 1, batchSize: 16 }, t);
    assert.match(text, /^4,210 steps \(67,349 examples × 1 epoch \/ batch 16\); about 1\.6 h at 11\.5 samples\/s \(measured on run b, cpu\)$/);
    assert.match(estimateText({ examples: 1000, epochs: 2, batchSize: 8 }, undefined), /^250 steps .*no earlier run/);
    assert.deepEqual([formatDuration(30), formatDuration(600), formatDuration(7200), formatDuration(3 * 86400)], ['30 s', '10 min', '2.0 h', '3.0 days']);
  });
});
