// The JavaScript WordPiece (src/core/inference/wordpiece.ts) against the native `tokenizers` library
// it stands in for: the same ids, tokens, type ids, UTF-16 spans, segments and words on every real
// text of SST-2 dev, CoNLL-2003 validation, the first SQuAD dev articles and wikitext-2 validation,
// and on hostile ASCII (unknown pieces, words over max_input_chars_per_word, punctuation runs, the
// text of special tokens), for an uncased and a cased WordPiece trained on the shared data and the
// NER fixture model's tokenizer, and the one built from a vocab.txt alone. Texts it does not take fall
// back to the native tokenizer.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelTokenizer } from '../../../src/core/inference/tokenizer';
import { dataDir, ensureFixtures, tokenizerFixtures } from './fixtures';
import { needSetup } from '../needSetup';

function conllSentences(file: string): string[] {
  const out: string[] = [];
  let words: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('-DOCSTART-')) {
      if (words.length) out.push(words.join(' '));
      words = [];
    } else words.push(line.split(' ')[0]);
  }
  return out;
}

function realTexts(): string[] {
  const data = dataDir();
  const sst2 = fs.readFileSync(path.join(data, 'sst2/dev.tsv'), 'utf8').split('\n').slice(1).map((r) => r.split('\t')[0]);
  const squad = JSON.parse(fs.readFileSync(path.join(data, 'squad_v1.1/dev-v1.1.json'), 'utf8')) as { data: { paragraphs: { context: string; qas: { question: string }[] }[] }[] };
  const qa = squad.data.slice(0, 8).flatMap((a) => a.paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]));
  const wiki = fs.readFileSync(path.join(data, 'wikitext-2/valid.txt'), 'utf8').split('\n').slice(0, 1500);
  return [...sst2, ...conllSentences(path.join(data, 'conll2003/valid.txt')), ...qa, ...wiki];
}

const HOSTILE = [
  '', ' ', '\t\r\n', 'a', '  leading and trailing  ', 'A  B\t\tC\r\nD',
  'x'.repeat(100), 'x'.repeat(101), `${'ab'.repeat(60)} ok`, 'qqqqzzzxxjkvw', 'zzz##yyy ## #',
  '...!!!???', "don't stop-believing, U.S.A.", '~`^_|\\{}[]<>@#$%&*()+=', '@user #tag http://example.com/a?b=c&d=e',
  'HeLLo WoRLD MiXeD CaSe', '1234567890 3.14159 -0.5e10', 'unaffable antidisestablishmentarianism superjumbotastic',
];
/** Not for the JavaScript tokenizer: beyond printable ASCII, or holding a special token's text. */
const DECLINED = ['café', 'emoji 😀', 'tab\u000bvertical', 'nul\u0000char', 'fill the [MASK] here', 'a [cls] b', 'no-break\u00a0space'];

describe('JavaScript WordPiece: the native tokenizer\'s encodings, without the thread-pool round trip', function () {
  this.timeout(300_000);
  const folders: Record<string, string> = {};

  before(function () {
    this.timeout(0); // the tokenizer fixtures train once per machine
    const tokenizers = tokenizerFixtures();
    const fx = ensureFixtures();
    needSetup(this, tokenizers !== undefined && fx ? fx : undefined, 'tokenizer and inference fixtures (the venv Python and the shared data)');
    folders['wordpiece-uncased'] = path.join(tokenizers as string, 'wordpiece-uncased');
    folders['wordpiece-cased'] = path.join(tokenizers as string, 'wordpiece-cased');
    folders['NER fixture'] = path.join(fx!.dir, 'token_classification', 'onnx');
    // A folder with vocab.txt alone: the tokenizer.json built from it has a BertProcessing post-processor.
    folders['vocab.txt only'] = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-wordpiece-vocab-'));
    const vocab = fs.readFileSync(path.join(folders['wordpiece-uncased'], 'tokenizer.json'), 'utf8');
    const ids = (JSON.parse(vocab) as { model: { vocab: Record<string, number> } }).model.vocab;
    const tokens = Object.keys(ids).sort((a, b) => ids[a] - ids[b]);
    fs.writeFileSync(path.join(folders['vocab.txt only'], 'vocab.txt'), `${tokens.join('\n')}\n`);
  });
  after(() => {
    if (folders['vocab.txt only']) fs.rmSync(folders['vocab.txt only'], { recursive: true, force: true });
  });

  for (const kind of ['wordpiece-uncased', 'wordpiece-cased', 'NER fixture', 'vocab.txt only']) {
    it(`${kind}: every real and hostile text encodes as the native tokenizer encodes it, within and over the length`, async () => {
      const fast = await ModelTokenizer.load(folders[kind]);
      const native = await ModelTokenizer.load(folders[kind], { javascript: false });
      const texts = [...realTexts(), ...HOSTILE, ...DECLINED];
      let mismatches = 0;
      const first: string[] = [];
      for (let i = 0; i < texts.length; i += 64) {
        const batch = texts.slice(i, i + 64);
        for (const max of [512, 24]) {
          const ours = await Promise.all(batch.map((t) => fast.encode(t, undefined, max)));
          const theirs = await Promise.all(batch.map((t) => native.encode(t, undefined, max)));
          batch.forEach((t, k) => {
            if (JSON.stringify(ours[k]) === JSON.stringify(theirs[k])) return;
            mismatches++;
            if (first.length < 3) first.push(`${JSON.stringify(t.slice(0, 60))} (max ${max}): ${JSON.stringify(ours[k].tokens)} vs ${JSON.stringify(theirs[k].tokens)}`);
          });
        }
      }
      assert.equal(mismatches, 0, first.join('\n'));
      // The comparison is of the JavaScript tokenizer: most real texts are plain ASCII and go through it.
      const taken = texts.filter((t) => fast.ascii?.encode(t) !== undefined).length;
      assert.ok(taken > 0.85 * texts.length, `${taken} of ${texts.length} texts through the JavaScript tokenizer`);
      // It declines what it does not implement; the native tokenizer answers those (compared above).
      for (const t of DECLINED) assert.equal(fast.ascii?.encode(t), undefined, t);
    });
  }

  it('is used only for a WordPiece tokenizer.json of the shape it implements: not for BPE or Unigram', async () => {
    const tokenizers = path.dirname(folders['wordpiece-uncased']);
    for (const kind of ['bpe', 'unigram', 'unigram-nfkc']) {
      const tok = await ModelTokenizer.load(path.join(tokenizers, kind));
      assert.equal(tok.ascii, undefined, kind);
    }
  });
});
