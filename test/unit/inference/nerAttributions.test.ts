// Token attributions of a token classifier through the host's client of the worker: a real CoNLL-2003
// run (a short worker fine-tune), the entity or word at a span or cursor given in UTF-16 offsets (an
// emoji before it), the target and every token placed back on the text's characters, completeness,
// the cache per span, and the refusals that name what works.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AttributionError, AttributionService, codePointOffset, utf16Offsets } from '../../../src/core/inference/attributions';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { buildSpec } from '../../../src/core/runs/spec';
import { needSetup } from '../needSetup';
import { DATA, PYTHON, ROOT } from './pairRun';

const CONLL = path.join(DATA, 'conll2003');

describe('token attributions of a named-entity model in the host', function () {
  this.timeout(900_000);
  let runDir: string;
  let workspace: string;
  const service = new AttributionService(async () => PYTHON, ROOT);

  before(async function () {
    needSetup(this, fs.existsSync(PYTHON) && fs.existsSync(path.join(CONLL, 'train.txt')), 'the venv (scripts/setup.sh) and the shared CoNLL-2003 data');
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-ner-ig-'));
    runDir = path.join(workspace, 'run');
    fs.mkdirSync(runDir);
    const spec = buildSpec({
      task: 'token_classification', model: 'default', train: path.join(CONLL, 'train.txt'), device: 'cpu', export: false, maxTrainSamples: 400,
      training: { max_steps: 30, per_device_train_batch_size: 16, max_seq_length: 64, learning_rate: 3e-4, eval_steps: 1000, save_steps: 1000 },
    });
    fs.writeFileSync(path.join(runDir, 'spec.json'), JSON.stringify(spec));
    const env = { ...process.env, ...workerEnv(ROOT), BERT_STUDIO_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
    await promisify(execFile)(PYTHON, ['-m', 'bert_studio_trainer', 'train', '--run-dir', runDir], { env, maxBuffer: 64 << 20 });
  });
  after(() => {
    service.dispose();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('maps UTF-16 offsets to code points and back', () => {
    const text = 'a😀b';
    assert.deepEqual([0, 1, 3, 4].map((u) => codePointOffset(text, u)), [0, 1, 2, 3]);
    assert.deepEqual([0, 1, 2, 3].map(utf16Offsets(text)), [0, 1, 3, 4]);
  });

  it('explains the word or entity at a cursor given in UTF-16, placed back on the text', async () => {
    const text = '😀 😀 Germany imposed a ban on British beef , the European Commission said in Brussels on Tuesday .';
    const cursor = text.indexOf('Brussels') + 2;
    const r = await service.attribute(runDir, { text, span: [cursor, cursor], steps: 50 });
    assert.equal(r.task, 'token_classification');
    const target = r.target!;
    assert.ok(target.start <= cursor && cursor < target.end, JSON.stringify(target));
    assert.equal(text.slice(target.start, target.end), target.text);
    assert.ok(target.text.includes('Brussels'), target.text);
    for (const e of r.entities ?? []) assert.equal(text.slice(e.start, e.end), e.text);
    for (const t of r.tokens) {
      const piece = text.slice(t.start, t.end);
      assert.equal(t.token === '[UNK]' ? piece : piece.toLowerCase(), t.token === '[UNK]' ? piece : t.token.replace(/^##/, ''), JSON.stringify(t));
    }
    assert.ok(r.completeness_error < 0.05, `completeness error ${r.completeness_error}`);
    assert.ok(Math.abs(r.delta - ((r.value ?? NaN) - (r.baseline_value ?? NaN))) < 1e-4);
    // Another span is another question (not the cached answer); the same span again is the cached one.
    const other = text.indexOf('Germany');
    const g = await service.attribute(runDir, { text, span: [other, other + 7], steps: 50 });
    assert.ok(g.target!.text.includes('Germany'), g.target!.text);
    assert.equal(await service.attribute(runDir, { text, span: [other, other + 7], steps: 50 }), g);
  });

  it('refuses a second text and a label target for a token classifier, saying what works', async () => {
    const text = 'Peter Blackburn went to Paris .';
    await assert.rejects(service.attribute(runDir, { text, pair: 'a second text' }), (e: Error) => e instanceof AttributionError && e.field === 'pair');
    await assert.rejects(service.attribute(runDir, { text, target: 'B-LOC' }), (e: Error) => e instanceof AttributionError && e.field === 'target' && /span/.test(e.message));
  });
});
