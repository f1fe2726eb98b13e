/**
 * Many and long inputs: `predict` with hundreds of real texts through the real CLI bundle (its command
 * line over the ~32 KB on which onnxruntime-node's start-up crashed with signal 11), batches bounded
 * by padded tokens, long texts windowed or truncated with a notice, and QA answers on whole words.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMAND_LINE_LIMIT } from '../../../src/cli/commands/infer';
import { InferenceEngine, MAX_BATCH_TOKENS, tokenBatches, tokenWindows } from '../../../src/core/inference/engine';
import { wholeWordSpan } from '../../../src/core/inference/postprocess';
import { dataDir, REPO, useFixtures } from './fixtures';
import { needSetup } from '../needSetup';

const CLI = path.join(REPO, 'dist', 'cli.js');

function sst2Dev(n: number): string[] {
  const rows = fs.readFileSync(path.join(dataDir(), 'sst2', 'dev.tsv'), 'utf8').split('\n').slice(1);
  return rows.map((r) => r.split('\t')[0].trim()).filter((t) => t.length > 0).slice(0, n);
}

interface SquadAnswer { context: string; question: string; text: string; start: number }
function squadDev(limit: number): SquadAnswer[] {
  const data = JSON.parse(fs.readFileSync(path.join(dataDir(), 'squad_v1.1', 'dev-v1.1.json'), 'utf8')) as {
    data: { paragraphs: { context: string; qas: { question: string; answers: { text: string; answer_start: number }[] }[] }[] }[];
  };
  const out: SquadAnswer[] = [];
  for (const a of data.data) for (const p of a.paragraphs) for (const q of p.qas) {
    out.push({ context: p.context, question: q.question, text: q.answers[0].text, start: q.answers[0].answer_start });
    if (out.length >= limit) return out;
  }
  return out;
}

describe('inference on many and long inputs', function () {
  this.timeout(300_000);
  const fx = useFixtures();
  const engine = new InferenceEngine({ idleMs: 60_000 });
  const model = (task: string): string => path.join(fx.dir, task);
  after(() => engine.dispose());

  it('predict classifies 350 SST-2 dev sentences given on the command line of the real CLI, one line each, in order', function () {
    needSetup(this, fs.existsSync(CLI), 'the built CLI (npm run build)');
    const texts = sst2Dev(350);
    assert.equal(texts.length, 350);
    assert.ok(texts.join(' ').length > 2 * COMMAND_LINE_LIMIT, 'the command line must be long enough to need the re-run');
    const r = spawnSync(process.execPath, [CLI, 'predict', '--json', '--model', model('sequence_classification'), ...texts], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string; probability: number });
    assert.deepEqual(rows.map((x) => x.text), texts);
    for (const x of rows) assert.ok(['negative', 'positive'].includes(x.label) && x.probability >= 0.5 && x.probability <= 1);
  });

  it('classify gives the same labels in token-bounded batches as one text at a time', async () => {
    const texts = sst2Dev(300);
    const all = await engine.classify(model('sequence_classification'), texts);
    assert.equal(all.length, texts.length);
    for (const i of [0, 17, 151, 299]) {
      const [one] = await engine.classify(model('sequence_classification'), [texts[i]]);
      assert.equal(all[i].label, one.label);
      assert.ok(Math.abs(all[i].probability - one.probability) < 1e-5, `${i}: ${all[i].probability} vs ${one.probability}`);
    }
  });

  it('batches never pad past MAX_BATCH_TOKENS (a longer text alone) and cover every text once', () => {
    const lengths = [...sst2Dev(300).map((t) => 2 + t.split(' ').length), 512, 3, 512, 511, 9];
    const batches = tokenBatches(lengths);
    assert.deepEqual(batches.flatMap(([a, b]) => Array.from({ length: b - a }, (_, k) => a + k)), lengths.map((_, i) => i));
    for (const [a, b] of batches) {
      const padded = (b - a) * Math.max(...lengths.slice(a, b));
      assert.ok(padded <= MAX_BATCH_TOKENS || b - a === 1, `batch ${a}-${b}: ${padded} padded tokens`);
    }
    assert.deepEqual(tokenBatches([9000, 10]), [[0, 1], [1, 2]]);
  });

  it('a text over the model length is classified on its start and marked truncated; the CLI says so', async function () {
    const long = sst2Dev(120).join(' ');
    const [c] = await engine.classify(model('sequence_classification'), [long]);
    assert.equal(c.truncated, true);
    const head = long.split(' ').slice(0, 300).join(' ');
    const [h] = await engine.classify(model('sequence_classification'), [head]);
    assert.ok(Math.abs(h.probability - c.probability) < 1e-5, 'the truncated text is read as its first 512 tokens');
    const [short] = await engine.classify(model('sequence_classification'), ['a charming film']);
    assert.equal(short.truncated, undefined);
    needSetup(this, fs.existsSync(CLI), 'the built CLI (npm run build)');
    const r = spawnSync(process.execPath, [CLI, 'predict', '--model', model('sequence_classification'), 'a charming film', long], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /note: text 2 is longer than the 512 tokens this model reads: only its first 512 tokens were classified/);
  });

  it('token classification reads a text longer than the model in windows: entities past 512 tokens are found, offsets exact', async () => {
    const sentences = sst2Dev(200);
    const text = sentences.join('\n');
    const enc = await engine.encode(model('token_classification'), text);
    assert.equal(enc.ids.length, 512, 'the fixture text must be longer than one window');
    assert.ok(text.length > 8192, 'and longer than one piece of encodeAll');
    const entities = await engine.tokenClassify(model('token_classification'), text);
    for (const e of entities) assert.equal(text.slice(e.start, e.end), e.text);
    const pastFirstWindow = enc.spans[510]![1];
    assert.ok(entities.some((e) => e.start >= pastFirstWindow), 'entities past the first 512 tokens are reported');
    // The start of the text gives the entities it gives alone (the first window is the same tokens).
    const head = text.slice(0, enc.spans[200]![0]);
    const alone = await engine.tokenClassify(model('token_classification'), head);
    const early = entities.filter((e) => e.end <= enc.spans[150]![1]);
    assert.deepEqual(alone.filter((e) => e.end <= enc.spans[150]![1]).map((e) => [e.type, e.start, e.end]), early.map((e) => [e.type, e.start, e.end]));
  });

  it('tokenWindows cuts at words, keeps [CLS]/[SEP] and covers every token once', async () => {
    const text = sst2Dev(150).join(' ');
    const full = await engine.encode(model('token_classification'), text);
    assert.equal(full.ids.length, 512);
    const closed = full.tokens[511] === '[SEP]' ? full : { ...full, ids: [...full.ids.slice(0, 511), 102], tokens: [...full.tokens.slice(0, 511), '[SEP]'] };
    const windows = tokenWindows(closed, 64);
    // Every inner token in order, once.
    assert.deepEqual(windows.flatMap((w) => w.ids.slice(1, -1)), closed.ids.slice(1, -1));
    for (const w of windows) {
      assert.ok(w.ids.length <= 64);
      assert.equal(w.tokens[0], '[CLS]');
      assert.equal(w.tokens[w.tokens.length - 1], '[SEP]');
      assert.ok(!w.tokens[1].startsWith('##'), `a window starts inside a word: ${w.tokens.slice(0, 4).join(' ')}`);
    }
  });

  it('wholeWordSpan: SQuAD dev answers cut before their last word piece come back whole (real offsets)', async () => {
    let cut = 0;
    const isWord = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{Nd}]/u.test(c);
    for (const q of squadDev(800)) {
      const end = q.start + q.text.length;
      if (!isWord(q.text[q.text.length - 1]) || isWord(q.context[end]) || isWord(q.context[q.start - 1])) continue;
      const enc = await engine.encode(model('question_answering'), q.context);
      const inside = enc.spans.flatMap((s, i) => (s && s[1] > q.start && s[0] < end ? [i] : []));
      if (inside.length < 2 || !enc.tokens[inside[inside.length - 1]].startsWith('##')) continue;
      const a = enc.spans[inside[0]]![0];
      const b = enc.spans[inside[inside.length - 2]]![1];
      assert.notEqual(q.context.slice(a, b), q.text);
      const [s, e] = wholeWordSpan(q.context, a, b);
      assert.equal(q.context.slice(s, e), q.text);
      cut++;
    }
    assert.ok(cut >= 20, `only ${cut} answers end in a split word`);
    assert.deepEqual(wholeWordSpan('Sergey Brin, 1998', 0, 9), [0, 11]);
    assert.deepEqual(wholeWordSpan('the RARS virus', 4, 6), [4, 8]);
    assert.deepEqual(wholeWordSpan('北京市是中国的首都', 0, 2), [0, 2]);
    assert.deepEqual(wholeWordSpan('emoji 😀abc def', 6, 9), [6, 11]);
  });

  it('answers from the engine on SQuAD dev never stop inside a word', async () => {
    const isWord = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{Nd}\p{M}]/u.test(c);
    let n = 0;
    for (const q of squadDev(40)) {
      const a = await engine.answer(model('question_answering'), q.question, q.context);
      if (!a) continue;
      assert.equal(q.context.slice(a.start, a.end), a.text);
      if (isWord(a.text[0])) assert.ok(!isWord(q.context[a.start - 1]), `starts inside a word: …${q.context.slice(a.start - 5, a.end)}`);
      if (isWord(a.text[a.text.length - 1])) assert.ok(!isWord(q.context[a.end]), `ends inside a word: ${q.context.slice(a.start, a.end + 5)}…`);
      n++;
    }
    assert.ok(n >= 30);
  });
});
