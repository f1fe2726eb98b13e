// The host tokenizer (src/core/inference/tokenizer.ts) against Python's `tokenizers`, for every
// tokenizer type: WordPiece (uncased, cased), byte-level BPE (RoBERTa), Unigram (XLM-R, DeBERTa-v3,
// and the NFKC pipeline `tokenizers` trains). The tokenizers are trained on the shared data by
// test/fixtures/tokenizers/build_tokenizers.py (once per machine, cached outside the clone); the
// reference encodings come from offsets_reference.py. Offsets are compared in UTF-16 code units:
// the reference converts Python's code-point offsets itself (utf-16-le prefix lengths).
// BERT_STUDIO_RECORD=1 writes the parity fractions to bench/results/model-families.json.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InferenceEngine } from '../../../src/core/inference/engine';
import { describeTokenizer, ModelTokenizer, type Encoded } from '../../../src/core/inference/tokenizer';
import { dataDir, ensureFixtures, python, REPO, tokenizerFixtures } from './fixtures';
import { needSetup } from '../needSetup';

const REFERENCE = path.join(REPO, 'test/fixtures/tokenizers/offsets_reference.py');
/** The tokenizer type each fixture kind belongs to, for the recorded fractions. */
const TYPES: Record<string, string> = {
  'wordpiece-uncased': 'wordpiece',
  'wordpiece-cased': 'wordpiece',
  bpe: 'bpe',
  unigram: 'unigram',
  'unigram-cls': 'unigram',
  'unigram-nfkc': 'unigram',
};

interface RefEncoding {
  ids: number[];
  tokens: string[];
  type_ids: number[];
  sequence_ids: (number | null)[];
  word_ids: (number | null)[];
  offsets: [number, number][];
}

interface Reference {
  tokenizers: string;
  texts: string[];
  pairs: [string, string][];
  pair_max_length: number;
  kinds: Record<string, { single: RefEncoding[]; pair: RefEncoding[] }>;
}

