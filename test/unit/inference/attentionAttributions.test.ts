// The attention viewer's Attributions column, host side: the worker's Integrated Gradients placed on
// the viewer's tokens by their characters (purpose-built spans, then a real MRPC run's ONNX attention
// export against its worker, with an emoji, Chinese characters and a text longer than the viewer's
// cut), the tints the editor uses, the weights check, the cache the editor shares, and the messages.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isHostMessage, isWebviewMessage, MAX_ATTENTION_TOKENS } from '../../../webview/attention/protocol';
import { attributionProblem, placeAttributions } from '../../../src/core/inference/attentionAttributions';
import { AttributionService, attributionTints, type TokenAttribution } from '../../../src/core/inference/attributions';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { tintColour, TINT_LEVELS } from '../../../src/shared/attributionTints';
import { needSetup } from '../needSetup';
import { mrpcRows, pairRunAvailable, PYTHON, ROOT, tinyPairRun, type PairRun } from './pairRun';

const tok = (start: number, end: number, attribution: number, segment = 0): TokenAttribution => ({ token: 'x', segment, start, end, attribution });

describe('attributions beside attention: placing them on the viewer tokens', () => {
  it('puts each worker token on the viewer token with the same characters, specials get none', () => {
    const tokens = [tok(0, 3, 0.2), tok(4, 7, -0.1), tok(7, 10, 0.4)];
    const placed = placeAttributions([null, [0, 3], [4, 7], [7, 10], null], tokens);
    assert.deepEqual(placed.values, [null, 0.2, -0.1, 0.4, null]);
    // The same tint levels as the editor gives the same tokens.
    assert.deepEqual(placed.levels, [0, ...attributionTints(tokens).map((t) => t.level), 0]);
    assert.equal(placed.unplaced, 0);
  });

  it('sums worker tokens that fall in one viewer token, and counts those past the viewer cut', () => {
    const merged = placeAttributions([null, [0, 7], null], [tok(0, 3, 0.2), tok(4, 7, 0.1)]);
    assert.ok(Math.abs((merged.values[1] as number) - 0.3) < 1e-12);
    const cut = placeAttributions([null, [0, 3]], [tok(0, 3, 0.2), tok(4, 7, 0.1), tok(8, 9, -0.3)]);
    assert.deepEqual(cut.values, [null, 0.2]);
    assert.equal(cut.unplaced, 2);
    // A worker token straddling two viewer tokens goes to the one it overlaps most.
    const straddle = placeAttributions([[0, 2], [2, 8]], [tok(1, 6, 0.5)]);
    assert.deepEqual(straddle.values, [null, 0.5]);
    // A zero-width token goes where it starts; the second sentence of a pair is not the viewer's.
    const zero = placeAttributions([[0, 2], [2, 4]], [tok(3, 3, 0.1), tok(0, 2, 0.2, 1)]);
    assert.deepEqual(zero.values, [null, 0.1]);
  });

  it('tints with one table: green toward the label, red against, deeper with the level, none at 0', () => {
    assert.equal(tintColour(0, 'dark'), 'transparent');
    const alpha = (c: string): number => Number(/([\d.]+)\)$/.exec(c)?.[1]);
    for (const theme of ['light', 'dark'] as const) {
      for (let l = 1; l < TINT_LEVELS; l++) {
        assert.ok(alpha(tintColour(l + 1, theme)) > alpha(tintColour(l, theme)));
        assert.equal(alpha(tintColour(-l, theme)), alpha(tintColour(l, theme)));
      }
      assert.notEqual(tintColour(3, theme), tintColour(-3, theme));
    }
    assert.notEqual(tintColour(3, 'light'), tintColour(3, 'dark'));
  });

  it('says why an ONNX export copied out of its run cannot be explained, and names the fix', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-attr-'));
    try {
      const onnx = path.join(dir, 'tiny-cls');
      fs.mkdirSync(onnx);
      for (const f of ['model.onnx', 'config.json', 'tokenizer.json']) fs.writeFileSync(path.join(onnx, f), '{}');
      assert.match(attributionProblem(onnx) ?? '', /tiny-cls is an ONNX export without them: use its training run/);
      const weights = path.join(dir, 'hf');
      fs.mkdirSync(weights);
      fs.writeFileSync(path.join(weights, 'model.safetensors'), '');
      assert.equal(attributionProblem(weights), undefined);
      const run = path.join(dir, 'run');
      fs.mkdirSync(path.join(run, 'onnx'), { recursive: true });
      fs.writeFileSync(path.join(run, 'spec.json'), '{}');
      assert.equal(attributionProblem(path.join(run, 'onnx')), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks the column messages both ways', () => {
    const ok = { type: 'attributions', model: 'm', label: 'equivalent', chosen: false, probability: 0.6, baselineProbability: 0.5, steps: 50, completenessError: 0.01, truncated: false, cached: true, values: [null, 0.1, null], levels: [0, 5, 0], unplaced: 0 };
    assert.ok(isHostMessage(ok));
    assert.ok(!isHostMessage({ ...ok, levels: [0, 5] }));
    assert.ok(!isHostMessage({ ...ok, levels: [0, TINT_LEVELS + 1, 0] }));
    assert.ok(!isHostMessage({ ...ok, probability: 1.5 }));
    assert.ok(isHostMessage({ type: 'attributionState', state: 'failed', message: 'target "x" is not one of the model\'s labels' }));
    assert.ok(!isHostMessage({ type: 'attributionState', state: 'done' }));
    const set = { model: 'm', tokens: ['[CLS]', 'a', '[SEP]'], layers: 1, heads: 1, data: new Float32Array(9) };
    assert.ok(isHostMessage({ type: 'show', text: 'a', sets: [set], explain: { model: 'm', labels: ['a', 'b'] } }));
    assert.ok(!isHostMessage({ type: 'show', text: 'a', sets: [set], explain: { model: 'm', labels: ['a'], script: 'x' } }));
    assert.ok(isWebviewMessage({ type: 'attribute' }));
    assert.ok(isWebviewMessage({ type: 'attribute', target: 'not_equivalent' }));
    assert.ok(!isWebviewMessage({ type: 'attribute', target: 'x'.repeat(301) }));
    assert.ok(!isWebviewMessage({ type: 'attribute', target: 3 }));
    assert.ok(isWebviewMessage({ type: 'cancelAttribution' }));
    assert.ok(!isWebviewMessage({ type: 'cancelAttribution', now: true }));
    // A token classifier: the entities it predicts, one asked for by index, the answer naming it.
    const paris = { label: 'LOC', text: 'Paris', start: 10, end: 15 };
    assert.ok(isHostMessage({ type: 'show', text: 'a', sets: [set], explain: { model: 'm', labels: ['O', 'B-LOC'], entities: [paris] } }));
    assert.ok(!isHostMessage({ type: 'show', text: 'a', sets: [set], explain: { model: 'm', labels: ['O'], entities: [{ ...paris, start: -1 }] } }));
    assert.ok(!isHostMessage({ type: 'show', text: 'a', sets: [set], explain: { model: 'm', labels: ['O'], entities: [{ ...paris, href: 'x' }] } }));
    assert.ok(isWebviewMessage({ type: 'attribute', entity: 0 }));
    assert.ok(!isWebviewMessage({ type: 'attribute', entity: -1 }));
    assert.ok(!isWebviewMessage({ type: 'attribute', entity: '0' }));
    assert.ok(isHostMessage({ ...ok, label: 'LOC', target: 'Paris' }));
    assert.ok(!isHostMessage({ ...ok, target: 7 }));
  });
});

