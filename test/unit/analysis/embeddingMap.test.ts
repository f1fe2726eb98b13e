// The embedding map's host pieces: the lasso's point-in-polygon selection and the frame it is drawn
// in, the legend's styles, the check of the worker's file (hostile variants refused with the field
// that is wrong), and `bert-studio analyze embeddings` on a real tiny SST-2 run.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { computeEmbeddingMap, embeddingMapFile, pageMap, parseEmbeddingMap, pointWhere, readEmbeddingMap, runSplits } from '../../../src/core/analysis/embeddingMap';
import { extendLasso, fitFrame, lassoSelect, legend, MARKERS, nearestPoint, PALETTE, pointInPolygon, styleKey, toPixel, type Vec } from '../../../webview/embeddings/geometry';
import { HOST_MESSAGE, WEBVIEW_MESSAGE } from '../../../webview/embeddings/protocol';
import { needSetup } from '../needSetup';
import { runCli } from '../runCli';
import { DEV_ROWS, PYTHON, ROOT, RUN_ID, sst2RunAvailable, tinySst2Run, TRAIN_ROWS, type Sst2Run } from './sst2Run';

describe('embedding map geometry', () => {
  const square: Vec[] = [[0, 0], [10, 0], [10, 10], [0, 10]];

  it('finds points inside a polygon, convex or not', () => {
    assert.equal(pointInPolygon(5, 5, square), true);
    assert.equal(pointInPolygon(11, 5, square), false);
    assert.equal(pointInPolygon(-0.1, 5, square), false);
    // A U: the notch between the arms is outside.
    const u: Vec[] = [[0, 0], [9, 0], [9, 9], [6, 9], [6, 3], [3, 3], [3, 9], [0, 9]];
    assert.equal(pointInPolygon(1.5, 6, u), true);
    assert.equal(pointInPolygon(7.5, 6, u), true);
    assert.equal(pointInPolygon(4.5, 6, u), false);
    assert.equal(pointInPolygon(4.5, 1.5, u), true);
    // A lasso that crosses itself (a bow tie): both loops hold points, the crossing's outside does not.
    const bow: Vec[] = [[0, 0], [10, 10], [10, 0], [0, 10]];
    assert.equal(pointInPolygon(2, 5, bow), true);
    assert.equal(pointInPolygon(8, 5, bow), true);
    assert.equal(pointInPolygon(5, 1, bow), false);
    // Fewer than three vertices enclose nothing.
    assert.equal(pointInPolygon(0, 0, [[0, 0], [1, 1]]), false);
    assert.equal(pointInPolygon(0, 0, []), false);
  });

  it('agrees with a brute-force count on a random lasso', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // A star-shaped lasso around (50, 50): inside exactly when the radius at the point's angle is larger.
    const radii = Array.from({ length: 40 }, () => 10 + 30 * rand());
    const lasso: Vec[] = radii.map((r, k) => [50 + r * Math.cos((2 * Math.PI * k) / 40), 50 + r * Math.sin((2 * Math.PI * k) / 40)]);
    let checked = 0;
    for (let i = 0; i < 2000; i++) {
      const x = 100 * rand();
      const y = 100 * rand();
      const a = (Math.atan2(y - 50, x - 50) + 2 * Math.PI) % (2 * Math.PI);
      const k = Math.floor(a / ((2 * Math.PI) / 40));
      // The edge between vertices k and k+1, intersected with the ray from the centre.
      const [x0, y0] = lasso[k];
      const [x1, y1] = lasso[(k + 1) % 40];
      const dx = Math.cos(a);
      const dy = Math.sin(a);
      const denom = dx * (y1 - y0) - dy * (x1 - x0);
      const edge = ((x0 - 50) * (y1 - y0) - (y0 - 50) * (x1 - x0)) / denom;
      const dist = Math.hypot(x - 50, y - 50);
      if (Math.abs(dist - edge) < 1e-6) continue; // on the border: either answer is right
      assert.equal(pointInPolygon(x, y, lasso), dist < edge, `(${x}, ${y})`);
      checked++;
    }
    assert.ok(checked > 1900);
  });

  it('draws both axes at the same scale and selects in pixels', () => {
    const pts = [{ x: 0, y: 0 }, { x: 10, y: 1 }, { x: 5, y: 0.5 }, { x: 2, y: -1 }];
    const f = fitFrame(pts, 420, 220, 10);
    // Units per pixel equal on both axes; every point inside the plot area.
    assert.ok(Math.abs((f.x1 - f.x0) / f.width - (f.y1 - f.y0) / f.height) < 1e-12);
    for (const p of pts) {
      const [px, py] = toPixel(f, p.x, p.y);
      assert.ok(px >= f.left - 1e-9 && px <= f.left + f.width + 1e-9 && py >= f.top - 1e-9 && py <= f.top + f.height + 1e-9);
    }
    // y grows upwards.
    assert.ok(toPixel(f, 0, 1)[1] < toPixel(f, 0, 0)[1]);
    // A lasso around the pixels of points 1 and 2 selects exactly them, in data order.
    const around = (i: number): Vec[] => {
      const [px, py] = toPixel(f, pts[i].x, pts[i].y);
      return [[px - 3, py - 3], [px + 3, py - 3], [px + 3, py + 3], [px - 3, py + 3]];
    };
    assert.deepEqual(lassoSelect(f, pts, around(2)), [2]);
    const [ax, ay] = toPixel(f, pts[1].x, pts[1].y);
    const [bx, by] = toPixel(f, pts[2].x, pts[2].y);
    const band: Vec[] = [[bx - 3, by - 3], [ax + 3, ay - 3], [ax + 3, ay + 3], [bx - 3, by + 3]];
    assert.deepEqual(lassoSelect(f, pts, band), [1, 2]);
    assert.deepEqual(lassoSelect(f, pts, band.slice(0, 2)), []);
    // The nearest point within the radius, else none.
    assert.equal(nearestPoint(f, pts, ax + 2, ay - 2), 1);
    assert.equal(nearestPoint(f, pts, ax + 20, ay), -1);
    // One point, or all in one place: a frame of finite size around it.
    const one = fitFrame([{ x: 3, y: 3 }], 100, 100);
    assert.ok(one.x1 > one.x0 && one.y1 > one.y0 && Number.isFinite(one.x0));
    assert.deepEqual(toPixel(one, 3, 3).map(Math.round), [50, 50]);
  });

  it('keeps a lasso to a vertex every few pixels', () => {
    const lasso: Vec[] = [];
    for (let x = 0; x <= 30; x += 0.5) extendLasso(lasso, x, 0);
    assert.equal(lasso.length, 11);
    assert.deepEqual(lasso[1], [3, 0]);
  });

  it('gives each label its own colour and marker, the same in gold and prediction modes', () => {
    const labels = Array.from({ length: 14 }, (_, i) => `L${i}`);
    const gold = legend('gold', labels);
    assert.deepEqual(legend('pred', labels), gold);
    const looks = new Set(gold.map((s) => `${s.color}|${s.marker}`));
    assert.equal(looks.size, labels.length);
    assert.ok(gold.every((s) => s.color < PALETTE.length && MARKERS.includes(s.marker)));
    const err = legend('error', labels);
    assert.deepEqual(err.map((s) => s.key), ['correct', 'wrong']);
    const p = { gold: 'L1', pred: 'L2', correct: false };
    assert.deepEqual([styleKey('gold', p), styleKey('pred', p), styleKey('error', p)], ['L1', 'L2', 'wrong']);
  });
});

