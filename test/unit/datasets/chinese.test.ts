// Chinese data sets (issue 13): CMRC 2018's wrong answer offsets reported at their place with the
// recovered offset as a quick fix and never imported, MSRA NER's one-character-per-line CoNLL (tab
// or space separated), and CJK-aware statistics (characters, CJK share, [UNK] share).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../../../src/core/datasets/detect';
import { importDataset } from '../../../src/core/datasets/snapshot';
import { StatisticsBuilder } from '../../../src/core/datasets/stats';
import { findDefaultModel, loadTokenCounter, WordPieceCounter } from '../../../src/core/datasets/tokenCount';
import type { DatasetRequest } from '../../../src/core/datasets/types';
import { validateDataset } from '../../../src/core/datasets/validate';
import { DATA, REPO, sourceCount, tmpDir } from './helpers';
import { needSetup } from '../needSetup';

async function requestFor(train: string, validation?: string): Promise<DatasetRequest> {
  const g = await guessDataset(train);
  assert.ok(g.task, `no task guessed for ${train}`);
  return { task: g.task, format: g.format, mapping: g.mapping, files: { train, validation }, options: { ...g.options } };
}

interface CmrcAnswer { text: string; answer_start: number }
interface CmrcQuestion { id: string; answers: CmrcAnswer[] }
interface Cmrc { data: { paragraphs: { context: string; qas: CmrcQuestion[] }[] }[] }

/** Whether `text` starts at code point `start` of `context` (answer_start counts code points, as Python does). */
function startsAt(context: string, text: string, start: number): boolean {
  const cps = [...context];
  return text.length > 0 && start >= 0 && cps.slice(start, start + [...text].length).join('') === text;
}

/** ChnSentiCorp reviews (CSV: label,review; quoted fields), the first `n` non-empty ones. */
function reviews(n: number): string[] {
  const out: string[] = [];
  const text = fs.readFileSync(path.join(DATA, 'chnsenticorp', 'ChnSentiCorp_htl_all.csv'), 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const m = /^[01],"?(.*?)"?\r?$/.exec(line);
    if (m && m[1].trim() && !m[1].includes('"')) out.push(m[1]);
    if (out.length >= n) break;
  }
  return out;
}

