import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { trimSpan } from '../../../src/core/inference/offsets';
import { aggregateEntities, type TokenPrediction } from '../../../src/core/inference/postprocess';
import { ensureFamilyModels, FAMILY_ARCHS, type FamilyArch, type FamilyReference } from './familyFixtures';
import { needSetup } from '../needSetup';

/**
 * Editor inference on tiny RoBERTa (byte-level BPE, "<mask>", no token types, positions offset by 2)
 * and XLM-R (Unigram / SentencePiece) exports, against PyTorch and Python's tokenizer.
 */
describe('inference engine on RoBERTa and XLM-R models (tiny exports against PyTorch)', function () {
  this.timeout(600_000);
  let fx: { dir: string; reference: Record<FamilyArch, FamilyReference> } | undefined;
  const engine = new InferenceEngine({ idleMs: 60_000 });
  const model = (arch: FamilyArch, task: string): string => path.join(fx?.dir ?? '', arch, task, 'onnx');

  before(function () {
    fx = ensureFamilyModels();
    needSetup(this, fx, 'family models (the venv Python and shared CoNLL-2003)');
  });
  after(() => engine.dispose());

  for (const arch of FAMILY_ARCHS) {
    it(`${arch}: fill-mask with the model's own <mask> gives PyTorch's top-1, as the tokenizer decodes it`, async () => {
      const ref = fx!.reference[arch];
      assert.equal(ref.mask_token, '<mask>');
      const sure = ref.fills.filter((f) => f.margin > 1e-3);
      assert.ok(sure.length >= 2, 'too few fills with a clear top-1 to compare');
      for (const f of sure) {
        const r = await engine.fillMask(model(arch, 'mlm'), f.text, 5);
        assert.equal(r.maskToken, '<mask>');
        assert.equal(r.note, undefined);
        assert.equal(r.candidates[0].tokenId, f.top1, f.text);
        assert.equal(r.candidates[0].text, f.top1_text, `${f.text}: candidate read as the tokenizer decodes it`);
        assert.equal(f.text.slice(r.maskSpan[0], r.maskSpan[1]), '<mask>');
        for (const c of r.candidates) {
          assert.ok(!/[Ġ▁]/.test(c.text) || c.text === '', `${c.token} read as ${c.text}`);
          // A word-starting candidate keeps the space before the mask; a continuing piece joins the word before.
          const before = f.text.slice(0, r.maskSpan[0]);
          const after = f.text.slice(r.maskSpan[1]);
          assert.ok(c.sequence === before + c.text + after || c.sequence === before.trimEnd() + c.text + after, c.sequence);
        }
      }
    });

    it(`${arch}: fill-mask reads [MASK] as <mask>, says so, and points at the [MASK] the user wrote`, async () => {
      const f = fx!.reference[arch].fills.filter((x) => x.margin > 1e-3)[0];
      const text = f.template.replace('{mask}', '[MASK]');
      const r = await engine.fillMask(model(arch, 'mlm'), text, 3);
      assert.equal(r.candidates[0].tokenId, f.top1);
      assert.match(r.note ?? '', /mask token is <mask>; \[MASK\] was read as <mask>/);
      assert.equal(text.slice(r.maskSpan[0], r.maskSpan[1]), '[MASK]');
      await assert.rejects(engine.fillMask(model(arch, 'mlm'), 'no mask here', 3), /no <mask> to fill.*mask token is <mask> \(\[MASK\] is read as <mask> too\)/);
    });

    it(`${arch}: entities land on the characters of Python's offsets, words from the tokenizer (no "##")`, async () => {
      let total = 0;
      for (const c of fx!.reference[arch].entities) {
        // What the entities must be: PyTorch's label per token, on Python's offsets and word ids.
        // Spans without the whitespace at their ends (a "▁" or "Ċ" token may cover only a space).
        const preds: TokenPrediction[] = c.offsets.map((o, i) => ({
          span: c.words[i] === null ? null : trimSpan(c.text, [o[0], o[1]]),
          continuation: i > 0 && c.words[i] !== null && c.words[i] === c.words[i - 1],
          label: ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'][c.labels[i]],
          probability: c.probabilities[i],
        }));
        const expected = aggregateEntities(c.text, preds);
        const got = await engine.tokenClassify(model(arch, 'token_classification'), c.text);
        assert.deepEqual(got.map((e) => [e.start, e.end, e.type, e.text]), expected.map((e) => [e.start, e.end, e.type, e.text]), c.text);
        got.forEach((e, i) => assert.ok(Math.abs(e.probability - expected[i].probability) < 1e-4));
        for (const e of got) assert.equal(e.text, c.text.slice(e.start, e.end));
        total += got.length;
      }
      assert.ok(total > 0, 'the random head found no entity at all: nothing was compared');
    });

    it(`${arch}: no token type ids, 128 positions from 130 embeddings (padding offset), readable attention labels`, async () => {
      const info = await engine.info(model(arch, 'mlm'));
      assert.equal(info.maxLength, 128);
      const enc = await engine.encode(model(arch, 'mlm'), 'Reykjavík is a city, not a country.');
      assert.ok(enc.typeIds.every((t) => t === 0));
      const maps = await engine.attention(model(arch, 'mlm'), 'Reykjavík is a city, not a country.');
      assert.equal(maps.labels.length, maps.tokens.length);
      assert.ok(maps.tokens.some((t) => /[Ġ▁]/.test(t)), 'the tokens should carry the word marker this test is about');
      for (const label of maps.labels) assert.ok(!/[Ġ▁]/.test(label), `label ${label}`);
      assert.ok(maps.labels.includes('city'));
    });
  }
});
