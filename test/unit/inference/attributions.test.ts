// Token attributions through the host's client of the worker (`attribute --serve`): a real MRPC pair
// classifier (tiny worker run), offsets in UTF-16 on both sentences (an emoji before a word), the
// completeness axiom, the cache, cancellation and a model that is not a classifier.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attributionModel, AttributionError, AttributionService, attributionTints, utf16Offsets } from '../../../src/core/inference/attributions';
import { needSetup } from '../needSetup';
import { fillMaskModelFolder } from './fixtures';
import { mrpcRows, pairRunAvailable, PYTHON, ROOT, tinyPairRun, type PairRun } from './pairRun';

describe('token attributions (Integrated Gradients) in the host', function () {
  this.timeout(600_000);
  let run: PairRun;
  const service = new AttributionService(async () => PYTHON, ROOT);

  before(async function () {
    needSetup(this, pairRunAvailable(), 'the venv (scripts/setup.sh) and the shared MRPC data');
    run = await tinyPairRun();
  });
  after(() => service.dispose());

  it('maps code points to UTF-16 offsets', () => {
    const at = utf16Offsets('a😀b');
    assert.deepEqual([0, 1, 2, 3].map(at), [0, 1, 3, 4]);
  });

  it('tints tokens by their share of the strongest attribution, both signs, none when negligible', () => {
    const t = (attribution: number) => ({ token: 'x', segment: 0, start: 0, end: 1, attribution });
    assert.deepEqual(attributionTints([t(0.4), t(-0.2), t(0.01), t(-0.4), t(0.05)]).map((x) => x.level), [5, -3, 0, -5, 1]);
    assert.deepEqual(attributionTints([t(0), t(0)]).map((x) => x.level), [0, 0]);
  });

  it('names the run folder for a run, its onnx/ and model/ folders', () => {
    for (const f of [run.runDir, path.join(run.runDir, 'onnx'), path.join(run.runDir, 'model')]) assert.equal(attributionModel(f), run.runDir);
  });

  it('attributes a sentence pair token by token, at the right characters, summing to the change in probability', async () => {
    const [, , , a, b] = mrpcRows(run.dev)[0];
    const text = `😀 ${a}`;
    const r = await service.attribute(path.join(run.runDir, 'onnx'), { text, pair: b, steps: 50 });
    assert.deepEqual(new Set(r.tokens.map((t) => t.segment)), new Set([0, 1]));
    for (const t of r.tokens) {
      const piece = (t.segment === 0 ? text : b).slice(t.start, t.end);
      // The emoji is out of the vocabulary: its [UNK] covers both of its UTF-16 units.
      assert.equal(piece.toLowerCase(), t.token === '[UNK]' ? piece.toLowerCase() : t.token.replace(/^##/, ''), JSON.stringify(t));
    }
    assert.deepEqual(r.tokens[0], { ...r.tokens[0], token: '[UNK]', start: 0, end: 2 });
    const sum = r.tokens.reduce((s, t) => s + t.attribution, 0);
    assert.ok(Math.abs(sum - r.sum) < 1e-4);
    assert.ok(r.completeness_error < 0.05, `completeness error ${r.completeness_error}`);
    assert.ok(Math.abs(r.delta - (r.probability - r.baseline_probability)) < 1e-6);
    // The same request again is answered from the cache.
    assert.equal(await service.attribute(run.runDir, { text, pair: b, steps: 50 }), r);
  });

  it('a cancelled request ends the worker, and the next one starts a fresh one', async () => {
    const [, , , a, b] = mrpcRows(run.dev)[1];
    const ac = new AbortController();
    const pending = service.attribute(run.runDir, { text: a, pair: b, steps: 400, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
    const r = await service.attribute(run.runDir, { text: a, pair: b, steps: 20 });
    assert.equal(r.steps, 20);
  });

  it('an unknown target label and a model that is not a classifier are refused with the fix', async () => {
    const [, , , a] = mrpcRows(run.dev)[2];
    await assert.rejects(service.attribute(run.runDir, { text: a, target: 'paraphrase?' }), (e: Error) => e instanceof AttributionError && /not one of the model's labels/.test(e.message));
    const fillMask = fillMaskModelFolder();
    if (!fs.existsSync(path.join(fillMask, 'spec.json'))) return;
    await assert.rejects(service.attribute(fillMask, { text: a }), (e: Error) => e instanceof AttributionError && /sequence classifier/.test(e.message));
  });
});