/** The cached tokenizer folders (built now if missing, with no time limit) and the reference encodings. */
function ensureReference(): { dir: string; reference: Reference } | undefined {
  const py = python();
  const dir = tokenizerFixtures();
  if (!py || dir === undefined) return undefined;
  const hash = createHash('sha256').update(fs.readFileSync(REFERENCE)).update(dir).digest('hex').slice(0, 12);
  const file = path.join(os.tmpdir(), `bert-studio-offsets-reference-${hash}.json`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}`;
    execFileSync(py, [REFERENCE, dir, dataDir(), tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.renameSync(tmp, file);
  }
  return { dir, reference: JSON.parse(fs.readFileSync(file, 'utf8')) as Reference };
}

/** The first difference between ours and the reference, or undefined when they agree token for token. */
function difference(ours: Encoded, ref: RefEncoding, typeIds: boolean): string | undefined {
  if (ours.ids.join() !== ref.ids.join()) return `ids ${JSON.stringify(ours.tokens)} vs ${JSON.stringify(ref.tokens)}`;
  for (let i = 0; i < ref.ids.length; i++) {
    const seq = ref.sequence_ids[i];
    const span = ours.spans[i];
    const where = `token ${i} "${ref.tokens[i]}"`;
    if (seq === null) {
      if (span !== null || ours.segments[i] !== null) return `${where}: added by the template, but ours has span ${JSON.stringify(span)}`;
    } else if (!span || span[0] !== ref.offsets[i][0] || span[1] !== ref.offsets[i][1] || ours.segments[i] !== seq) {
      return `${where}: span ${JSON.stringify(span)} in segment ${ours.segments[i]} vs ${JSON.stringify(ref.offsets[i])} in segment ${seq}`;
    }
    if (ours.words[i] !== ref.word_ids[i]) return `${where}: word ${ours.words[i]} vs ${ref.word_ids[i]}`;
    if (typeIds && ours.typeIds[i] !== ref.type_ids[i]) return `${where}: type id ${ours.typeIds[i]} vs ${ref.type_ids[i]}`;
  }
  return undefined;
}

/** Encodes every item, a few at a time (each encode runs on the libuv pool). */
async function encodeAll<T>(items: readonly T[], encode: (item: T) => Promise<Encoded>): Promise<Encoded[]> {
  const out: Encoded[] = [];
  for (let i = 0; i < items.length; i += 32) out.push(...(await Promise.all(items.slice(i, i + 32).map(encode))));
  return out;
}

const isLowSurrogate = (text: string, i: number): boolean => i > 0 && i < text.length && /[\uDC00-\uDFFF]/.test(text[i]) && /[\uD800-\uDBFF]/.test(text[i - 1]);

describe('offsets parity: the host tokenizer against Python tokenizers, every tokenizer type', function () {
  this.timeout(300_000);
  let fx: { dir: string; reference: Reference } | undefined;
  const parity: Record<string, { single: number; pair: number; texts: number; pairs: number }> = {};
  const load = (kind: string): Promise<ModelTokenizer> => ModelTokenizer.load(path.join(fx!.dir, kind));

  before(function () {
    this.timeout(0); // training the tokenizers, once per machine, takes minutes on a busy machine
    fx = ensureReference();
    needSetup(this, fx, 'tokenizer fixtures (the venv Python with `tokenizers`, and the shared data)');
  });

  after(() => {
    if (!process.env.BERT_STUDIO_RECORD || Object.keys(parity).length < Object.keys(TYPES).length) return;
    const file = path.join(REPO, 'bench/results/model-families.json');
    let current: Record<string, unknown> = {};
    try {
      current = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      current = {};
    }
    const byType: Record<string, number> = {};
    for (const type of new Set(Object.values(TYPES))) {
      const kinds = Object.keys(TYPES).filter((k) => TYPES[k] === type);
      const ok = kinds.reduce((a, k) => a + parity[k].single * parity[k].texts + parity[k].pair * parity[k].pairs, 0);
      byType[type] = ok / kinds.reduce((a, k) => a + parity[k].texts + parity[k].pairs, 0);
    }
    const cpus = os.cpus();
    const result = {
      ...current,
      offsets_parity: byType,
      offsets_parity_detail: {
        what: 'fraction of texts whose ids, UTF-16 offsets, segments, word ids (and token type ids where the model has them) equal Python tokenizers encode(); test/unit/inference/offsets-parity.test.ts',
        unit: "UTF-16 code units: the host converts the Node bindings' code-point offsets, the reference converts Python's itself",
        python_tokenizers: fx!.reference.tokenizers,
        node_tokenizers: (JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules/tokenizers/package.json'), 'utf8')) as { version: string }).version,
        texts: fx!.reference.texts.length,
        pairs: fx!.reference.pairs.length,
        pair_max_length: fx!.reference.pair_max_length,
        by_kind: parity,
      },
      machine: { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, node: process.version, platform: `${os.platform()} ${os.arch()}`, date: new Date().toISOString() },
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  });

  for (const kind of Object.keys(TYPES)) {
    it(`${kind}: ids, UTF-16 offsets, segments and words equal Python's on every text and truncated pair`, async () => {
      const ref = fx!.reference;
      const expected = ref.kinds[kind];
      assert.ok(expected, `no reference for ${kind}`);
      assert.ok(ref.texts.length >= 2000, `only ${ref.texts.length} texts`);
      const tok = await load(kind);
      const single = await encodeAll(ref.texts, (t) => tok.encode(t, undefined, Infinity));
      const paired = await encodeAll(ref.pairs, ([a, b]) => tok.encode(a, b, ref.pair_max_length));
      const misses: string[] = [];
      const check = (ours: Encoded[], refs: RefEncoding[], label: (i: number) => string): number => {
        let ok = 0;
        ours.forEach((enc, i) => {
          const diff = difference(enc, refs[i], tok.info.tokenTypeIds);
          if (diff === undefined) ok++;
          else if (misses.length < 8) misses.push(`${label(i)}: ${diff}`);
        });
        return ok / ours.length;
      };
      const s = check(single, expected.single, (i) => JSON.stringify(ref.texts[i].slice(0, 80)));
      const p = check(paired, expected.pair, (i) => `pair ${JSON.stringify(ref.pairs[i][0].slice(0, 40))}`);
      parity[kind] = { single: s, pair: p, texts: ref.texts.length, pairs: ref.pairs.length };
      assert.deepEqual(misses, [], `${kind}: ${(s * 100).toFixed(2)}% of texts, ${(p * 100).toFixed(2)}% of pairs equal`);
      // The pairs were cut to the length, the template's tokens kept.
      assert.ok(paired.every((e) => e.ids.length <= ref.pair_max_length));
      assert.ok(paired.some((e, i) => e.ids.length === ref.pair_max_length && ref.pairs[i][1].length > 1000));
      // UTF-16 spans never split a surrogate pair and stay inside their text.
      single.forEach((enc, i) => enc.spans.forEach((span) => {
        if (!span) return;
        const text = ref.texts[i];
        assert.ok(span[0] <= span[1] && span[1] <= text.length && !isLowSurrogate(text, span[0]) && !isLowSurrogate(text, span[1]), `${JSON.stringify(text.slice(0, 60))}: span ${JSON.stringify(span)}`);
      }));
    });
  }

  it('emoji, ZWJ sequences and CJK beyond the BMP: spans are UTF-16, as VS Code positions count', async () => {
    const text = 'Zürich\r\n😀 ok 👩‍👩‍👧 𠮷野家';
    for (const kind of ['wordpiece-uncased', 'bpe', 'unigram']) {
      const enc = await (await load(kind)).encode(text);
      // A token starts where each word starts, counted in UTF-16 units (😀 and 𠮷 take two).
      const covered = (needle: string): boolean => enc.spans.some((s) => s !== null && s[0] === text.indexOf(needle));
      assert.ok(covered('😀') && covered('𠮷') && covered('ok'), `${kind}: ${JSON.stringify(enc.tokens)} ${JSON.stringify(enc.spans)}`);
      const last = enc.spans.filter((s) => s !== null).pop();
      assert.equal(last?.[1], text.length, `${kind}: the last token ends at the text's UTF-16 length`);
    }
  });

  it('knows each tokenizer from its files: type, casing, mask token, token type ids', async () => {
    const info = async (kind: string) => (await load(kind)).info;
    assert.deepEqual(
      await Promise.all(Object.keys(TYPES).map(async (k) => { const i = await info(k); return [k, i.kind, i.lowercase, i.maskToken, i.tokenTypeIds]; })),
      [
        ['wordpiece-uncased', 'wordpiece', true, '[MASK]', true],
        ['wordpiece-cased', 'wordpiece', false, '[MASK]', true],
        ['bpe', 'bpe', false, '<mask>', false],
        ['unigram', 'unigram', false, '<mask>', false],
        ['unigram-cls', 'unigram', false, '[MASK]', true],
        ['unigram-nfkc', 'unigram', false, '<mask>', false],
      ],
    );
    // The same facts without the native library (the wizard and the CLI describe a model with them).
    for (const kind of Object.keys(TYPES)) assert.deepEqual(await describeTokenizer(path.join(fx!.dir, kind)), await info(kind));
    const bpe = await load('bpe');
    assert.equal(bpe.info.byteLevel, true);
    // RoBERTa's <mask> is found in the text, with its span on the literal (the space before it is not part of it).
    const enc = await bpe.encode('The capital is <mask>.');
    const at = enc.ids.indexOf(bpe.maskTokenId ?? -1);
    assert.deepEqual(enc.spans[at], [15, 21]);
    assert.deepEqual(enc.typeIds, enc.ids.map(() => 0));
    // A vocabulary entry reads as text: "Ġword" starts a word, a piece without "Ġ" continues one.
    const word = enc.ids.find((id) => bpe.idToToken(id).startsWith('\u0120'));
    assert.ok(word !== undefined);
    assert.deepEqual(bpe.tokenText(word), { text: bpe.idToToken(word).slice(1), startsWord: true });
    const wp = await load('wordpiece-uncased');
    const piece = (await wp.encode('unbelievableness')).ids.find((id) => wp.idToToken(id).startsWith('##'));
    assert.ok(piece !== undefined);
    assert.deepEqual(wp.tokenText(piece), { text: wp.idToToken(piece).slice(2), startsWord: false });
  });

  it('a folder with only vocab.txt gets the BERT WordPiece tokenizer transformers builds from it', async () => {
    const src = path.join(fx!.dir, 'wordpiece-cased');
    const tok = await load('wordpiece-cased');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-vocab-only-'));
    try {
      const vocab = Array.from({ length: tok.vocabSize }, (_, id) => tok.idToToken(id));
      fs.writeFileSync(path.join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
      fs.copyFileSync(path.join(src, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
      const fromVocab = await ModelTokenizer.load(dir);
      assert.equal(fromVocab.info.source, 'vocab.txt');
      assert.equal(fromVocab.info.lowercase, false);
      const texts = fx!.reference.texts.filter((_, i) => i % 5 === 0);
      const [a, b] = await Promise.all([encodeAll(texts, (t) => tok.encode(t, undefined, Infinity)), encodeAll(texts, (t) => fromVocab.encode(t, undefined, Infinity))]);
      texts.forEach((t, i) => assert.deepEqual([b[i].ids, b[i].spans], [a[i].ids, a[i].spans], JSON.stringify(t.slice(0, 80))));
      // Without tokenizer_config.json: transformers' defaults (uncased).
      fs.rmSync(path.join(dir, 'tokenizer_config.json'));
      assert.equal((await ModelTokenizer.load(dir)).info.lowercase, true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a folder with tokenizer.json alone takes its mask and padding tokens from the added special tokens', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-tokenizer-json-only-'));
    try {
      for (const [kind, mask, pad] of [['bpe', '<mask>', '<pad>'], ['unigram-cls', '[MASK]', '[PAD]']]) {
        fs.copyFileSync(path.join(fx!.dir, kind, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
        const tok = await ModelTokenizer.load(dir);
        assert.deepEqual([tok.maskToken, tok.info.padToken, tok.padTokenId], [mask, pad, (await load(kind)).padTokenId]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a folder without a tokenizer, or with a broken tokenizer.json, is refused naming the file and the fix', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-no-tokenizer-'));
    try {
      await assert.rejects(ModelTokenizer.load(dir), (e: Error) => e.message.includes(dir) && /No tokenizer\.json \(nor vocab\.txt\)/.test(e.message) && /re-export/.test(e.message));
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{\n  "version": "1.0",\n  "model": {,\n}');
      await assert.rejects(ModelTokenizer.load(dir), (e: Error) => e.message.startsWith(`${path.join(dir, 'tokenizer.json')}, line 3: not valid JSON`));
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"version": "1.0", "model": {"type": "Nonsense"}}');
      await assert.rejects(ModelTokenizer.load(dir), (e: Error) => e.message.startsWith(`${path.join(dir, 'tokenizer.json')}: not a tokenizer the tokenizers library can build`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an exported model whose folder has vocab.txt instead of tokenizer.json', function () {
  this.timeout(300_000);

  it('is served by the engine with the ids and offsets of its tokenizer.json', async function () {
    const fx = ensureFixtures();
    needSetup(this, fx, 'inference fixtures (the venv Python and shared SST-2)');
    const source = path.join(fx.dir, 'token_classification', 'onnx');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-vocab-export-'));
    const engine = new InferenceEngine({ idleMs: 60_000 });
    try {
      // Every file but tokenizer.json, so the engine picks the same graph in both folders (the fused
      // model_cpu.onnx differs from model.onnx in the last float bits).
      for (const f of fs.readdirSync(source)) if (f !== 'tokenizer.json') fs.copyFileSync(path.join(source, f), path.join(dir, f));
      const tok = await ModelTokenizer.load(source);
      fs.writeFileSync(path.join(dir, 'vocab.txt'), `${Array.from({ length: tok.vocabSize }, (_, id) => tok.idToToken(id)).join('\n')}\n`);
      const text = 'Angela Merkel visited Zürich 🇨🇭 on Tuesday.\r\nThe café ☕ near São Paulo closed.';
      const [a, b] = [await engine.encode(source, text), await engine.encode(dir, text)];
      assert.deepEqual([b.ids, b.spans, b.words], [a.ids, a.spans, a.words]);
      assert.deepEqual(await engine.tokenClassify(dir, text), await engine.tokenClassify(source, text));
    } finally {
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
