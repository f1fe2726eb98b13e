import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { aggregateEntities } from '../../../src/core/inference/postprocess';
import { ensureFillMaskModel, useFixtures } from './fixtures';
import { needSetup } from '../needSetup';

describe('inference engine against PyTorch (tiny exported models)', function () {
  this.timeout(300_000);
  const fx = useFixtures();
  const engine = new InferenceEngine({ idleMs: 60_000 });
  const model = (task: string): string => path.join(fx.dir, task);
  after(() => engine.dispose());

  it('classifies SST-2 dev sentences with the logits PyTorch gives (1e-4), batched with padding', async () => {
    const ref = fx.reference;
    const [out] = await engine.logits(model('sequence_classification'), ref.sst2);
    assert.deepEqual(out.dims, [ref.sst2.length, 2]);
    ref.sst2_logits.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(out.data[i * 2 + j] - v) < 1e-4, `sentence ${i} label ${j}: ${out.data[i * 2 + j]} vs ${v}`)));
    const labels = await engine.classify(model('sequence_classification'), ref.sst2);
    labels.forEach((c, i) => {
      const best = ref.sst2_logits[i][0] > ref.sst2_logits[i][1] ? 'negative' : 'positive';
      assert.equal(c.label, best);
      assert.ok(Math.abs(c.probabilities.reduce((a, p) => a + p.probability, 0) - 1) < 1e-6);
    });
  });

  it('tokenizes like the Python tokenizer, with its character offsets (emoji, accents, CJK, \\r\\n)', async () => {
    for (const c of fx.reference.offsets) {
      const enc = await engine.encode(model('token_classification'), c.text);
      assert.deepEqual(enc.ids, c.ids, c.text);
      enc.spans.forEach((span, i) => {
        const expected = c.offsets[i];
        if (expected[0] === expected[1]) assert.equal(span, null, `token ${i} ${enc.tokens[i]}`);
        else assert.deepEqual(span, expected, `token ${i} ${enc.tokens[i]} in ${JSON.stringify(c.text)}`);
      });
    }
  });

  it('aggregates entities at the offsets Python gives, each span slicing the original text', async () => {
    const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'];
    for (const c of fx.reference.offsets) {
      const entities = await engine.tokenClassify(model('token_classification'), c.text);
      const enc = await engine.encode(model('token_classification'), c.text);
      const expected = aggregateEntities(
        c.text,
        c.labels.map((l, i) => ({
          span: c.offsets[i][0] === c.offsets[i][1] ? null : c.offsets[i],
          continuation: enc.tokens[i].startsWith('##'),
          label: labels[l],
          probability: c.probabilities[i],
        })),
      );
      assert.equal(entities.length, expected.length);
      entities.forEach((e, i) => {
        assert.equal(e.type, expected[i].type);
        assert.equal(e.start, expected[i].start);
        assert.equal(e.end, expected[i].end);
        assert.equal(e.text, c.text.slice(e.start, e.end));
        assert.ok(Math.abs(e.probability - expected[i].probability) < 1e-4);
      });
    }
  });

  it('fill-mask: top-1 equals PyTorch top-1 for the same exported MLM', async () => {
    const ref = fx.reference;
    for (const [i, text] of ref.mask_texts.entries()) {
      const result = await engine.fillMask(model('mlm'), text, 5);
      assert.equal(result.candidates.length, 5);
      assert.equal(text.slice(...result.maskSpan), '[MASK]');
      if (ref.fills[i].margin > 1e-3) assert.equal(result.candidates[0].tokenId, ref.fills[i].top1, text);
      const probs = result.candidates.map((c) => c.probability);
      assert.deepEqual([...probs].sort((a, b) => b - a), probs);
      assert.ok(result.candidates[0].sequence.includes(result.candidates[0].text));
    }
  });

  it('fill-mask: the MLM graph computes vocabulary logits at the mask only; an export without mask_positions gives the same fills', async () => {
    const ort = await import('onnxruntime-node');
    const onnxDir = path.join(model('mlm'), 'onnx');
    const session = await ort.InferenceSession.create(path.join(onnxDir, 'model.onnx'));
    assert.ok(session.inputNames.includes('mask_positions'), session.inputNames.join(', '));
    await session.release();
    // An older export: model.onnx computes every position (model_attentions.onnx is such a graph).
    const old = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-old-mlm-'));
    const plain = new InferenceEngine({ idleMs: 60_000 });
    try {
      for (const f of fs.readdirSync(onnxDir)) if (!f.startsWith('model')) fs.copyFileSync(path.join(onnxDir, f), path.join(old, f));
      fs.copyFileSync(path.join(onnxDir, 'model_attentions.onnx'), path.join(old, 'model.onnx'));
      for (const text of fx.reference.mask_texts) {
        const [now, before] = [await engine.fillMask(model('mlm'), text, 5), await plain.fillMask(old, text, 5)];
        assert.deepEqual(now.candidates.map((c) => c.tokenId), before.candidates.map((c) => c.tokenId), text);
        now.candidates.forEach((c, i) => assert.ok(Math.abs(c.probability - before.candidates[i].probability) < 1e-4, text));
      }
    } finally {
      await plain.dispose();
      fs.rmSync(old, { recursive: true, force: true });
    }
  });

  it('answers with a span of the context and the logits PyTorch gives', async () => {
    const { question, context, start_logits } = fx.reference.qa;
    const [start] = await engine.logits(model('question_answering'), [question], { pairs: [context] });
    start_logits.forEach((v, i) => assert.ok(Math.abs(start.data[i] - v) < 1e-4));
    const answer = await engine.answer(model('question_answering'), question, context);
    assert.ok(answer);
    assert.equal(answer.text, context.slice(answer.start, answer.end));
    assert.ok(answer.score > 0 && answer.score <= 1);
  });

  it('attention rows sum to 1, for every layer and head', async () => {
    const maps = await engine.attention(model('mlm'), 'The café 🙂 opened in Zürich.');
    assert.equal(maps.layers, 2);
    assert.equal(maps.heads, 4);
    assert.equal(maps.weights[0][0].length, maps.tokens.length);
    for (const layer of maps.weights) for (const head of layer) for (const row of head) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  });

  it('uses the int8 graph when asked, and CPU when CUDA is missing', async () => {
    const q = new InferenceEngine({ precision: 'int8', provider: 'cuda', idleMs: 1000 });
    try {
      const info = await q.info(model('mlm'));
      assert.equal(info.precision, 'int8');
      assert.ok(info.provider === 'cpu' || info.provider === 'cuda');
      const r = await q.fillMask(model('mlm'), fx.reference.mask_texts[0], 3);
      assert.equal(r.candidates.length, 3);
    } finally {
      await q.dispose();
    }
  });

  it('rejects an aborted request with the abort reason, and says what a wrong model is', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stale'));
    await assert.rejects(engine.fillMask(model('mlm'), 'a [MASK] b', 5, { signal: controller.signal }), /stale/);
    await assert.rejects(engine.fillMask(model('sequence_classification'), 'a [MASK] b'), /sequence-classification model/);
    await assert.rejects(engine.fillMask(model('mlm'), 'no mask here'), /no \[MASK\]/);
  });

  it('fill-mask: on held-out WikiText-2 masks where the trained fill-mask model is sure (PyTorch p > 0.5), our top-1 is PyTorch\'s and mostly the masked word', async function () {
    const fm = ensureFillMaskModel();
    needSetup(this, fm, 'the fill-mask model (scripts/test.sh builds it into the bert-studio cache)');
    // fills.json holds only the masks where PyTorch's top-1 has p > 0.5: a model that learned
    // nothing has none, and a sure model should be right on most of them.
    assert.ok(fm.fills.length >= 10, `only ${fm.fills.length} sure masks in held-out WikiText-2 sentences`);
    let right = 0;
    for (const f of fm.fills) {
      const result = await engine.fillMask(fm.dir, f.text, 3);
      assert.equal(result.candidates[0].tokenId, f.top1, `${f.text}: ${result.candidates[0].token} vs ${f.token}`);
      assert.ok(Math.abs(result.candidates[0].probability - f.probability) < 1e-3);
      if (result.candidates[0].tokenId === f.expected) right++;
    }
    assert.ok(right / fm.fills.length >= 0.5, `top-1 is the masked word in ${right} of ${fm.fills.length} sure masks`);
  });
});