describe('datasets: Chinese', function () {
  this.timeout(120_000);
  let work: string;
  before(function () {
    needSetup(this, fs.existsSync(path.join(DATA, 'cmrc2018')), `shared Chinese data at ${DATA}`);
    work = tmpDir();
  });
  after(() => work && fs.rmSync(work, { recursive: true, force: true }));

  it('CMRC 2018 dev: every wrong answer_start reported at its place; the recovered offset as a quick fix; those questions never imported', async () => {
    const file = path.join(DATA, 'cmrc2018', 'cmrc2018_dev.json');
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Cmrc;
    let wrong = 0;
    let recoverable = 0;
    let questions = 0;
    let clean = 0;
    const wrongIds = new Set<string>();
    const wrongAnswers: { id: string; context: string; answer: CmrcAnswer }[] = [];
    for (const p of doc.data.flatMap((a) => a.paragraphs)) {
      for (const q of p.qas) {
        questions++;
        const bad = q.answers.filter((a) => !startsAt(p.context, a.text, a.answer_start));
        wrong += bad.length;
        recoverable += bad.filter((a) => a.text && p.context.includes(a.text)).length;
        if (bad.length === 0) clean++;
        else wrongIds.add(q.id);
        for (const answer of bad) wrongAnswers.push({ id: q.id, context: p.context, answer });
      }
    }
    assert.equal(wrong, sourceCount('cmrc2018', 'cmrc2018_dev.json', 5), 'the mismatches SOURCE.md counts');

    const report = await validateDataset(await requestFor(file));
    const diags = report.files.flatMap((f) => f.diagnostics);
    const starts = diags.filter((d) => d.code === 'squad.answerStart');
    const missing = diags.filter((d) => d.code === 'squad.answerMissing');
    assert.equal(starts.length, recoverable);
    assert.equal(starts.length + missing.length, wrong);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const d of starts) {
      // At its place: the diagnostic's range is the answer_start value on its line.
      const line = lines[d.line - 1];
      const value = line.slice(d.column - 1, (d.endColumn ?? d.column) - 1);
      assert.match(line, /"answer_start"/, `line ${d.line}`);
      assert.match(value, /^\d+$/, `line ${d.line} column ${d.column}`);
      // The fix writes an offset where the answer text really starts.
      assert.ok(d.fix, `line ${d.line} has a quick fix`);
      const edit = d.fix.edits[0];
      assert.deepEqual([edit.line, edit.column, edit.endColumn], [d.line, d.column, d.endColumn]);
      const w = wrongAnswers.find((x) => x.answer.answer_start === Number(value) && d.message.includes(`"${x.answer.text.slice(0, 57)}`));
      assert.ok(w, `line ${d.line}: a wrong answer with answer_start ${value} (${d.message})`);
      assert.ok(startsAt(w.context, w.answer.text, Number(edit.newText)), `${w.id}: the fixed offset ${edit.newText} points at "${w.answer.text}"`);
    }

    // Imported as training data, the questions with a wrong span are left out (never trained on).
    const r = await importDataset(await requestFor(file), path.join(work, 'datasets'), { id: 'cmrc' });
    assert.ok(r.ok, r.reason);
    assert.equal(r.manifest!.splits.train?.count, clean);
    assert.equal(clean, questions - wrongIds.size);
    const ids = new Set(fs.readFileSync(path.join(r.dir!, 'train.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id));
    for (const id of wrongIds) assert.ok(!ids.has(id), `${id}, with a wrong offset, is not in the snapshot`);
  });

  it('MSRA NER: one character per line imports with its sentences, tab or space separated', async () => {
    const file = path.join(DATA, 'msra_ner', 'dh_msra.txt');
    const g = await guessDataset(file);
    assert.equal(g.task, 'token_classification');
    const r = await importDataset(await requestFor(file), path.join(work, 'datasets'), { id: 'msra' });
    assert.ok(r.ok, r.reason);
    assert.equal(r.manifest!.splits.train?.count, sourceCount('msra_ner', 'dh_msra.txt', 1));
    assert.equal(r.manifest!.counts.train?.tokens, sourceCount('msra_ner', 'dh_msra.txt', 2));
    const first = JSON.parse(fs.readFileSync(path.join(r.dir!, 'train.jsonl'), 'utf8').split('\n')[0]) as { tokens: string[]; tags: string[] };
    assert.ok(first.tokens.every((t) => [...t].length === 1), 'one character per token');

    // The same sentences with a space instead of the tab.
    const head = fs.readFileSync(file, 'utf8').split('\n').slice(0, 2000).join('\n').replace(/\t/g, ' ');
    const spaced = path.join(work, 'msra-spaced.txt');
    fs.writeFileSync(spaced, `${head}\n`);
    const s = await importDataset(await requestFor(spaced), path.join(work, 'datasets'), { id: 'msra-spaced' });
    assert.ok(s.ok, s.reason);
    const rec = JSON.parse(fs.readFileSync(path.join(s.dir!, 'train.jsonl'), 'utf8').split('\n')[0]) as { tokens: string[]; tags: string[] };
    assert.deepEqual(rec, { ...rec, tokens: first.tokens, tags: first.tags });
  });

  it('statistics count characters, the CJK share and [UNK]s: a Chinese vocabulary knows its characters, a missing one is [UNK]', () => {
    // Reviews of Chinese characters and punctuation only, so that the vocabulary below is complete.
    const texts = reviews(3000).filter((t) => /^[\p{Script=Han}\p{P}]+$/u.test(t)).slice(0, 300);
    assert.ok(texts.length >= 50, `${texts.length} reviews`);
    const chars = [...new Set(texts.join(''))].filter((c) => /\p{Script=Han}/u.test(c));
    const dir = path.join(work, 'zh-vocab');
    fs.mkdirSync(dir, { recursive: true });
    const writeVocab = (drop?: string): WordPieceCounter => {
      const punct = [...new Set(texts.join('').match(/\p{P}/gu) ?? [])];
      fs.writeFileSync(path.join(dir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...chars.filter((c) => c !== drop), ...punct].join('\n'));
      return WordPieceCounter.fromFolder(dir)!;
    };
    const stats = (counter: WordPieceCounter): ReturnType<StatisticsBuilder['result']>['splits'][number] => {
      const b = new StatisticsBuilder('sequence_classification', { counter, maxSeqLength: 128 });
      for (const text of texts) b.add('train', { text, label: '1', source: { file: 'x', line: 1 } });
      return b.result().splits[0];
    };
    const full = stats(writeVocab());
    const all = [...texts.join('')];
    assert.deepEqual(full.characters, { count: all.length, cjk: all.filter((c) => /\p{Script=Han}/u.test(c)).length, cjkShare: all.filter((c) => /\p{Script=Han}/u.test(c)).length / all.length });
    assert.equal(full.unknownTokens?.count, 0);
    const drop = chars[0];
    const without = stats(writeVocab(drop));
    assert.equal(without.unknownTokens?.count, all.filter((c) => c === drop).length, `every ${drop} is one [UNK]`);
    assert.equal(without.unknownTokens?.share, without.unknownTokens!.count / (without.tokens.mean * without.rows));
  });

  it('[UNK] share under the default (English) model: the model\'s own tokenizer and the vocab.txt counter agree', async function () {
    const model = findDefaultModel([REPO]);
    needSetup(this, model && fs.existsSync(path.join(model, 'tokenizer.json')) && fs.existsSync(path.join(model, 'vocab.txt')), 'the default model with tokenizer.json and vocab.txt');
    const texts = reviews(200);
    const hf = await loadTokenCounter(model, 'transformers');
    const wp = WordPieceCounter.fromFolder(model!)!;
    assert.equal(hf.kind, 'transformers');
    let unknown = 0;
    let tokens = 0;
    for (const t of texts) {
      const a = hf.measure!(t);
      assert.deepEqual(wp.measure(t), a, t);
      unknown += a.unknown;
      tokens += a.tokens;
    }
    // Most of Chinese is unknown to an English vocabulary: the warning the statistics exist to give.
    assert.ok(unknown / tokens > 0.3, `[UNK] share ${unknown / tokens}`);
  });
});
