// Sentence pairs at inference: a real MRPC model (trained briefly by the worker) served by the host
// engine with both segments and their segment ids gives the worker's own predictions, example by
// example, on the same MRPC dev rows; `predict --pair` prints the same.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runPredictCommand } from '../../../src/cli/commands/infer';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { evaluateRun, resolveEvalData } from '../../../src/core/runs/evaluate';
import { needSetup } from '../needSetup';
import { DEV_ROWS, mrpcRows, pairRunAvailable, PYTHON, ROOT, tinyPairRun, type PairRun } from './pairRun';

interface WorkerPrediction { index: number; text: string; text_pair: string; gold: string; pred: string; probabilities: Record<string, number>; source: { line: number } }

describe('sentence pairs through the host engine', function () {
  this.timeout(600_000);
  let run: PairRun;
  let worker: WorkerPrediction[];
  let accuracy: number;
  const engine = new InferenceEngine({ precision: 'fp32', idleMs: 60_000 });

  before(async function () {
    needSetup(this, pairRunAvailable(), 'the venv (scripts/setup.sh) and the shared MRPC data');
    run = await tinyPairRun();
    const report = await evaluateRun({ python: PYTHON, model: run.runDir, data: await resolveEvalData(run.dev, ''), packageRoot: ROOT, device: 'cpu' });
    accuracy = report.metrics.accuracy as number;
    worker = fs.readFileSync(path.join(report.out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as WorkerPrediction);
  });
  after(() => engine.dispose());

  it('knows from the model that it classifies pairs (config bert_studio_text_pair), so the editor sends two segments', async () => {
    const info = await engine.info(path.join(run.runDir, 'onnx'));
    assert.equal(info.textPair, true);
    const config = JSON.parse(fs.readFileSync(path.join(run.runDir, 'model', 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.bert_studio_text_pair, true);
  });

  it('sends segment ids: 0 for the first sentence, 1 for the second', async () => {
    const [, , , a, b] = mrpcRows(run.dev)[0];
    const enc = await engine.encode(path.join(run.runDir, 'onnx'), a, b);
    const sep = enc.segments.indexOf(1);
    assert.ok(sep > 1 && enc.typeIds.slice(0, sep).every((t) => t === 0) && enc.typeIds.slice(sep).every((t) => t === 1), `typeIds ${enc.typeIds.join(' ')}`);
  });

  it("gives the worker's predictions and accuracy on the same MRPC examples", async () => {
    const rows = mrpcRows(run.dev);
    assert.equal(rows.length, DEV_ROWS);
    const onnx = path.join(run.runDir, 'onnx');
    const host = await engine.classify(onnx, rows.map((r) => r[3]), { pairs: rows.map((r) => r[4]) });
    const byIndex = new Map(worker.map((w) => [w.index, w]));
    let correct = 0;
    let maxDiff = 0;
    rows.forEach((r, i) => {
      const w = byIndex.get(i);
      assert.ok(w && w.text === r[3] && w.text_pair === r[4] && w.source.line === i + 2, `worker row ${i}`);
      assert.equal(host[i].label, w.pred, `example ${i} (line ${i + 2}): host ${host[i].label}, worker ${w.pred}`);
      for (const p of host[i].probabilities) maxDiff = Math.max(maxDiff, Math.abs(p.probability - w.probabilities[p.label]));
      if (host[i].label === r[0]) correct++;
    });
    assert.equal(correct / rows.length, accuracy, 'host accuracy equals the worker evaluation');
    assert.ok(maxDiff < 1e-3, `probabilities within 1e-3 of the worker's (max diff ${maxDiff})`);
    // One segment instead of two is another input: the probabilities move (the pair is not ignored).
    const single = await engine.classify(onnx, rows.map((r) => r[3]));
    const moved = single.some((c, i) => Math.abs(c.probabilities[0].probability - host[i].probabilities[0].probability) > 1e-3);
    assert.ok(moved, 'classifying the first sentence alone gives other probabilities');
  });

  it('predict --pair classifies the pair as the engine does', async () => {
    const [, , , a, b] = mrpcRows(run.dev)[1];
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (d: Buffer) => (text += d.toString()));
    assert.equal(await runPredictCommand(['--json', '--model', run.runDir, '--pair', b, a], { stdout, stderr: new PassThrough() }), 0);
    const row = JSON.parse(text) as { text: string; text_pair: string; label: string; probability: number };
    const [expected] = await engine.classify(path.join(run.runDir, 'onnx'), [a], { pairs: [b] });
    assert.equal(row.text_pair, b);
    assert.equal(row.label, expected.label);
    assert.ok(Math.abs(row.probability - expected.probability) < 1e-6);
  });
});