describe('attributions beside attention on a real classifier', function () {
  this.timeout(600_000);
  let run: PairRun;
  const service = new AttributionService(async () => PYTHON, ROOT);
  const engine = new InferenceEngine({ precision: 'fp32', idleMs: 60_000 });

  before(async function () {
    needSetup(this, pairRunAvailable(), 'the venv (scripts/setup.sh) and the shared MRPC data');
    run = await tinyPairRun();
  });
  after(() => {
    service.dispose();
    engine.dispose();
  });

  it("lands every worker token on the viewer token with its characters (emoji, Chinese), the editor's cache shared", async () => {
    const [, , , a] = mrpcRows(run.dev)[3];
    const text = `😀 ${a} 東京`;
    const onnx = path.join(run.runDir, 'onnx');
    assert.equal(service.cached(onnx, { text }), undefined);
    const maps = await engine.attention(onnx, text, { maxTokens: MAX_ATTENTION_TOKENS });
    const r = await service.attribute(run.runDir, { text, steps: 20 });
    // The editor asked with the run, the viewer asks with its onnx/ folder: one cache entry.
    assert.equal(service.cached(onnx, { text, steps: 20 }), r);
    const placed = placeAttributions(maps.spans, r.tokens);
    assert.equal(placed.values.length, maps.labels.length);
    assert.equal(placed.unplaced, 0);
    const editorLevels = new Map(attributionTints(r.tokens).map((t) => [`${t.token.start}:${t.token.end}`, t.level]));
    maps.spans.forEach((span, i) => {
      if (!span) return assert.equal(placed.values[i], null, `special token ${maps.labels[i]}`);
      const worker = r.tokens.filter((t) => t.start === span[0] && t.end === span[1]);
      assert.equal(worker.length, 1, `viewer token ${maps.labels[i]} ${JSON.stringify(span)} has no worker token with its characters`);
      assert.equal(placed.values[i], worker[0].attribution);
      assert.equal(placed.levels[i], editorLevels.get(`${span[0]}:${span[1]}`));
    });
    const sum = placed.values.reduce<number>((s, v) => s + (v ?? 0), 0);
    assert.ok(Math.abs(sum - r.sum) < 1e-5, `placed ${sum}, worker ${r.sum}`);
    assert.ok(text.slice(...(maps.spans.find(Boolean) as [number, number])).startsWith('😀'));
  });

  it("counts the tokens past the viewer's cut instead of placing them", async () => {
    const long = mrpcRows(run.dev).slice(0, 12).map((row) => row[3]).join(' ');
    const maps = await engine.attention(path.join(run.runDir, 'onnx'), long, { maxTokens: MAX_ATTENTION_TOKENS });
    assert.equal(maps.labels.length, MAX_ATTENTION_TOKENS);
    const r = await service.attribute(run.runDir, { text: long, steps: 2 });
    const placed = placeAttributions(maps.spans, r.tokens);
    const shown = placed.values.filter((v) => v !== null).length;
    assert.ok(placed.unplaced > 0);
    assert.equal(shown + placed.unplaced, r.tokens.length);
  });
});
