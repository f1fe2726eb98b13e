// Issue 14, datasets: one answer for label-prefixed (TREC) files whichever way they are given,
// `dataset import` refusing rows with errors unless told to skip them, QA split by paragraph,
// dataset ids checked on every command, and manifest sources read only inside the workspace.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../../../src/core/datasets/detect';
import { datasetDir, importDataset, readManifest, sourceStates, type DatasetManifest } from '../../../src/core/datasets/snapshot';
import type { QaRecord } from '../../../src/core/datasets/types';
import { writeHostileCorpus } from '../../fixtures/hostile/corpus';
import { DATA, tmpDir } from './helpers';
import { runCli as cli } from '../runCli';


const ADVICE = /Each line is a label, a space, then the text \(line 1: .*\)\. Import it as label-prefixed lines: bert-studio dataset import "trec-latin1\.txt" --label-prefixed/;

describe('datasets: hardening (issue 14)', function () {
  this.timeout(120_000);
  const dir = tmpDir('bert-studio-harden-');
  const corpus = writeHostileCorpus(path.join(dir, 'corpus'));
  const trec = corpus.find((c) => c.name === 'trec-latin1.txt')!.files.train;
  const ws = path.join(dir, 'ws');
  fs.mkdirSync(ws);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('TREC-style `LABEL:fine text` lines get the same advice from validate, import --task, --text/--label and --format tsv', async () => {
    const guess = await guessDataset(trec);
    assert.equal(guess.labelPrefixed?.label, 'ENTY:cremat');
    assert.equal(guess.labelPrefixed?.fine, true);

    const v = await cli(['dataset', 'validate', trec]);
    assert.equal(v.code, 0, 'warnings only: it is a valid text corpus');
    assert.match(v.stdout, /trec-latin1\.txt:1:1: warning: This plain-text corpus looks like label-prefixed lines/);
    assert.match(v.stdout, ADVICE);
    // The Latin-1 warning points at the first non-UTF-8 byte: line 66, "Pelé".
    assert.match(v.stdout, /trec-latin1\.txt:66:\d+: warning: The file is not UTF-8 \(byte 0xe9 here\)/);

    for (const extra of [['--task', 'sequence_classification'], ['--task', 'sequence_classification', '--text', '1', '--label', '0'], ['--format', 'tsv', '--text', '1', '--label', '0']]) {
      const r = await cli(['dataset', 'import', trec, '--workspace', ws, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /trec-latin1\.txt line 1: /, extra.join(' '));
      assert.match(r.stderr, ADVICE, extra.join(' '));
      assert.match(r.stderr, /add --coarse-labels to keep "ENTY" of "ENTY:cremat"/, 'the coarse-label variant is offered');
    }
    assert.ok(!fs.existsSync(path.join(ws, '.bert-studio', 'datasets', 'trec-latin1')), 'nothing imported');
  });

  it('the advice works: the converted TSV imports as sequence classification', async function () {
    const sh = (cmd: string): string => execFileSync('bash', ['-c', cmd], { cwd: path.dirname(trec) }).toString();
    try {
      sh('command -v sed iconv');
    } catch {
      this.skip();
    }
    sh(`iconv -f LATIN1 -t UTF-8 trec-latin1.txt > trec-utf8.txt && (printf 'label\\ttext\\n'; sed -E 's/^([^ ]+) /\\1\\t/' trec-utf8.txt) > trec-utf8.tsv`);
    const r = await cli(['dataset', 'import', path.join(path.dirname(trec), 'trec-utf8.tsv'), '--task', 'sequence_classification', '--text', 'text', '--label', 'label', '--workspace', ws, '--id', 'trec', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; report: { errors: number; warnings: number }; manifest: DatasetManifest };
    assert.equal(out.report.errors, 0);
    assert.equal(out.report.warnings, 0);
    assert.equal(out.manifest.splits.train?.count, 70);
    assert.ok(out.manifest.labels?.includes('HUM:ind'));
  });

  it('import exits 1 when rows have errors and writes nothing; the older snapshot stays; --skip-bad-rows imports and counts', async () => {
    const good = path.join(dir, 'good.tsv');
    const bad = path.join(dir, 'bad.tsv');
    fs.writeFileSync(good, 'sentence\tlabel\na fine film\t1\na dull film\t0\n');
    fs.writeFileSync(bad, 'sentence\tlabel\na fine film\t1\ntoo\tmany\tcolumns\nno label\t\na dull film\t0\n');
    assert.equal((await cli(['dataset', 'import', good, '--workspace', ws, '--id', 'keep'])).code, 0);
    const snap = path.join(ws, '.bert-studio', 'datasets', 'keep');
    const before = fs.readFileSync(path.join(snap, 'train.jsonl'), 'utf8');

    const r = await cli(['dataset', 'import', bad, '--workspace', ws, '--id', 'keep', '--replace']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /bad\.tsv:3:1: error: This row has 3 columns/);
    assert.match(r.stdout, /not imported: 2 errors \(2 rows would be left out\)\. Fix them, or import with --skip-bad-rows to leave the bad rows out\./);
    assert.equal(fs.readFileSync(path.join(snap, 'train.jsonl'), 'utf8'), before, 'the older snapshot is intact');
    assert.deepEqual(fs.readdirSync(path.dirname(snap)).filter((n) => n.startsWith('.')), [], 'no temporary folder left');

    const j = await cli(['dataset', 'import', bad, '--workspace', ws, '--id', 'keep', '--replace', '--json']);
    assert.equal(j.code, 1);
    const failed = JSON.parse(j.stdout) as { ok: boolean; skipped: number; reason: string };
    assert.equal(failed.ok, false);
    assert.equal(failed.skipped, 2);

    const s = await cli(['dataset', 'import', bad, '--workspace', ws, '--id', 'keep', '--replace', '--skip-bad-rows']);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /imported as "keep" .*; 2 rows with errors skipped \(--skip-bad-rows\)/);
    const sj = await cli(['dataset', 'import', bad, '--workspace', ws, '--id', 'keep2', '--skip-bad-rows', '--json']);
    assert.equal(sj.code, 0);
    const ok = JSON.parse(sj.stdout) as { ok: boolean; skipped: number; manifest: DatasetManifest };
    assert.equal(ok.ok, true);
    assert.equal(ok.skipped, 2);
    assert.equal(ok.manifest.splits.train?.count, 2);
  });

  it('dataset ids are checked on every command: a path is refused before anything is read', async () => {
    const other = path.join(dir, 'other', '.bert-studio', 'datasets', 'x');
    fs.mkdirSync(other, { recursive: true });
    fs.writeFileSync(path.join(other, 'manifest.json'), JSON.stringify({ version: 1, id: 'x', task: 'mlm', splits: {}, sources: [] }));
    for (const args of [
      ['dataset', 'stats', '--dataset', '../../../other/.bert-studio/datasets/x', '--workspace', ws],
      ['dataset', 'stats', '--dataset', other, '--workspace', ws],
      ['dataset', 'import', path.join(dir, 'good.tsv'), '--id', '../escape', '--workspace', ws],
      ['dataset', 'import', path.join(dir, 'good.tsv'), '--id', 'a/b', '--workspace', ws],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /Invalid dataset id .*paths are not accepted/, args.join(' '));
    }
    assert.ok(!fs.existsSync(path.join(ws, '.bert-studio', 'escape')));
    assert.throws(() => datasetDir(path.join(ws, '.bert-studio', 'datasets'), '..'), /Invalid dataset id/);
  });

  it('bad dataset flag values and non-file inputs are usage errors that name the flag or file and the fix', async () => {
    const good = path.join(dir, 'good.tsv');
    const cases: [string[], RegExp][] = [
      [['import', good, '--split', '2'], /--split "2": give a number from 0\.001 to 0\.9, e\.g\. --split 0\.1/],
      [['import', good, '--split', '0.1', '--seed', 'x'], /--seed "x": give an integer/],
      [['validate', good, '--quoting', 'maybe'], /--quoting "maybe": use one of on, off/],
      [['validate', good, '--tag-scheme', 'bio'], /--tag-scheme "bio": use one of iob2, iob1/],
      [['validate', good, '--text-mode', 'lines'], /--text-mode "lines": use one of sentences, documents, wikitext/],
      [['validate', dir], /FILE .*: is a folder, not a data file\. Pass the file itself/],
      [['validate', path.join(dir, 'nope.tsv')], /FILE .*nope\.tsv: no such file\. Check the path/],
      [['validate', good, '--validation', '/dev/null'], /--validation \/dev\/null: not a regular file/],
      [['stats', good, '--max-seq-length', 'abc'], /--max-seq-length "abc": give an integer from 8/],
      [['stats', good, '--tokenizer', 'bpe'], /--tokenizer "bpe": use one of transformers, wordpiece, whitespace/],
      [['stats', '--dataset', 'nope', '--workspace', ws], /--dataset nope: no such dataset in .*See "bert-studio dataset list"/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(['dataset', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
  });

  it('QA "split off 10%" keeps each paragraph in one split (SQuAD v1.1 dev)', async function () {
    const squad = path.join(DATA, 'squad_v1.1', 'dev-v1.1.json');
    if (!fs.existsSync(squad)) this.skip();
    const r = await importDataset({ task: 'question_answering', format: 'squad', mapping: {}, files: { train: squad }, seededSplit: { validationFraction: 0.1, seed: 42 } }, path.join(dir, 'qa'), { id: 'squad' });
    assert.ok(r.ok, r.reason);
    const read = (split: string): QaRecord[] =>
      fs
        .readFileSync(path.join(r.dir!, `${split}.jsonl`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as QaRecord);
    const train = read('train');
    const dev = read('validation');
    const trainContexts = new Set(train.map((q) => q.context));
    const devContexts = new Set(dev.map((q) => q.context));
    const shared = [...devContexts].filter((c) => trainContexts.has(c));
    assert.equal(shared.length, 0, `${shared.length} paragraphs in both splits`);
    const paragraphs = trainContexts.size + devContexts.size;
    const share = devContexts.size / paragraphs;
    assert.ok(share > 0.07 && share < 0.13, `validation holds ${(share * 100).toFixed(1)}% of ${paragraphs} paragraphs`);
    assert.equal(train.length + dev.length, r.report.files[0].counts.examples, 'every question kept once');
    // The same seed gives the same split.
    const again = await importDataset({ task: 'question_answering', format: 'squad', mapping: {}, files: { train: squad }, seededSplit: { validationFraction: 0.1, seed: 42 } }, path.join(dir, 'qa'), { id: 'squad2' });
    assert.equal(again.manifest?.splits.validation?.count, r.manifest?.splits.validation?.count);
  });

  it('manifest sources outside the workspace, devices, FIFOs, links out and oversized files are never read', async () => {
    const root = path.join(dir, 'srcws');
    fs.mkdirSync(root);
    const inside = path.join(root, 'data.tsv');
    fs.writeFileSync(inside, 'sentence\tlabel\na\t1\n');
    const big = path.join(root, 'big.tsv');
    fs.writeFileSync(big, 'x'.repeat(4096));
    fs.symlinkSync('/dev/zero', path.join(root, 'zero.tsv'));
    fs.symlinkSync('/etc/passwd', path.join(root, 'passwd.tsv'));
    let fifo: string | undefined = path.join(root, 'pipe.tsv');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      fifo = undefined;
    }
    fs.mkdirSync(path.join(root, 'folder.tsv'));
    const st = fs.statSync(inside);
    const src = (split: 'train' | 'validation' | 'test', p: string, bytes = 1, mtimeMs = 1): DatasetManifest['sources'][number] => ({ split, path: p, sha256: '0'.repeat(64), bytes, mtimeMs });
    const sources = [
      src('train', '/dev/zero'),
      src('train', '/etc/passwd'),
      src('train', path.join(root, 'zero.tsv')),
      src('train', path.join(root, 'passwd.tsv')),
      src('train', path.join(root, 'folder.tsv')),
      src('train', 'relative/data.tsv'),
      src('train', big, 4096, 1),
      ...(fifo ? [src('train', fifo)] : []),
      src('validation', inside, st.size, st.mtimeMs),
      src('test', inside, st.size, 1),
    ];
    const m = { sources } as unknown as DatasetManifest;
    const hashed: string[] = [];
    const hash = async (f: string): Promise<{ sha256: string }> => {
      hashed.push(f);
      return { sha256: 'f'.repeat(64) };
    };
    const states = await sourceStates(m, { workspace: root, hash, maxBytes: 1024 });
    const by = states.map((s) => `${path.basename(String(s.source.path))}:${s.state}`);
    assert.deepEqual(by, [
      'zero:unchecked',
      'passwd:unchecked',
      'zero.tsv:unchecked',
      'passwd.tsv:unchecked',
      'folder.tsv:unchecked',
      'data.tsv:unchecked',
      'big.tsv:unchecked',
      ...(fifo ? ['pipe.tsv:unchecked'] : []),
      'data.tsv:unchecked'.replace('unchecked', 'unchanged'),
      'data.tsv:changed',
    ]);
    assert.match(states[0].reason ?? '', /outside the workspace/);
    assert.match(states[4].reason ?? '', /not a regular file/);
    assert.match(states[6].reason ?? '', /not hashed/);
    assert.deepEqual(hashed, [fs.realpathSync(inside)], 'only the regular file inside the workspace is hashed');
    // No workspace (nothing open): nothing is read.
    const none = await sourceStates(m, { workspace: undefined, hash });
    assert.ok(none.every((s) => s.state === 'unchecked'));
    assert.equal(hashed.length, 1);
    // The real hasher refuses a FIFO on the open handle instead of blocking on it.
    if (fifo) {
      const { hashRegularFile } = await import('../../../src/core/datasets/snapshot');
      await assert.rejects(hashRegularFile(fifo), /not a regular file/);
    }
  });

  it('a snapshot read back keeps its manifest readable by the view', async () => {
    const m = await readManifest(path.join(ws, '.bert-studio', 'datasets', 'keep'));
    const states = await sourceStates(m, { workspace: dir });
    assert.deepEqual(states.map((s) => s.state), ['unchanged']);
  });
});
