// Chinese in the editor (issue 13): whole-word fill-mask (consecutive masks ranked jointly) against a
// brute force computed in Python on the same ONNX model, and entity decorations on exact CJK ranges
// (UTF-16, astral characters and emoji before the entity), on a tiny Chinese model the worker
// pretrained from scratch (test/fixtures/chinese/build.py).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { textChunks } from '../../../src/core/inference/chunks';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { jointFill, joinPieces, maskSelection, type MaskForward } from '../../../src/core/inference/fillMaskWords';
import { displayWidth, fitLabel, labelColumnPx } from '../../../webview/attention/labels';
import { useChineseModels } from './chineseFixtures';

const HAN = /^\p{Script=Han}+$/u;

/** UTF-16 offset of code point `cp` of `text`, counted independently of the engine's helpers. */
function utf16(text: string, cp: number): number {
  return [...text].slice(0, cp).join('').length;
}

/** A deterministic "model" over a vocabulary of `v` tokens: log-probabilities that depend on the whole prefix. */
function syntheticForward(v: number, seed: number): MaskForward {
  return async (prefixes) =>
    prefixes.map((p) => {
      let h = seed;
      for (const id of p) h = (Math.imul(h ^ (id + 1), 2654435761) >>> 0) + p.length;
      const logits = Array.from({ length: v }, (_, i) => {
        h = (Math.imul(h ^ (i + 7), 2246822519) >>> 0) ^ (h >>> 13);
        return ((h % 10_000) / 10_000) * 6;
      });
      const max = Math.max(...logits);
      const log = Math.log(logits.reduce((a, x) => a + Math.exp(x - max), 0));
      return Float64Array.from(logits, (x) => x - max - log);
    });
}

/** Every filler of `count` masks over `v` tokens scored by the chain rule: the brute force jointFill must equal. */
async function bruteForce(forward: MaskForward, v: number, count: number, allowed: (id: number) => boolean): Promise<{ ids: number[]; logp: number }[]> {
  let beams: { ids: number[]; logp: number }[] = [{ ids: [], logp: 0 }];
  for (let d = 0; d < count; d++) {
    const out = await forward(beams.map((b) => b.ids));
    beams = beams.flatMap((b, i) => Array.from({ length: v }, (_, t) => t).filter(allowed).map((t) => ({ ids: [...b.ids, t], logp: b.logp + out[i][t] })));
  }
  return beams.sort((a, b) => b.logp - a.logp || a.ids.join().localeCompare(b.ids.join()));
}

describe('Chinese: whole-word fill-mask search', () => {
  it('the best-first search gives the exact top k of every filler (3 masks, 40 tokens, brute force over 64,000)', async () => {
    const allowed = (id: number): boolean => id !== 0 && id !== 3;
    for (const seed of [1, 2, 3]) {
      const forward = syntheticForward(40, seed);
      const expected = (await bruteForce(forward, 40, 3, allowed)).slice(0, 10);
      const got = await jointFill(3, 10, allowed, forward, { batchRows: 8 });
      assert.equal(got.exact, true);
      assert.deepEqual(got.fills.map((f) => f.ids), expected.map((e) => e.ids), `seed ${seed}`);
      got.fills.forEach((f, i) => assert.ok(Math.abs(f.logp - expected[i].logp) < 1e-9));
      assert.ok(got.rows < 40 * 40 + 1, `${got.rows} prefixes expanded, fewer than the brute force's ${40 * 40 + 1}`);
    }
  });

  it('over its budget the search completes greedily and says the ranking is approximate', async () => {
    const forward = syntheticForward(40, 5);
    const got = await jointFill(3, 10, () => true, forward, { batchRows: 4, maxRows: 6 });
    assert.equal(got.exact, false);
    assert.equal(got.fills.length, 10);
    const scores = got.fills.map((f) => f.logp);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
    // Each score is the chain rule of its own ids.
    for (const f of got.fills) {
      let logp = 0;
      for (let d = 0; d < 3; d++) logp += (await forward([f.ids.slice(0, d)]))[0][f.ids[d]];
      assert.ok(Math.abs(logp - f.logp) < 1e-9);
    }
  });

  it('reads pieces as one word: no space inside Chinese, spaces between Latin words, "##" joined', () => {
    const p = (text: string, startsWord = true): { text: string; startsWord: boolean } => ({ text, startsWord });
    assert.equal(joinPieces([p('酒'), p('店')], false), '酒店');
    assert.equal(joinPieces([p('wi'), p('fi', false)], false), 'wifi');
    assert.equal(joinPieces([p('new'), p('york')], false), 'new york');
    assert.equal(joinPieces([p('的'), p('wifi')], false), '的wifi');
    assert.equal(joinPieces([p('New'), p('York')], true), 'New York');
    assert.equal(maskSelection('这家酒店很好', 2, 4, 2), '这家[MASK][MASK]很好');
    assert.equal(maskSelection('a great film', 2, 7, 0), 'a [MASK] film');
  });
});

