import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { trimSpan } from '../../../src/core/inference/offsets';
import { aggregateEntities, type TokenPrediction } from '../../../src/core/inference/postprocess';
import { openSession } from '../../../src/core/inference/runtime';
import { ensureFamilyModels, FAMILY_ARCHS, type FamilyArch, type FamilyFacts, type FamilyReference } from './familyFixtures';

/** Below this lead of the top-1 (probability, or QA score) over the next, ONNX and PyTorch may rank them apart: not compared. */
const NEAR_TIE = 2e-4;
import { needSetup } from '../needSetup';

/**
 * Editor inference on tiny exports of RoBERTa (byte-level BPE, "<mask>", no token types, positions
 * offset by 2), XLM-R (Unigram / SentencePiece), DeBERTa-v3 (Unigram, [MASK]), ModernBERT (byte-level
 * BPE in a plain tokenizer that ignores add_prefix_space, [MASK]), DistilBERT and cased BERT
 * (WordPiece), against PyTorch, Python's tokenizer, the worker's own answers (its NER, evaluate and
 * QA paths) and the checkpoint facts of families.py.
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
    /** No masked-LM export where the worker refuses MLM (ELECTRA's discriminator): nothing to fill. */
    const noMlm = (): boolean => {
      const refused = fx!.manifest[arch].refusals.mlm !== null;
      if (refused) assert.deepEqual([fx!.reference[arch].mask_token, fx!.reference[arch].fills], [null, []]);
      return refused;
    };

    it(`${arch}: fill-mask with the model's own mask token gives PyTorch's top-1, as the tokenizer decodes it`, async () => {
      if (noMlm()) return;
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
      if (noMlm()) return;
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

    it(`${arch}: entities of words give the worker's NER labels (the tokenizer as the run saved it, add_prefix_space included)`, async () => {
      // Running text made of pre-split words: the editor must read each word as training did (a
      // byte-level BPE that ignored add_prefix_space read "wrote" alone as "w", "rote", and "Ġwrote" in text).
      const cases = fx!.reference[arch].ner_words.filter((c) => c.margin > NEAR_TIE && c.labels.every((l) => l !== null));
      assert.ok(cases.length >= 5, `only ${cases.length} sentences without a near tie`);
      let total = 0;
      for (const c of cases) {
        const words: TokenPrediction[] = c.spans.map((span, i) => ({ span, continuation: false, label: c.labels[i] as string, probability: c.probabilities[i] }));
        const expected = aggregateEntities(c.text, words);
        const got = await engine.tokenClassify(model(arch, 'token_classification'), c.text);
        assert.deepEqual(got.map((e) => [e.start, e.end, e.type]), expected.map((e) => [e.start, e.end, e.type]), c.text);
        got.forEach((e, i) => assert.ok(Math.abs(e.probability - expected[i].probability) < 1e-4, c.text));
        total += got.length;
      }
      assert.ok(total > 0, 'the random head found no entity at all: nothing was compared');
    });

    it(`${arch}: labels (single texts and pairs) are the worker's evaluate predictions`, async () => {
      const ref = fx!.reference[arch].classify;
      assert.ok(ref.some((r) => r.text_pair !== undefined) && ref.some((r) => r.text_pair === undefined));
      const got = await engine.classify(model(arch, 'sequence_classification'), ref.map((r) => r.text), { pairs: ref.map((r) => r.text_pair) });
      let compared = 0;
      ref.forEach((r, i) => {
        const probs = Object.values(r.probabilities).sort((a, b) => b - a);
        for (const [label, p] of Object.entries(r.probabilities)) assert.ok(Math.abs((got[i].probabilities.find((s) => s.label === label)?.probability ?? -1) - p) < 1e-4, `${r.text}: ${label}`);
        if (probs[0] - probs[1] <= NEAR_TIE) return;
        assert.equal(got[i].label, r.pred, r.text);
        compared++;
      });
      assert.ok(compared >= ref.length / 2, `only ${compared} of ${ref.length} predictions without a near tie`);
    });

    it(`${arch}: answers are the worker's, at its exact characters (whole words)`, async () => {
      const ref = fx!.reference[arch].qa.filter((q) => q.margin > NEAR_TIE);
      assert.ok(ref.length >= 20, `only ${ref.length} questions without a near tie`);
      for (const q of ref) {
        const a = await engine.answer(model(arch, 'question_answering'), q.question, q.context);
        assert.deepEqual([a?.start, a?.end, a?.text], [q.start, q.end, q.text], `${q.question} | ${q.context}`);
      }
    });

    it(`${arch}: token type ids, max positions and attention labels as the checkpoint's facts say`, async () => {
      const facts = fx!.manifest[arch].facts;
      // The masked-LM export, or for ELECTRA's discriminator (no MLM) the token-classification one.
      const folder = model(arch, fx!.manifest[arch].refusals.mlm === null ? 'mlm' : 'token_classification');
      const info = await engine.info(folder);
      assert.equal(info.maxLength, Math.min(512, facts.positions ?? 512), 'positions as families.py reads them (RoBERTa: less pad_token_id + 1)');
      const text = 'Reykjavík is a city, not a country.';
      // Token type ids go to the graph only when it takes them (DistilBERT's tokenizer makes them, its model has none).
      const session = await openSession(folder, 'model', 'cpu', false);
      assert.equal(session.session.inputNames.includes('token_type_ids'), facts.token_type_ids);
      await session.session.release();
      const [pair] = await engine.logits(folder, [text], { pairs: ['A second segment.'] });
      assert.equal(pair.dims[0], 1);
      if (facts.token_type_ids) assert.ok((await engine.encode(folder, text, 'A second segment.')).typeIds.includes(1), 'a model with token types tells the second segment apart');
      const maps = await engine.attention(folder, text);
      assert.equal(maps.labels.length, maps.tokens.length);
      for (const label of maps.labels) assert.ok(!/[Ġ▁]/.test(label), `label ${label}`);
      if (fx!.manifest[arch].tokenizer.startsWith('wordpiece')) assert.deepEqual(maps.labels, maps.tokens, 'WordPiece tokens read as they are');
      else assert.ok(maps.tokens.some((t) => /[Ġ▁]/.test(t)), 'the tokens carry the word marker the labels drop');
      assert.ok(maps.labels.some((l) => /^(city|##city)$/i.test(l)) || maps.labels.includes('city'), maps.labels.join(' '));
    });
  }
});
