// The dashboard's data map and slices on a real (tiny) SST-2 run: the map from its dynamics.jsonl
// (regions, snippets from the real source lines, the page's selection agreeing with the host's), the
// dashboard session opening a training example at its source line, and the slices of real
// evaluations (`evaluate` predictions.jsonl, `label-errors` label_issues.jsonl) checked against the
// files themselves; the pattern checks on purpose-built input.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inRectangle, readDynamics, regionOf, snippetFrom, summarize, type DynamicsRow } from '../../../src/core/analysis/cartography';
import { findLabelErrors, readLabelIssues } from '../../../src/core/analysis/labelIssues';
import { checkPattern, computeSlices, lengthBucket, parsePredictions, wordCount, type PredictionRow } from '../../../src/core/analysis/slices';
import { loadCartography, loadSlices } from '../../../src/core/dashboard/analysisData';
import { RunModel } from '../../../src/core/dashboard/model';
import { DashboardSession, type SessionHost } from '../../../src/core/dashboard/session';
import { checkSource } from '../../../src/core/dashboard/sourceAccess';
import { evaluateRun } from '../../../src/core/runs/evaluate';
import type { Misclassified } from '../../../src/core/runs/protocol';
import { RunStore } from '../../../src/core/runs/store';
import { correctnessClass, fromPixel, nearestPoint, plotArea, pointsInPixelRect, regionPoints, toPixel } from '../../../webview/dashboard/mapGeometry';
import type { CartographyMap, HostMessage } from '../../../webview/dashboard/protocol';
import { tmpDir } from '../datasets/helpers';
import { needSetup } from '../needSetup';
import { runCli } from '../runCli';
import { DATA, DEV_ROWS, FLIPPED_LINES, PYTHON, ROOT, RUN_ID, sst2RunAvailable, tinySst2Run, TRAIN_ROWS, type Sst2Run } from './sst2Run';

/** The sentence column of a line of an SST-2 TSV. */
function sentenceAt(file: string, line: number): string {
  return (fs.readFileSync(file, 'utf8').split('\n')[line - 1] ?? '').split('\t')[0]?.trim() ?? '';
}

function sentences(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0] as string);
}

describe('slice patterns and buckets', () => {
  it('refuses a bad regular expression with what is wrong and the fix, and never throws', () => {
    for (const bad of ['(unclosed', '[a-', '*start', 'a{2,1}']) {
      const c = checkPattern(bad, 'regex');
      assert.equal(c.ok, false, bad);
      if (!c.ok) assert.match(c.message, /is not a valid regular expression \(.+\)\. Escape special characters .* or choose Keyword/);
    }
    // The same text as a keyword is fine: it is matched as typed.
    const kw = checkPattern('(unclosed', 'keyword');
    assert.ok(kw.ok && kw.test('an (UNCLOSED bracket') && !kw.test('closed'));
  });

  it('refuses empty, overlong and exponential patterns, and matches case-insensitively', () => {
    const empty = checkPattern('   ', 'regex');
    assert.ok(!empty.ok && /Type a regular expression/.test(empty.message));
    const long = checkPattern('a'.repeat(201), 'keyword');
    assert.ok(!long.ok && /201 characters long; use at most 200/.test(long.message));
    for (const evil of ['(a+)+$', '(\\w*)*x', '(x+x+)+y', '(ab{1,3})+']) {
      const c = checkPattern(evil, 'regex');
      assert.ok(!c.ok && /exponential time/.test(c.message), evil);
    }
    const re = checkPattern("n't\\b", 'regex');
    assert.ok(re.ok && re.test("it DOESN'T work") && !re.test('nothing'));
    const fine = checkPattern('(good|great)+', 'regex');
    assert.ok(fine.ok && fine.test('a GREAT film'), 'an alternation repeated is not nested repetition');
  });

  it('counts words of text and pair and names the length buckets', () => {
    assert.equal(wordCount({ text: '  a  tiny\tfilm ', text_pair: 'two words' }), 5);
    assert.deepEqual([0, 5, 6, 10, 11, 40, 80, 81, 500].map(lengthBucket), ['≤ 5 words', '≤ 5 words', '6–10 words', '6–10 words', '11–20 words', '21–40 words', '41–80 words', '> 80 words', '> 80 words']);
  });
});

