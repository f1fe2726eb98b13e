/**
 * The length a model was trained to (config `bert_studio_trained_max_length`): a model pretrained
 * from scratch is never fed past it; and what the export measured (onnx/export.json) as the Models
 * view shows it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { accuracyDescription, exportSummaryLines, readExportSummary } from '../../../src/core/inference/exportInfo';
import { readModelConfig } from '../../../src/core/inference/folder';
import { dataDir, ensureFixtures } from './fixtures';
import { needSetup } from '../needSetup';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-length-'));
}

function writeConfig(dir: string, extra: Record<string, unknown>): void {
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['BertForMaskedLM'], max_position_embeddings: 512, vocab_size: 1000, ...extra }));
}

describe('model length and export figures', function () {
  this.timeout(300_000);

  it('readModelConfig: a from-scratch model reads no further than its trained length; a fine-tuned one keeps its positions', () => {
    const dir = tmp();
    writeConfig(dir, { max_position_embeddings: 40, bert_studio_trained_max_length: 36, bert_studio_from_scratch: true });
    assert.deepEqual([readModelConfig(dir).maxLength, readModelConfig(dir).trainedMaxLength], [36, 36]);
    writeConfig(dir, { bert_studio_trained_max_length: 128 });
    assert.deepEqual([readModelConfig(dir).maxLength, readModelConfig(dir).trainedMaxLength], [512, 128]);
    writeConfig(dir, { max_position_embeddings: 64 });
    assert.deepEqual([readModelConfig(dir).maxLength, readModelConfig(dir).trainedMaxLength], [64, undefined]);
    writeConfig(dir, { bert_studio_trained_max_length: 'x', bert_studio_from_scratch: true });
    assert.equal(readModelConfig(dir).maxLength, 512, 'a hand-edited value that is not a length is ignored');
  });

  it('the engine truncates a from-scratch model at its trained length, marks the text truncated, and says so in info()', async function () {
    const fx = ensureFixtures();
    needSetup(this, fx, 'inference fixtures (the venv Python and shared SST-2)');
    const dir = tmp();
    const src = path.join(fx.dir, 'sequence_classification', 'onnx');
    for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, bert_studio_trained_max_length: 24, bert_studio_from_scratch: true }));
    const engine = new InferenceEngine({ idleMs: 60_000 });
    try {
      const info = await engine.info(dir);
      assert.equal(info.maxLength, 24);
      assert.equal(info.trainedMaxLength, 24);
      const text = fs.readFileSync(path.join(dataDir(), 'sst2', 'dev.tsv'), 'utf8').split('\n').slice(1, 6).map((r) => r.split('\t')[0]).join(' ');
      const enc = await engine.encode(dir, text);
      assert.ok(enc.ids.length <= 24);
      const [c] = await engine.classify(dir, [text]);
      assert.equal(c.truncated, true);
      // [CLS], the first 22 text tokens and [SEP] decide: the same as the text cut there by hand.
      const textSpans = enc.spans.filter((s) => s !== null);
      assert.ok(textSpans.length >= 22);
      const cutAt = textSpans[21]![1];
      const [head] = await engine.classify(dir, [text.slice(0, cutAt)]);
      assert.equal(head.truncated, undefined);
      assert.ok(Math.abs(head.probability - c.probability) < 1e-5, `${head.probability} vs ${c.probability}`);
    } finally {
      await engine.dispose();
    }
  });

  it('reads onnx/export.json: fp32 and int8 figures beside each other; a broken or foreign file shows nothing', () => {
    const run = tmp();
    fs.mkdirSync(path.join(run, 'onnx'));
    const file = path.join(run, 'onnx', 'export.json');
    assert.equal(readExportSummary(run), undefined);
    fs.writeFileSync(file, JSON.stringify({ max_abs_diff: 3.2e-6, tolerance: 0.001, accuracy: { metric: 'accuracy', examples: 500, fp32: 0.862, int8: 0.851 } }));
    const s = readExportSummary(run);
    assert.equal(accuracyDescription(s), 'fp32 0.8620 · int8 0.8510');
    const lines = exportSummaryLines(s);
    assert.match(lines[0], /^ONNX accuracy on 500 validation examples: fp32 0\.8620, int8 0\.8510 \(int8 − fp32: -0\.0110\)$/);
    assert.match(lines[1], /max abs difference 3\.2e-6 \(tolerance 0\.001\)/);
    fs.writeFileSync(file, JSON.stringify({ max_abs_diff: 1e-6, accuracy: { metric: 'f1', examples: 40, fp32: 71.5, int8: null } }));
    assert.equal(accuracyDescription(readExportSummary(run)), 'fp32 71.5000');
    assert.match(exportSummaryLines(readExportSummary(run))[0], /int8 not exported/);
    fs.writeFileSync(file, '{"accuracy": ');
    assert.equal(readExportSummary(run), undefined);
    fs.writeFileSync(file, JSON.stringify({ accuracy: { metric: 3 } }));
    assert.equal(accuracyDescription(readExportSummary(run)), undefined);
    fs.rmSync(file);
    fs.mkdirSync(file);
    assert.equal(readExportSummary(run), undefined, 'a folder named export.json');
  });
});