describe('Chinese: attention viewer labels', () => {
  it('CJK characters count one em, Latin ones less; a single character (or one emoji cluster) is never cut to "…"', () => {
    assert.equal(displayWidth('酒店'), 2);
    assert.ok(displayWidth('ab') < displayWidth('酒店'));
    for (const one of ['酒', '𠮷', '👩‍👩‍👧', '🇨🇳', 'W']) assert.equal(fitLabel(one, 0.1), one);
    assert.equal(fitLabel('transformers', 3), 'tran…');
    assert.equal(fitLabel('北京大学', 2.7), '北京…');
    assert.equal(fitLabel('北京大学', 4), '北京大学');
    assert.ok(labelColumnPx(['北京大学'], 10) > labelColumnPx(['abcd'], 10));
  });
});

describe('Chinese in the editor: a tiny Chinese BERT pretrained from scratch', function () {
  this.timeout(300_000);
  const fx = useChineseModels();
  const engine = new InferenceEngine({ idleMs: 60_000 });
  after(() => engine.dispose());

  it('fills consecutive masks as whole words ranked jointly: the brute-force top 10 over the whole vocabulary (Python, same ONNX graph)', async () => {
    const mlm = path.join(fx.dir, 'mlm');
    let joint = 0;
    for (const ref of fx.reference.fills) {
      const r = await engine.fillMask(mlm, ref.text, ref.k);
      const masks = ref.top[0].ids.length;
      assert.equal(r.masks ?? 1, masks, ref.text);
      if (masks > 1) {
        joint++;
        assert.equal(r.exact, true);
      }
      assert.equal(r.candidates.length, ref.k);
      r.candidates.forEach((c, i) => {
        const ids = c.tokenIds ?? [c.tokenId];
        const expected = ref.top[i];
        // Identical ids, unless two fillers tie within float noise (then their order may differ).
        if (ids.join() !== expected.ids.join()) {
          const other = ref.top.find((t) => t.ids.join() === ids.join());
          assert.ok(other && Math.abs(other.logp - expected.logp) < 1e-5, `${ref.text} #${i}: ${ids} (${c.text}) where Python ranks ${expected.ids}`);
        }
        assert.ok(Math.abs(Math.log(c.probability) - expected.logp) < 1e-3, `${ref.text} #${i}: log p ${Math.log(c.probability)} vs ${expected.logp}`);
        // Shown as a word: Chinese characters without spaces, put in place of all the masks.
        if (HAN.test(c.text)) {
          assert.equal([...c.text].length, masks, c.text);
          assert.equal(c.sequence, ref.text.replace('[MASK]'.repeat(masks), c.text));
        }
      });
      const p = r.candidates.map((c) => c.probability);
      assert.deepEqual(p, [...p].sort((a, b) => b - a), 'ranked by joint probability');
    }
    assert.ok(joint >= 5, `${joint} references with two masks`);
  });

  it('a selected Chinese word is masked by one mask per character; a mixed Chinese-English word by its pieces', async () => {
    const mlm = path.join(fx.dir, 'mlm');
    const heldOut = fs.readFileSync(path.join(fx.dir, 'heldout.txt'), 'utf8').split('\n');
    let checked = 0;
    for (const ref of fx.reference.fills.filter((f) => f.text.includes('[MASK][MASK]') && !f.text.includes('[MASK][MASK][MASK]'))) {
      const at = ref.text.indexOf('[MASK]');
      const line = heldOut.find((l) => l.startsWith(ref.text.slice(0, at)) && l.slice(at + 2).startsWith(ref.text.slice(at + 12)));
      if (!line) continue; // the texts not from the held-out reviews
      const word = line.slice(at, at + 2);
      assert.match(word, HAN);
      const count = (await engine.encode(mlm, word)).spans.filter((s) => s !== null).length;
      assert.equal(maskSelection(line.slice(0, ref.text.length - 10), at, at + 2, count), ref.text);
      checked++;
    }
    assert.ok(checked >= 4, `${checked} selections`);
    // Mixed text: a Latin word takes as many masks as it has WordPiece pieces.
    const mixed = 'wifi信号很差';
    const pieces = (await engine.encode(mlm, 'wifi')).spans.filter((s) => s !== null).length;
    const text = maskSelection(mixed, 0, 4, pieces);
    const r = await engine.fillMask(mlm, text, 5);
    assert.equal(r.masks ?? 1, pieces);
    assert.deepEqual(r.maskSpan, [0, '[MASK]'.length * pieces]);
    for (const c of r.candidates) assert.ok(c.sequence.endsWith('信号很差') && !c.sequence.includes('[MASK]'), c.sequence);
  });

  it('attention labels of mixed Chinese-English text are whole: one character per CJK token, [UNK] with its character', async () => {
    const mlm = path.join(fx.dir, 'mlm');
    const text = '😀 我们住的酒店wifi很好，Microsoft 的 transformers 也不错。';
    const maps = await engine.attention(mlm, text);
    const cjk = maps.labels.filter((l) => HAN.test(l));
    assert.equal(cjk.length, [...text].filter((c) => HAN.test(c)).length, maps.labels.join(' '));
    assert.ok(cjk.every((l) => [...l].length === 1), 'each Chinese character its own token');
    const unknown = maps.labels.filter((_, i) => maps.tokens[i] === '[UNK]');
    assert.ok(unknown.includes('[UNK] 😀'), `the emoji reads as unknown and says so: ${unknown.join(', ')}`);
    // In the exported picture's label column (10 px), nothing is cut: the widest label sets the width.
    const px = labelColumnPx(maps.labels, 10);
    for (const l of maps.labels) assert.equal(fitLabel(l, (px - 6) / 10), l);
  });

  it('entity decorations land on the exact CJK characters (UTF-16), after emoji and characters beyond U+FFFF', async () => {
    const ner = path.join(fx.dir, 'ner');
    // One document as the editor holds it: an emoji line, then every text as its own paragraph.
    const head = '😀🇨🇳 𠮷野家 👩‍👩‍👧\r\n\r\n';
    const cases = fx.reference.entities;
    const doc = head + cases.map((c) => c.text).join('\r\n\r\n');
    const at = cases.map((_, i) => head.length + cases.slice(0, i).reduce((n, c) => n + c.text.length + 4, 0));
    // What Annotate Entities decorates: each chunk's entities at chunk offset + entity offset.
    const ranges: { type: string; start: number; end: number }[] = [];
    // (The emoji line itself is not in the reference: its decorations, if any, are left out.)
    for (const chunk of textChunks(doc)) for (const e of await engine.tokenClassify(ner, chunk.text)) if (chunk.offset >= head.length) ranges.push({ type: e.type, start: chunk.offset + e.start, end: chunk.offset + e.end });
    const expected = cases.flatMap((c, i) => c.entities.map((e) => ({ type: e.type, start: at[i] + utf16(c.text, e.start), end: at[i] + utf16(c.text, e.end) })));
    assert.ok(expected.length >= 20, `${expected.length} predicted entities`);
    assert.deepEqual(ranges, expected);
    // Astral characters before an entity in the same text: offsets past them still exact.
    const astral = cases.filter((c) => /[\uD800-\uDBFF]/.test(c.text) && c.entities.some((e) => utf16(c.text, e.start) !== e.start));
    assert.ok(astral.length >= 1, 'an entity after a surrogate pair');

    // Where the model finds a gold MSRA entity, its decoration covers exactly the gold characters.
    let right = 0;
    cases.forEach((c, i) => {
      for (const g of c.gold ?? []) {
        if (!c.entities.some((e) => e.type === g.type && e.start === g.start && e.end === g.end)) continue;
        const r = ranges.find((x) => x.type === g.type && x.start === at[i] + utf16(c.text, g.start));
        assert.ok(r, `${c.text}: ${g.type} at ${g.start}`);
        assert.equal(doc.slice(r.start, r.end), [...c.text].slice(g.start, g.end).join(''));
        right++;
      }
    });
    assert.ok(right >= 1, 'a gold entity of a held-out MSRA sentence that the model finds');
  });
});
