import * as assert from 'node:assert/strict';
import { LOG_LINES, RunModel } from '../../../src/core/dashboard/model';
import { B_COUNT, BUCKET_STRIDE, RUN_SUMMARY } from '../../../webview/dashboard/protocol';
import { SeriesStore } from '../../../webview/dashboard/seriesStore';
import type { RunEvent } from '../../../src/core/runs/protocol';
import { fakeRun } from './fakeRun';

describe('RunModel', () => {
  it('builds every series from a real-shaped classification run', () => {
    const m = new RunModel();
    m.ingest(fakeRun({ maxSteps: 2000, loggingSteps: 10, evalSteps: 200 }));
    const snap = m.snapshot();
    const names = snap.series.map((s) => s.name).sort();
    assert.deepEqual(names, ['eval/accuracy', 'eval/f1', 'eval/loss', 'eval/macro_f1', 'grad_norm', 'learning_rate', 'loss', 'memory_mb', 'samples_per_second', 'tokens_per_second']);
    const loss = snap.series.find((s) => s.name === 'loss');
    assert.equal(loss?.total, 200, '200 logged steps, one bucket each');
    const acc = snap.series.find((s) => s.name === 'eval/accuracy');
    assert.equal(acc?.total, 10);
    assert.equal(snap.summary.state, 'completed');
    assert.equal(snap.summary.step, 2000);
    assert.equal(snap.summary.maxSteps, 2000);
    assert.equal(snap.summary.etaSeconds, 0);
    assert.ok((snap.summary.latest.loss as number) > 0);
    assert.ok(snap.eval);
    assert.equal(snap.eval.step, 2000);
    assert.equal(snap.eval.tableKind, 'class');
    assert.deepEqual(snap.eval.table.map((r) => r.label), ['negative', 'positive']);
    assert.deepEqual(snap.eval.confusion?.labels, ['negative', 'positive']);
    assert.equal(snap.eval.misclassified.length, 24);
    assert.ok(snap.eval.misclassified.every((e) => e.openable));
    assert.ok(!('source' in (snap.eval.misclassified[0] as object)), 'paths stay on the host');
  });

  it('reads NER per-entity tables', () => {
    const m = new RunModel();
    m.ingest(fakeRun({ maxSteps: 400, task: 'token_classification' }));
    const report = m.evalReport();
    assert.equal(report?.tableKind, 'entity');
    assert.deepEqual(report?.table.map((r) => r.label), ['LOC', 'MISC', 'ORG', 'PER']);
    assert.equal(report?.confusion?.matrix.length, 5);
  });

  it('estimates progress and ETA of a live run from step timestamps', () => {
    const m = new RunModel();
    m.ingest(fakeRun({ maxSteps: 5000, upTo: 1000, stepSeconds: 0.1 }));
    m.setStatus({ state: 'running', pid: process.pid, step: 1000, max_steps: 5000 }, 'running');
    const s = m.summary();
    assert.equal(s.state, 'running');
    // 10 steps/s, less the evaluation pauses inside the window.
    assert.ok((s.stepsPerSecond as number) > 8.5 && (s.stepsPerSecond as number) < 10.5, `~10 steps/s, got ${s.stepsPerSecond}`);
    assert.ok(Math.abs((s.etaSeconds as number) - 4000 / (s.stepsPerSecond as number)) < 1e-6);
    m.setStatus({ state: 'running', pid: 1, step: 1000 }, 'interrupted');
    assert.equal(m.summary().state, 'interrupted');
    assert.equal(m.summary().etaSeconds, undefined, 'no ETA for a dead worker');
  });

  it('sends only what changed: a few buckets per tick, not whole series', () => {
    const all = fakeRun({ maxSteps: 100_000, loggingSteps: 10, evalSteps: 2000 });
    const m = new RunModel(1000);
    const replica = new SeriesStore();
    m.ingest(all.slice(0, 3000));
    const first = m.snapshot();
    replica.apply('r', true, first.series);
    let sent = 0;
    let ticks = 0;
    for (let i = 3000; i < all.length; i += 25) {
      m.ingest(all.slice(i, i + 25));
      const d = m.drain();
      assert.ok(replica.apply('r', false, d.series));
      for (const s of d.series) sent += s.buckets.length / BUCKET_STRIDE;
      ticks++;
    }
    const final = m.snapshot();
    for (const s of final.series) assert.deepEqual(replica.get('r', s.name), s.buckets, s.name);
    const loss = final.series.find((s) => s.name === 'loss');
    assert.ok(loss && loss.total <= 1000);
    const perTick = sent / ticks;
    assert.ok(perTick < 200, `about one bucket per series per tick plus rare resets, got ${perTick.toFixed(1)}`);
    const count = (loss?.buckets ?? []).filter((_, i) => i % BUCKET_STRIDE === B_COUNT).reduce((a, c) => a + c, 0);
    assert.equal(count, 10_000);
    assert.deepEqual(m.drain().series, []);
  });

  it('keeps the last 200 log lines and the log events in order', () => {
    const m = new RunModel();
    const events: RunEvent[] = Array.from({ length: 450 }, (_, i) => ({ type: 'log', ts: i, level: i % 100 === 0 ? 'warning' : 'info', message: `line ${i}` }));
    m.ingest(events);
    m.addLogLines(['worker says hi', '<script>alert(1)</script>']);
    const snap = m.snapshot();
    assert.equal(snap.logs.length, LOG_LINES);
    assert.equal(snap.logs.at(-1)?.text, '<script>alert(1)</script>', 'kept as text; the webview renders it with textContent');
    assert.equal(snap.logs.at(-3)?.text, 'line 449');
    m.addLogLines(['next']);
    assert.deepEqual(m.drain().logs.map((l) => l.text), ['next']);
  });

  it('gives an example back only for the eval the webview saw, and a valid index', () => {
    const m = new RunModel();
    m.ingest(fakeRun({ maxSteps: 400, sourceFile: 'data/dev.tsv' }));
    assert.equal(m.example(400, 3)?.source?.file, 'data/dev.tsv');
    assert.equal(m.example(200, 3), undefined, 'an older eval');
    assert.equal(m.example(400, 24), undefined);
    assert.equal(m.example(400, -1), undefined);
    assert.equal(m.example(400, 1.5), undefined);
  });

  it('serves full-resolution detail for a zoomed range', () => {
    const m = new RunModel(100);
    m.ingest(fakeRun({ maxSteps: 20_000, loggingSteps: 1, evalSteps: 1000 }));
    const loss = m.range(5000, 5100, 2000).find((s) => s.name === 'loss');
    assert.ok(loss);
    assert.equal(loss.total, 103, '101 steps at full resolution plus a neighbour each side');
  });

  it('shows trainable parameters and each block\'s learning rate, following gradual unfreezing', () => {
    const groups = (open: number): Record<string, unknown>[] =>
      ['head', 'layer.1', 'layer.0', 'embeddings'].map((name, i) => ({ name, params: 1000 * (i + 1), trainable: i < open, lr_scale: 0.5 ** i }));
    const m = new RunModel();
    const events = [
      { type: 'params', ts: 1, step: 0, trainable: 1000, total: 10_000, groups: groups(1), unfrozen_layers: 0 },
      { type: 'step', ts: 2, step: 1, loss: 0.7, learning_rate: 1e-4, group_learning_rates: { head: 1e-4, 'layer.1': 5e-5, 'layer.0': 2.5e-5, embeddings: 1.25e-5 } },
    ] as unknown as RunEvent[];
    m.ingest(events);
    let p = m.summary().params;
    assert.deepEqual(p && { trainable: p.trainable, total: p.total, open: p.unfrozenLayers }, { trainable: 1000, total: 10_000, open: 0 });
    assert.deepEqual(p?.groups.map((g) => [g.name, g.trainable, g.lr]), [['head', true, 1e-4], ['layer.1', false, 5e-5], ['layer.0', false, 2.5e-5], ['embeddings', false, 1.25e-5]]);
    assert.equal(RUN_SUMMARY.problem(m.summary()), undefined, 'the webview accepts the summary');
    m.ingest([{ type: 'params', ts: 3, step: 2, trainable: 3000, total: 10_000, groups: groups(2), unfrozen_layers: 1 }] as unknown as RunEvent[]);
    p = m.drain().summary?.params;
    assert.equal(p?.trainable, 3000, 'an unfreezing event updates the summary');
    assert.deepEqual(p?.groups.filter((g) => g.trainable).map((g) => g.name), ['head', 'layer.1']);
    // Without layer-wise decay the step events carry one rate: each block shows it times its scale.
    const plain = new RunModel();
    plain.ingest([
      { type: 'params', ts: 1, step: 0, trainable: 10_000, total: 10_000, groups: groups(4).map((g) => ({ ...g, lr_scale: 1 })) },
      { type: 'step', ts: 2, step: 1, loss: 0.7, learning_rate: 3e-5 },
    ] as unknown as RunEvent[]);
    assert.deepEqual(plain.summary().params?.groups.map((g) => g.lr), [3e-5, 3e-5, 3e-5, 3e-5]);
    assert.equal(new RunModel().summary().params, undefined, 'no params event, no table');
  });
});