function validFile(): Record<string, unknown> {
  return {
    version: 1, key: { version: 1 }, run: 'r', run_dir: '/w/.bert-studio/runs/r', model: '/w/.bert-studio/runs/r/model',
    task: 'sequence_classification', split: 'validation', data: '/w/dev.tsv', method: 'pca', pooling: 'mean', seed: 42,
    examples: 3, labels: ['neg', 'pos'], metrics: { accuracy: 0.5 }, explained_variance: [0.4, 0.2], seconds: 1, created: 'now',
    points: [
      { index: 0, x: 0.5, y: -1, gold: 'pos', pred: 'pos', correct: true, source: { file: '/w/dev.tsv', line: 2 }, text: 'fine' },
      { index: 2, x: 1.5, y: 2, gold: 'neg', pred: 'pos', correct: false, source: null, text: 'hm' },
    ],
  };
}

describe('embedding map file check', () => {
  it('accepts the worker file and gives the page no paths', () => {
    const parsed = parseEmbeddingMap(JSON.stringify(validFile()));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    const page = pageMap(parsed.map, true, '/w');
    assert.deepEqual(page.points.map((p) => p.where), ['dev.tsv:2', null]);
    assert.ok(!JSON.stringify(page).includes('/w/'), 'no path reaches the page');
    assert.equal(pageMap(parsed.map, false).points[0].where, 'dev.tsv:2');
    assert.ok(HOST_MESSAGE({ type: 'state', runId: 'r', title: 't', settings: { split: 'validation', method: 'pca', pooling: 'mean' }, splits: ['validation', 'train'], status: 'done', map: page }));
    assert.equal(pointWhere({ file: '/elsewhere/a.tsv', line: 4 }, '/w', true), '/elsewhere/a.tsv:4');
    assert.equal(pointWhere({ file: '/w/sub/a.tsv', line: 4 }, '/w'), path.join('sub', 'a.tsv:4'));
  });

  it('refuses a broken file with the field that is wrong', () => {
    const cases: [string, (f: Record<string, unknown>) => unknown, RegExp][] = [
      ['NaN coordinates (Python json writes NaN)', () => JSON.stringify(validFile()).replace('"x":0.5', '"x":NaN'), /not JSON/],
      ['a string coordinate', (f) => ({ ...f, points: [{ ...(f.points as object[])[0], x: '1' }] }), /points\[0\]\.x/],
      ['a label not in labels', (f) => ({ ...f, points: [{ ...(f.points as object[])[0], pred: 'maybe' }] }), /"maybe" is not in labels/],
      ['line 0', (f) => ({ ...f, points: [{ ...(f.points as object[])[0], source: { file: '/w/dev.tsv', line: 0 } }] }), /points\[0\]\.source\.line/],
      ['no labels', (f) => ({ ...f, labels: [] }), /labels/],
      ['an unknown method', (f) => ({ ...f, method: 'tsne' }), /method/],
      ['a newer version', (f) => ({ ...f, version: 2 }), /version/],
      ['more points than examples', (f) => ({ ...f, examples: 1 }), /2 points but the split has 1/],
      ['a QA run', (f) => ({ ...f, task: 'question_answering' }), /task/],
      ['not an object', () => '[]', /expected an object/],
    ];
    for (const [what, make, reason] of cases) {
      const made = make(validFile());
      const parsed = parseEmbeddingMap(typeof made === 'string' ? made : JSON.stringify(made));
      assert.equal(parsed.ok, false, what);
      if (!parsed.ok) assert.match(parsed.reason, reason, what);
    }
  });

  it('checks what the page sends', () => {
    assert.ok(WEBVIEW_MESSAGE({ type: 'open', point: 3 }));
    assert.ok(!WEBVIEW_MESSAGE({ type: 'open', point: -1 }));
    assert.ok(!WEBVIEW_MESSAGE({ type: 'open', point: 3, file: '/etc/passwd' }), 'no extra fields: the page never names a file');
    assert.ok(WEBVIEW_MESSAGE({ type: 'compute', settings: { split: 'train', method: 'umap', pooling: 'cls' } }));
    assert.ok(!WEBVIEW_MESSAGE({ type: 'compute', settings: { split: 'test', method: 'pca', pooling: 'mean' } }));
    assert.ok(!WEBVIEW_MESSAGE({ type: 'compute', settings: { split: 'train', method: 'pca', pooling: 'mean', maxExamples: 1e9 } }));
  });

  it('offers the validation split only when the run has one', () => {
    assert.deepEqual(runSplits({ data: { train: 'a', validation: 'b' } }), ['validation', 'train']);
    assert.deepEqual(runSplits({ data: { train: 'a', validation: null } }), ['train']);
    assert.deepEqual(runSplits(undefined), ['train']);
  });
});

