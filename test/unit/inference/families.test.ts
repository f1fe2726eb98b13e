import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { trimSpan } from '../../../src/core/inference/offsets';
import { aggregateEntities, type TokenPrediction } from '../../../src/core/inference/postprocess';
import { openSession } from '../../../src/core/inference/runtime';
import { ensureFamilyModels, FAMILY_ARCHS, type FamilyArch, type FamilyFacts, type FamilyReference } from './familyFixtures';
import { needSetup } from '../needSetup';

/**
 * Editor inference on tiny exports of RoBERTa (byte-level BPE, "<mask>", no token types, positions
 * offset by 2), XLM-R (Unigram / SentencePiece), ModernBERT (BPE), DistilBERT and cased BERT
 * (WordPiece), against PyTorch, Python's tokenizer and the checkpoint facts of families.py.
 */
describe('inference engine on every tokenizer type (tiny family exports against PyTorch)', function () {
  this.timeout(600_000);
  let fx: { dir: string; reference: Record<FamilyArch, FamilyReference>; manifest: Record<FamilyArch, FamilyFacts> } | undefined;
  const engine = new InferenceEngine({ idleMs: 60_000 });
  const model = (arch: FamilyArch, task: string): string => path.join(fx?.dir ?? '', arch, task, 'onnx');

  before(function () {
    fx = ensureFamilyModels();
    needSetup(this, fx, 'family models (the venv Python and shared CoNLL-2003)');
  });
  after(() => engine.dispose());

  for (const arch of FAMILY_ARCHS) {
    it(`${arch}: fill-mask with the model's own mask token gives PyTorch's top-1, as the tokenizer decodes it`, async () => {
      const ref = fx!.reference[arch];
      const wordpiece = fx!.manifest[arch].tokenizer.startsWith('wordpiece');
      assert.equal(ref.mask_token, fx!.manifest[arch].facts.mask_token);
      const sure = ref.fills.filter((f) => f.margin > 1e-3);
      assert.ok(sure.length >= 2, 'too few fills with a clear top-1 to compare');
      for (const f of sure) {
        const r = await engine.fillMask(model(arch, 'mlm'), f.text, 5);
        assert.equal(r.maskToken, ref.mask_token);
        assert.equal(r.note, undefined);
        assert.equal(r.candidates[0].tokenId, f.top1, f.text);
        // Python's convert_tokens_to_string keeps a lone "##" piece's prefix; the candidate is the piece's text.
        assert.equal(r.candidates[0].text, wordpiece ? r.candidates[0].token.replace(/^##(?=.)/, '') : f.top1_text, `${f.text}: candidate read as the tokenizer decodes it`);
        assert.equal(f.text.slice(r.maskSpan[0], r.maskSpan[1]), ref.mask_token);
        for (const c of r.candidates) {
          assert.ok(!/[Ġ▁]|^##./.test(c.text), `${c.token} read as ${c.text}`);
          // A word-starting candidate keeps the space before the mask; a continuing piece joins the word before.
          const before = f.text.slice(0, r.maskSpan[0]);
          const after = f.text.slice(r.maskSpan[1]);
          assert.ok(c.sequence === before + c.text + after || c.sequence === before.trimEnd() + c.text + after, c.sequence);
        }
      }
    });

    it(`${arch}: fill-mask reads the other spelling ([MASK] / <mask>) as the model's, says so, and points at what the user wrote`, async () => {
      const ref = fx!.reference[arch];
      const f = ref.fills.filter((x) => x.margin > 1e-3)[0];
      const other = ref.mask_token === '<mask>' ? '[MASK]' : '<mask>';
      const text = f.template.replace('{mask}', other);
      const r = await engine.fillMask(model(arch, 'mlm'), text, 3);
      assert.equal(r.candidates[0].tokenId, f.top1);
      assert.equal(r.note, `This model's mask token is ${ref.mask_token}; ${other} was read as ${ref.mask_token}.`);
      assert.equal(text.slice(r.maskSpan[0], r.maskSpan[1]), other);
      await assert.rejects(engine.fillMask(model(arch, 'mlm'), 'no mask here', 3), (err: Error) => err.message.includes(`no ${ref.mask_token} to fill`) && err.message.includes(`(${other} is read as ${ref.mask_token} too)`));
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

    it(`${arch}: token type ids, max positions and attention labels as the checkpoint's facts say`, async () => {
      const facts = fx!.manifest[arch].facts;
      const info = await engine.info(model(arch, 'mlm'));
      assert.equal(info.maxLength, Math.min(512, facts.positions ?? 512), 'positions as families.py reads them (RoBERTa: less pad_token_id + 1)');
      const text = 'Reykjavík is a city, not a country.';
      // Token type ids go to the graph only when it takes them (DistilBERT's tokenizer makes them, its model has none).
      const session = await openSession(model(arch, 'mlm'), 'model', 'cpu', false);
      assert.equal(session.session.inputNames.includes('token_type_ids'), facts.token_type_ids);
      await session.session.release();
      const [pair] = await engine.logits(model(arch, 'mlm'), [text], { pairs: ['A second segment.'] });
      assert.equal(pair.dims[0], 1);
      if (facts.token_type_ids) assert.ok((await engine.encode(model(arch, 'mlm'), text, 'A second segment.')).typeIds.includes(1), 'a model with token types tells the second segment apart');
      const maps = await engine.attention(model(arch, 'mlm'), text);
      assert.equal(maps.labels.length, maps.tokens.length);
      for (const label of maps.labels) assert.ok(!/[Ġ▁]/.test(label), `label ${label}`);
      if (fx!.manifest[arch].tokenizer.startsWith('wordpiece')) assert.deepEqual(maps.labels, maps.tokens, 'WordPiece tokens read as they are');
      else assert.ok(maps.tokens.some((t) => /[Ġ▁]/.test(t)), 'the tokens carry the word marker the labels drop');
      assert.ok(maps.labels.some((l) => /^(city|##city)$/i.test(l)) || maps.labels.includes('city'), maps.labels.join(' '));
    });
  }
});