describe('data map and slices on a real tiny SST-2 run', function () {
  this.timeout(900_000);
  let run: Sst2Run;
  let rows: DynamicsRow[];
  const allow = (r: Sst2Run) => (file: string): string | undefined => {
    const c = checkSource({ file, line: 1 }, { workspaces: [r.workspace], dataSources: [], base: r.workspace });
    return c.ok ? c.file : undefined;
  };

  before(async function () {
    needSetup(this, sst2RunAvailable(), 'the venv (scripts/setup.sh) and the shared SST-2 data');
    run = await tinySst2Run();
    const read = await readDynamics(run.runDir);
    assert.ok(read, 'the run wrote dynamics.jsonl');
    rows = read.rows;
  });

  it('maps every training example with its region and the text of its source line', async () => {
    const loaded = await loadCartography(run.runDir, 'sequence_classification', allow(run));
    const map = loaded.map as CartographyMap;
    assert.ok(map, loaded.message);
    assert.equal(map.examples, TRAIN_ROWS);
    assert.equal(map.shown, TRAIN_ROWS);
    assert.equal(map.epochs, 3);
    assert.equal(map.unit, 'example');
    const summary = summarize(rows);
    assert.deepEqual(map.regions, summary.regions);
    assert.equal(map.regions.easy + map.regions.ambiguous + map.regions.hard, TRAIN_ROWS);
    // The flipped labels: the map shows the label as the file now has it, not SST-2's.
    const original = fs.readFileSync(path.join(DATA, 'sst2', 'train.tsv'), 'utf8').split('\n');
    const flipped = map.points.filter((p) => FLIPPED_LINES.includes(loaded.rows.get(p.example)?.source?.line ?? 0));
    assert.equal(flipped.length, FLIPPED_LINES.length);
    for (const p of flipped) assert.notEqual(p.gold, original[(loaded.rows.get(p.example)?.source?.line ?? 0) - 1]?.split('\t')[1]?.trim());
    for (const pt of map.points) {
      const row = loaded.rows.get(pt.example) as DynamicsRow;
      assert.equal(pt.region, regionOf(row));
      assert.equal(pt.gold, row.gold);
      assert.ok(pt.openable);
      assert.equal(row.source?.file, run.train);
      // The snippet is the example's own line: its sentence, then its label.
      const whole = `${sentenceAt(run.train, row.source?.line ?? 0).replace(/\s+/g, ' ')} · ${row.gold}`;
      assert.equal(pt.snippet, whole.length > 160 ? `${whole.slice(0, 159)}…` : whole);
    }
    // Sampled when larger than the page draws: an even spread, the regions still counted over all.
    const sampled = await loadCartography(run.runDir, 'sequence_classification', allow(run), 10);
    assert.equal(sampled.map?.shown, 10);
    assert.equal(sampled.map?.examples, TRAIN_ROWS);
    assert.deepEqual(sampled.map?.regions, summary.regions);
    // A source outside what the host allows is neither read nor openable.
    const denied = await loadCartography(run.runDir, 'sequence_classification', () => undefined);
    assert.ok(denied.map?.points.every((p) => !p.openable && /^train-head\.tsv:\d+$/.test(p.snippet)));
  });

  it('selects on the page as the host sorts and filters: regions in the same order, rectangles the same examples', async () => {
    const map = (await loadCartography(run.runDir, 'sequence_classification', allow(run))).map as CartographyMap;
    const byRegion = summarize(rows).byRegion;
    for (const region of ['easy', 'ambiguous', 'hard'] as const) {
      assert.deepEqual(regionPoints(map.points, region).map((p) => p.example), byRegion[region].map((r) => r.example), region);
    }
    const plot = plotArea(600, 320);
    const all = pointsInPixelRect(plot, map.points, [plot.left, plot.top], [plot.left + plot.width, plot.top + plot.height]);
    assert.equal(all.length, TRAIN_ROWS, 'the whole plot holds every point');
    // A rectangle around the middle of the data, dragged from bottom right to top left.
    const conf = rows.map((r) => r.confidence).sort((a, b) => a - b);
    const vari = rows.map((r) => r.variability).sort((a, b) => a - b);
    const a = toPixel(plot, vari[Math.floor(TRAIN_ROWS * 0.8)] as number, conf[Math.floor(TRAIN_ROWS * 0.2)] as number);
    const b = toPixel(plot, vari[Math.floor(TRAIN_ROWS * 0.1)] as number, conf[Math.floor(TRAIN_ROWS * 0.9)] as number);
    const lo = fromPixel(plot, b[0], a[1]);
    const hi = fromPixel(plot, a[0], b[1]);
    const page = pointsInPixelRect(plot, map.points, a, b).map((p) => p.example).sort((x, y) => x - y);
    const host = inRectangle(rows, { v0: lo.variability, v1: hi.variability, c0: lo.confidence, c1: hi.confidence }).map((r) => r.example).sort((x, y) => x - y);
    assert.deepEqual(page, host);
    assert.ok(page.length > 0 && page.length < TRAIN_ROWS, `a real selection (${page.length})`);
    // The point under the pointer: the nearest one (points overlap on a small map), none when far.
    const target = map.points[7];
    const [x, y] = toPixel(plot, target.variability, target.confidence);
    const dist = (p: (typeof map.points)[number]): number => Math.hypot(toPixel(plot, p.variability, p.confidence)[0] - (x + 1), toPixel(plot, p.variability, p.confidence)[1] - (y - 1));
    const found = nearestPoint(plot, map.points, x + 1, y - 1);
    assert.ok(found);
    assert.equal(dist(found), Math.min(...map.points.map(dist)));
    assert.equal(nearestPoint(plot, [target], x + 40, y), undefined);
    assert.deepEqual([0, 0.2, 1 / 3, 0.5, 2 / 3, 0.8, 1].map(correctnessClass), ['low', 'low', 'mid', 'mid', 'mid', 'high', 'high']);
    // As the worker writes them (6 decimals): a third of 3 epochs is still the middle class.
    const written = new Set(rows.filter((r) => r.epochs === 3 && r.correctness > 0 && r.correctness < 1).map((r) => correctnessClass(r.correctness)));
    assert.ok(written.size === 0 || (written.size === 1 && written.has('mid')), `1/3 and 2/3 as written: ${[...written].join(', ')}`);
    assert.equal(correctnessClass(0.333333), 'mid');
    assert.equal(correctnessClass(0.666667), 'mid');
  });

  it('the dashboard session sends the map and opens a listed example at its source line', async () => {
    const opened: Misclassified[] = [];
    const evaluated: string[] = [];
    const posted: HostMessage[] = [];
    const store = new RunStore(run.runsDir);
    const host: SessionHost = {
      post: (m) => posted.push(m),
      warn: () => undefined,
      store: () => store,
      openExample: (_id, ex) => opened.push(ex),
      openLog: () => undefined,
      resolveSource: (_id, file) => allow(run)(file),
      evaluate: (id) => evaluated.push(id),
    };
    const session = new DashboardSession(host, { flushMs: 60_000, runsPollMs: 60_000 });
    try {
      session.receive({ type: 'ready', selection: { primary: RUN_ID, compare: [], pinned: true } });
      session.receive({ type: 'requestCartography', runId: RUN_ID });
      for (let i = 0; i < 200 && !posted.some((m) => m.type === 'cartography'); i++) await new Promise((r) => setTimeout(r, 25));
      const msg = posted.find((m): m is Extract<HostMessage, { type: 'cartography' }> => m.type === 'cartography');
      assert.ok(msg?.map, 'the map was sent');
      const hardest = regionPoints(msg.map.points, 'hard')[0] ?? regionPoints(msg.map.points, 'ambiguous')[0] ?? msg.map.points[0];
      session.receive({ type: 'openTrainingExample', runId: RUN_ID, example: hardest.example });
      assert.equal(opened.length, 1);
      const src = opened[0].source as { file: string; line: number };
      assert.equal(src.file, run.train);
      assert.ok(hardest.snippet.startsWith(sentenceAt(src.file, src.line).replace(/\s+/g, ' ').slice(0, 100)), 'the line opened is the example listed');
      session.receive({ type: 'openTrainingExample', runId: RUN_ID, example: 10_000 });
      assert.equal(opened.length, 1, 'an example the map does not hold opens nothing');
      assert.ok(posted.some((m) => m.type === 'notice' && /no source line/.test(m.message)));
      // The Slices section's "Evaluate on…": for a run the store knows only.
      session.receive({ type: 'evaluateRun', runId: RUN_ID });
      session.receive({ type: 'evaluateRun', runId: 'no-such-run' });
      session.receive({ type: 'evaluateRun', runId: '../escape' });
      assert.deepEqual(evaluated, [RUN_ID]);
    } finally {
      session.dispose();
    }
  });

  it('slices real evaluations: counts and accuracy agree with predictions.jsonl, metrics.json and the data', async () => {
    const opts = { python: PYTHON, packageRoot: ROOT, model: run.runDir, device: 'cpu' };
    const dev = await evaluateRun({ ...opts, data: { file: run.dev, split: 'validation', name: 'dev-head' } });
    const trainEval = await evaluateRun({ ...opts, data: { file: run.train, split: 'train', name: 'train-head' } });
    await findLabelErrors({ python: PYTHON, packageRoot: ROOT, run: run.runDir });
    const issues = (await readLabelIssues(run.runDir))?.issues ?? [];
    assert.ok(issues.length > 0, 'with 10% of the training labels flipped, cleanlab flags some examples');

    const model = new RunModel();
    model.ingest(new RunStore(run.runsDir).events(RUN_ID));
    const validation = model.evalReport();
    const keyword = await loadSlices(run.runDir, { evaluation: 'dev-head', pattern: 'film', mode: 'keyword' }, validation);
    const r = keyword.report;
    assert.ok(r, keyword.note);
    assert.deepEqual(new Set(keyword.evaluations), new Set(['dev-head', 'train-head']));
    assert.equal(r.evaluation, 'dev-head');
    assert.equal(r.examples, DEV_ROWS);
    const preds = parsePredictions(fs.readFileSync(path.join(dev.out, 'predictions.jsonl'), 'utf8')).rows;
    const correct = preds.filter((p) => p.correct).length;
    assert.equal(r.accuracy, correct / DEV_ROWS);
    assert.ok(Math.abs((r.accuracy ?? -1) - (dev.metrics.accuracy as number)) < 1e-9, 'the same accuracy as the worker reports');
    for (const group of [r.byLength, r.byLabel]) {
      assert.equal(group.reduce((s, x) => s + x.count, 0), DEV_ROWS);
      assert.equal(group.reduce((s, x) => s + x.correct, 0), correct);
    }
    const devSentences = sentences(run.dev);
    assert.equal(r.byLength.find((b) => b.name === '≤ 5 words')?.count ?? 0, devSentences.filter((s) => s.split(/\s+/).filter(Boolean).length <= 5).length);
    assert.deepEqual(r.byLabel.map((l) => [l.name, l.count]), ['0', '1'].map((l) => [l, fs.readFileSync(run.dev, 'utf8').split('\n').slice(1).filter((x) => x.endsWith(`\t${l}`)).length]));
    assert.equal(r.pattern?.matching.count, devSentences.filter((s) => s.toLowerCase().includes('film')).length);
    assert.equal((r.pattern?.matching.count ?? 0) + (r.pattern?.rest.count ?? 0), DEV_ROWS);

    const regex = await loadSlices(run.runDir, { evaluation: 'dev-head', pattern: "\\b(isn't|not|no)\\b", mode: 'regex' }, validation);
    assert.equal(regex.report?.pattern?.matching.count, devSentences.filter((s) => /\b(isn't|not|no)\b/iu.test(s)).length);
    const bad = await loadSlices(run.runDir, { evaluation: 'dev-head', pattern: '(not', mode: 'regex' }, validation);
    assert.match(bad.patternError ?? '', /"\(not" is not a valid regular expression/);
    assert.equal(bad.report?.examples, DEV_ROWS, 'the other slices are still shown');
    assert.equal(bad.report?.pattern, undefined);

    // The validation eval (the run's own events) by gold label: its confusion matrix, exact.
    const byLabel = keyword.validationByLabel ?? [];
    assert.equal(byLabel.reduce((s, x) => s + x.count, 0), DEV_ROWS);
    assert.ok(Math.abs(byLabel.reduce((s, x) => s + x.correct, 0) / DEV_ROWS - (validation?.metrics.accuracy ?? -1)) < 1e-9);

    // Label errors are found on the training data: flagged in the train-head evaluation, none in dev.
    assert.equal(r.flagged?.issues, issues.length);
    assert.equal(r.flagged?.flagged.count, 0);
    assert.match(keyword.note ?? '', new RegExp(`None of the ${issues.length} flagged examples is in this evaluation`));
    const onTrain = await loadSlices(run.runDir, { evaluation: 'train-head' }, validation);
    assert.equal(onTrain.report?.examples, TRAIN_ROWS);
    assert.equal(onTrain.report?.flagged?.flagged.count, new Set(issues.map((i) => i.source?.line)).size);
    assert.equal((onTrain.report?.flagged?.flagged.count ?? 0) + (onTrain.report?.flagged?.rest.count ?? 0), TRAIN_ROWS);
    const trainPreds = parsePredictions(fs.readFileSync(path.join(trainEval.out, 'predictions.jsonl'), 'utf8')).rows;
    const flaggedLines = new Set(issues.map((i) => i.source?.line));
    assert.equal(onTrain.report?.flagged?.flagged.correct, trainPreds.filter((p) => flaggedLines.has(p.source?.line ?? -1) && p.correct).length);

    // The CLI prints the same figures, and refuses bad input naming the flag and the fix.
    const json = await runCli(['analyze', 'slices', '--model', run.runDir, '--evaluation', 'dev-head', '--match', 'film', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), JSON.parse(JSON.stringify(r)));
    const text = await runCli(['analyze', 'slices', '--model', run.runDir, '--evaluation', 'train-head', '--regex', "n't"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${TRAIN_ROWS} examples of evaluation train-head, accuracy`));
    assert.match(text.stdout, /By regular expression:\n {2}matching \/n't\/i +\d+ +[\d.]+%\n {2}not matching/);
    assert.match(text.stdout, new RegExp(`Likely label errors \\(${issues.length} flagged in the run\\)`));
    for (const [args, message] of [
      [['--regex', '(film'], /--regex: "\(film" is not a valid regular expression .* choose Keyword/],
      [['--regex', '(a+)+'], /--regex: .* exponential time/],
      [['--match', 'a', '--regex', 'b'], /--match and --regex: give one of them/],
      [['--evaluation', 'nope'], /--evaluation "nope": the run has no such evaluation; use one of .*dev-head/],
    ] as const) {
      const out = await runCli(['analyze', 'slices', '--model', run.runDir, ...args]);
      assert.equal(out.code, 2, args.join(' '));
      assert.match(out.stderr, message);
      assert.doesNotMatch(out.stderr, /\bat .*\.js:\d+/, 'no stack trace');
    }
  });

  it('says how to get slices when the run has no per-example predictions, and keeps the exact by-label rows', async () => {
    const bare = path.join(run.workspace, 'bare-run');
    fs.mkdirSync(bare, { recursive: true });
    const model = new RunModel();
    model.ingest(new RunStore(run.runsDir).events(RUN_ID));
    const s = await loadSlices(bare, {}, model.evalReport());
    assert.equal(s.report, undefined);
    assert.match(s.note ?? '', /evaluate the run on its validation or test data \("Evaluate on…"/);
    assert.equal(s.validationByLabel?.reduce((a, x) => a + x.count, 0), DEV_ROWS);
    const noMap = await loadCartography(bare, 'sequence_classification', () => undefined);
    assert.equal(noMap.map, null);
    assert.match(noMap.message ?? '', /no dynamics\.jsonl yet\. Train it with training\.record_dynamics on/);
    fs.writeFileSync(path.join(bare, 'spec.json'), '{"task": "sequence_classification"}');
    const cli = await runCli(['analyze', 'slices', '--model', bare]);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /the run has no evaluation with predictions; run bert-studio evaluate --model .* --data FILE\|DATASET\[:split\] first/);
  });
});

describe('data map snippets', () => {
  it('shows a CoNLL sentence by its words, a JSONL record by its text or tokens, a TSV line with its cells', function () {
    const conll = path.join(DATA, 'conll2003', 'train.txt');
    needSetup(this, fs.existsSync(conll), 'the shared CoNLL-2003 data');
    const lines = fs.readFileSync(conll, 'utf8').split('\n');
    // The first sentence starts on line 3, after -DOCSTART- and a blank line.
    const words: string[] = [];
    for (let i = 2; lines[i]?.trim(); i++) words.push((lines[i] as string).split(' ')[0] as string);
    assert.equal(snippetFrom(lines, 3), words.join(' '));
    assert.ok(words.length > 3);
    const jsonl = [JSON.stringify({ tokens: words, tags: words.map(() => 'O') }), JSON.stringify({ text: 'a fine film', text_pair: 'it is good', label: '1' })];
    assert.equal(snippetFrom(jsonl, 1), words.join(' '));
    assert.equal(snippetFrom(jsonl, 2), 'a fine film · it is good');
    assert.equal(snippetFrom(['sentence\tlabel', 'a  dull\tfilm\t0'], 2), 'a dull · film · 0');
    assert.equal(snippetFrom(['x'], 5), '', 'a line past the end of the file');
    assert.equal(snippetFrom([`${'long '.repeat(60)}\t1`], 1).length, 160);
  });

  it('maps a token-classification run by sentence, each shown by its words from the CoNLL file', async function () {
    const conll = path.join(DATA, 'conll2003', 'train.txt');
    needSetup(this, fs.existsSync(conll), 'the shared CoNLL-2003 data');
    const lines = fs.readFileSync(conll, 'utf8').split('\n');
    const starts = lines.map((l, i) => (l.trim() && !l.startsWith('-DOCSTART-') && !lines[i - 1]?.trim() ? i + 1 : 0)).filter(Boolean).slice(0, 3);
    const dir = tmpDir('bs-ner-map-');
    const rows = starts.map((line, example) => ({ example, source: { file: conll, line }, epochs: 2, gold_prob: [0.5, 0.9], confidence: 0.7, variability: 0.2, correctness: 0.5, words: example + 2 }));
    fs.writeFileSync(path.join(dir, 'dynamics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
    const loaded = await loadCartography(dir, 'token_classification', (f) => f);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(loaded.map?.unit, 'sentence');
    assert.deepEqual(loaded.map?.points.map((p) => p.gold), ['2 words', '3 words', '4 words']);
    assert.deepEqual(loaded.map?.points.map((p) => p.snippet), starts.map((l) => snippetFrom(lines, l)));
    assert.ok(loaded.map?.points.every((p) => p.region === 'ambiguous' && !/\b[BI]-[A-Z]+\b/.test(p.snippet)), 'words, not tags');
  });
});

describe('slices of purpose-built predictions', () => {
  const row = (index: number, text: string, gold: string, correct: boolean, line: number): PredictionRow => ({ index, text, gold, pred: correct ? gold : gold === 'a' ? 'b' : 'a', correct, source: { file: '/w/d.tsv', line } });

  it('matches flagged examples by source line, or by text and label where there is no source', () => {
    const rows = [row(0, 'one two', 'a', true, 2), row(1, 'three', 'b', false, 3), row(2, 'four five six', 'a', false, 4)];
    const issue = (line: number | null, text: string, given: string) => ({ rank: 1, example: 0, source: line === null ? null : { file: '/w/d.tsv', line }, given, suggested: 'x', score: 0.9, text });
    const s = computeSlices(rows, { evaluation: 'e', issues: [issue(3, 'whatever', 'b'), issue(null, 'four five six', 'a'), issue(null, 'one two', 'b')] });
    assert.deepEqual(s.flagged?.flagged, { name: 'flagged as likely label errors', count: 2, correct: 0, accuracy: 0 });
    assert.deepEqual(s.flagged?.rest, { name: 'not flagged', count: 1, correct: 1, accuracy: 1 });
    assert.equal(computeSlices([], { evaluation: 'e' }).accuracy, null, 'no examples: no accuracy, not NaN');
  });
});