describe('bert-studio analyze embeddings on a real tiny SST-2 run', function () {
  this.timeout(900_000);
  let run: Sst2Run;

  before(async function () {
    needSetup(this, sst2RunAvailable(), 'the venv (scripts/setup.sh) and the shared SST-2 data');
    run = await tinySst2Run();
  });

  it('maps the validation split with the labels of its source lines, then answers from the cache', async () => {
    const args = ['analyze', 'embeddings', '--model', RUN_ID, '--workspace', run.workspace, '--python', PYTHON];
    const first = await runCli([...args, '--json']);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const summary = JSON.parse(first.stdout.trim().split('\n').pop() as string) as { points: number; examples: number; cached: boolean; file: string; misclassified: number };
    assert.equal(summary.points, DEV_ROWS);
    assert.equal(summary.examples, DEV_ROWS);
    assert.equal(summary.file, embeddingMapFile(run.runDir, { split: 'validation', method: 'pca', pooling: 'mean' }));
    const map = await readEmbeddingMap(run.runDir, { split: 'validation', method: 'pca', pooling: 'mean' });
    assert.ok(map);
    assert.equal(map.points.filter((p) => !p.correct).length, summary.misclassified);
    const lines = fs.readFileSync(run.dev, 'utf8').split('\n');
    for (const p of map.points) {
      assert.equal(p.source?.file, run.dev);
      const cells = lines[(p.source?.line ?? 0) - 1].split('\t');
      assert.equal(p.gold, cells[cells.length - 1]);
      assert.equal(p.correct, p.gold === p.pred);
    }
    const page = pageMap(map, true, run.workspace);
    assert.ok(page.points.every((p) => p.where?.startsWith('dev-head.tsv:')));
    // The text listing: the misclassified points at their source lines; the second call is the cache.
    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`^${DEV_ROWS} of ${DEV_ROWS} examples mapped by PCA \\(axes explain [\\d.]+% and [\\d.]+% of the variance\\), from the cache; ${summary.misclassified} misclassified:`));
    for (const p of map.points.filter((q) => !q.correct).slice(0, 20)) assert.ok(second.stdout.includes(`dev-head.tsv:${p.source?.line}  ${p.gold} -> ${p.pred}`));
  });

  it('stops on cancel, leaving the map already stored as it was', async () => {
    // The training split: several batches, so the worker is still embedding when the cancel lands.
    const settings = { split: 'train', method: 'pca', pooling: 'mean' } as const;
    const file = embeddingMapFile(run.runDir, settings);
    const first = await computeEmbeddingMap({ python: PYTHON, run: run.runDir, settings, packageRoot: ROOT });
    assert.equal(first.map.points.length, TRAIN_ROWS);
    const before = fs.readFileSync(file, 'utf8');
    const controller = new AbortController();
    const lines: string[] = [];
    const started = computeEmbeddingMap({
      python: PYTHON, run: run.runDir, settings, force: true, packageRoot: ROOT, signal: controller.signal,
      // Cancelled at the first batch: the model is loaded, three more batches to go.
      onStderr: (line) => {
        lines.push(line);
        if (line.startsWith('embedding ')) controller.abort();
      },
    });
    await assert.rejects(started, (err: Error) => err.name === 'AbortError');
    assert.ok(lines.some((l) => l.startsWith('embedding ')), lines.join('\n'));
    assert.equal(fs.readFileSync(file, 'utf8'), before);
    assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')), []);
  });

  it('says what is wrong with bad options, in one line', async () => {
    const base = ['analyze', 'embeddings', '--model', RUN_ID, '--workspace', run.workspace, '--python', PYTHON];
    const method = await runCli([...base, '--method', 'tsne']);
    assert.equal(method.code, 2);
    assert.match(method.stderr, /--method "tsne": use pca or umap/);
    const max = await runCli([...base, '--max-examples', '0']);
    assert.equal(max.code, 2);
    assert.match(max.stderr, /--max-examples "0": give a whole number of at least 1/);
    const none = await runCli(['analyze', 'embeddings', '--model', path.join(run.workspace, 'nowhere'), '--workspace', run.workspace, '--python', PYTHON]);
    assert.equal(none.code, 2);
    assert.equal(none.stderr.trim().split('\n').length, 1, none.stderr);
  });
});
