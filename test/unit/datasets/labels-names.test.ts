// Label names: SST-2's 0/1 named at import (`--label-names`, typed or from a file) are the names in
// the snapshot, the manifest, the statistics and — through a real (one-step) training run on the
// snapshot — the model's id2label; bad maps are refused with the fix.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabelNamesError, parseLabelNames } from '../../../src/core/datasets/labelNames';
import type { DatasetManifest } from '../../../src/core/datasets/snapshot';
import { needSetup } from '../needSetup';
import { DATA, REPO, tmpDir } from './helpers';
import { runCli as cli } from '../runCli';


describe('datasets: label names', function () {
  this.timeout(300_000);
  const dir = tmpDir('bert-studio-names-');
  const ws = path.join(dir, 'ws');
  fs.mkdirSync(ws);
  const head = path.join(dir, 'sst2-head.tsv');
  const lines = fs.readFileSync(path.join(DATA, 'sst2', 'train.tsv'), 'utf8').split('\n').slice(0, 201);
  fs.writeFileSync(head, `${lines.join('\n')}\n`);
  const gold = lines.slice(1).map((l) => l.split('\t')[1]);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses typed maps and files, and refuses ambiguous ones with the fix', () => {
    assert.deepEqual(parseLabelNames('0=negative,1=positive'), { 0: 'negative', 1: 'positive' });
    assert.deepEqual(parseLabelNames('# SST-2\n0\tnegative\n1: positive\n'), { 0: 'negative', 1: 'positive' });
    assert.deepEqual(parseLabelNames('negative\npositive\n'), { 0: 'negative', 1: 'positive' }, 'one name per line: 0, 1, …');
    assert.throws(() => parseLabelNames('0=bad,1=bad'), (e: Error) => e instanceof LabelNamesError && /"0" and "1" are both named "bad"/.test(e.message));
    assert.throws(() => parseLabelNames('0=negative,0=positive'), /"0" is named twice/);
    assert.throws(() => parseLabelNames('0=,1=positive'), /label "0" has an empty name; write 0=NAME/);
    assert.throws(() => parseLabelNames('0=negative,positive'), /entry 2 \("positive"\) is not label=name/);
  });

  it('names reach the snapshot, the manifest and the statistics; a file gives the same', async () => {
    const r = await cli(['dataset', 'import', head, '--label-names', '0=negative,1=positive', '--id', 'sst2-named', '--workspace', ws, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = (JSON.parse(r.stdout) as { manifest: DatasetManifest }).manifest;
    assert.deepEqual(m.labels, ['negative', 'positive']);
    assert.deepEqual(m.label_map, { negative: 0, positive: 1 });
    assert.deepEqual(m.label_names, { 0: 'negative', 1: 'positive' });
    const neg = gold.filter((g) => g === '0').length;
    assert.deepEqual(m.splits.train?.labels, { negative: neg, positive: gold.length - neg });
    const snap = path.join(ws, '.bert-studio', 'datasets', 'sst2-named');
    const recs = fs.readFileSync(path.join(snap, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { label: string });
    assert.deepEqual(recs.map((x) => x.label), gold.map((g) => (g === '1' ? 'positive' : 'negative')));
    const stats = await cli(['dataset', 'stats', '--dataset', 'sst2-named', '--workspace', ws, '--tokenizer', 'wordpiece', '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.deepEqual(Object.keys((JSON.parse(stats.stdout) as { splits: { labels: Record<string, number> }[] }).splits[0].labels).sort(), ['negative', 'positive']);
    const file = path.join(dir, 'names.txt');
    fs.writeFileSync(file, 'negative\npositive\n');
    const f = await cli(['dataset', 'import', head, '--label-names', file, '--id', 'sst2-file', '--workspace', ws, '--json']);
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual((JSON.parse(f.stdout) as { manifest: DatasetManifest }).manifest.labels, ['negative', 'positive']);
    const bad = await cli(['dataset', 'import', head, '--label-names', '0=x,1=x', '--workspace', ws]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--label-names: labels "0" and "1" are both named "x"/);
  });

  it("a run on the named snapshot has the names in its model's id2label", async function () {
    const python = path.join(REPO, '.venv', 'bin', 'python');
    needSetup(this, fs.existsSync(python), 'the venv (scripts/setup.sh)');
    const r = await cli(['train', '--dataset', 'sst2-named', '--max-steps', '1', '--batch-size', '4', '--max-seq-length', '32', '--device', 'cpu', '--no-export', '--python', python, '--workspace', ws, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const runs = path.join(ws, '.bert-studio', 'runs');
    const [run] = fs.readdirSync(runs);
    const config = JSON.parse(fs.readFileSync(path.join(runs, run, 'model', 'config.json'), 'utf8')) as { id2label: Record<string, string> };
    assert.deepEqual(config.id2label, { 0: 'negative', 1: 'positive' });
  });
});