describe('inference engine cold path (pre-optimised graphs, load timings, bad files)', function () {
  this.timeout(300_000);
  const fx = useFixtures();
  let tmp = '';

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-cold-'));
  });
  after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  /** A private copy of a fixture's onnx folder, to age or break files in. */
  const copy = (task: string, name: string): string => {
    const dir = path.join(tmp, name);
    fs.cpSync(path.join(fx.dir, task, 'onnx'), dir, { recursive: true });
    return dir;
  };

  it('loads model_cpu.onnx (and model_quantized_cpu.onnx) where the export wrote them, with the same logits as model.onnx and PyTorch', async () => {
    const ref = fx.reference;
    const folder = path.join(fx.dir, 'sequence_classification');
    const fast = new InferenceEngine({ idleMs: 60_000 });
    const plain = new InferenceEngine({ idleMs: 60_000, optimisedGraphs: false });
    const spinning = new InferenceEngine({ idleMs: 60_000, spinning: 'on' }); // the fused graph, threads spinning within a request
    try {
      assert.equal(path.basename((await fast.info(folder)).graphFile), 'model_cpu.onnx');
      assert.equal(path.basename((await plain.info(folder)).graphFile), 'model.onnx');
      const [a] = await fast.logits(folder, ref.sst2);
      const [b] = await plain.logits(folder, ref.sst2);
      const [c] = await spinning.logits(folder, ref.sst2);
      a.data.forEach((v, i) => assert.ok(Math.abs(v - b.data[i]) < 1e-4 && Math.abs(v - ref.sst2_logits[Math.floor(i / 2)][i % 2]) < 1e-4 && Math.abs(v - c.data[i]) < 1e-5, `value ${i}: ${v} vs ${b.data[i]}, ${c.data[i]}`));
    } finally {
      await fast.dispose();
      await plain.dispose();
      await spinning.dispose();
    }
    const q = new InferenceEngine({ precision: 'int8', idleMs: 60_000 });
    const qPlain = new InferenceEngine({ precision: 'int8', idleMs: 60_000, optimisedGraphs: false });
    try {
      const mlm = path.join(fx.dir, 'mlm');
      assert.equal(path.basename((await q.info(mlm)).graphFile), 'model_quantized_cpu.onnx');
      const [a] = await q.logits(mlm, ref.mask_texts);
      const [b] = await qPlain.logits(mlm, ref.mask_texts);
      let worst = 0;
      a.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.data[i]))));
      assert.ok(worst < 1e-4, `int8 pre-optimised vs plain: ${worst}`);
    } finally {
      await q.dispose();
      await qPlain.dispose();
    }
  });

  it('reports where the cold load went: config, session, tokenizer and first run', async () => {
    const engine = new InferenceEngine({ idleMs: 60_000 });
    const folder = path.join(fx.dir, 'mlm');
    try {
      assert.equal(await engine.loadTimings(folder), undefined); // asking starts no load
      const t0 = performance.now();
      await engine.fillMask(folder, fx.reference.mask_texts[0], 3);
      const total = performance.now() - t0;
      const t = await engine.loadTimings(folder);
      assert.ok(t && t.firstRunMs !== undefined);
      for (const v of [t.configMs, t.sessionMs, t.tokenizerMs, t.firstRunMs]) assert.ok(v > 0 && Number.isFinite(v));
      assert.ok(t.configMs + t.sessionMs + t.tokenizerMs + t.firstRunMs <= total);
      await engine.fillMask(folder, fx.reference.mask_texts[1], 3);
      assert.equal((await engine.loadTimings(folder))?.firstRunMs, t.firstRunMs); // only the first run counts
    } finally {
      await engine.dispose();
    }
  });

  it('ignores a pre-optimised graph older than model.onnx, and falls back to model.onnx when it does not load', async () => {
    const stale = copy('sequence_classification', 'stale');
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(path.join(stale, 'model_cpu.onnx'), old, old);
    const broken = copy('sequence_classification', 'broken');
    fs.writeFileSync(path.join(broken, 'model_cpu.onnx'), 'not a model');
    const logs: string[] = [];
    const engine = new InferenceEngine({ idleMs: 60_000, log: (m) => logs.push(m) });
    try {
      assert.equal(path.basename((await engine.info(stale)).graphFile), 'model.onnx');
      assert.equal(path.basename((await engine.info(broken)).graphFile), 'model.onnx');
      assert.ok(logs.some((l) => l.includes(path.join(broken, 'model_cpu.onnx')) && l.includes('did not load')), logs.join('\n'));
      const [c] = await engine.classify(broken, [fx.reference.sst2[0]]);
      assert.equal(c.label, fx.reference.sst2_logits[0][0] > fx.reference.sst2_logits[0][1] ? 'negative' : 'positive');
    } finally {
      await engine.dispose();
    }
  });

  it('names the file and line of a broken tokenizer file, and the fix', async () => {
    const dir = copy('sequence_classification', 'bad-tokenizer');
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), '{\n  "tokenizer_class": "BertTokenizer",\n  "mask_token": [MASK]\n}\n');
    const engine = new InferenceEngine({ idleMs: 60_000 });
    try {
      await assert.rejects(engine.classify(dir, ['a']), (err: Error) => {
        assert.match(err.message, /tokenizer_config\.json, line 3: not valid JSON/);
        assert.ok(err.message.includes(dir));
        assert.match(err.message, /Re-export the model/);
        return true;
      });
      // tokenizer.json alone is enough (as for transformers): the special tokens come from its added tokens.
      fs.rmSync(path.join(dir, 'tokenizer_config.json'));
      assert.equal((await engine.classify(dir, ['a'])).length, 1);
    } finally {
      await engine.dispose();
    }
  });
});
