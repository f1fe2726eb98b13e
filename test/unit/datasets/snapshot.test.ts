// A snapshot keeps what was imported: editing or removing a source changes neither the snapshot
// nor what a run reads, and the view learns that the source changed since. Saving a source
// re-validates the dataset it belongs to.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashFile } from '../../../src/core/datasets/lineReader';
import { RevalidateOnSave } from '../../../src/core/datasets/revalidate';
import { importDataset, sourceStates } from '../../../src/core/datasets/snapshot';
import type { DatasetRequest, ValidationReport } from '../../../src/core/datasets/types';
import { validateDataset } from '../../../src/core/datasets/validate';
import { DATA, tmpDir } from './helpers';
import { needSetup } from '../needSetup';

describe('datasets: snapshots and their sources', function () {
  this.timeout(30_000);
  let dir: string;
  let train: string;
  let dev: string;
  let request: DatasetRequest;
  before(function () {
    needSetup(this, fs.existsSync(DATA), `shared data at ${DATA}`);
    dir = tmpDir();
    // Copies of RTE dev (the shared files are read-only): 200 rows to train on, the rest as dev.
    const lines = fs.readFileSync(path.join(DATA, 'rte', 'dev.tsv'), 'utf8').split('\n').filter(Boolean);
    train = path.join(dir, 'train.tsv');
    dev = path.join(dir, 'dev.tsv');
    fs.writeFileSync(train, `${lines.slice(0, 201).join('\n')}\n`);
    fs.writeFileSync(dev, `${[lines[0], ...lines.slice(201)].join('\n')}\n`);
    request = { task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence1', textPair: 'sentence2', label: 'label' }, files: { train, validation: dev } };
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('the view sees a source changed, touched or missing since the import; the snapshot stays', async () => {
    const r = await importDataset(request, path.join(dir, 'datasets'), { id: 'rte' });
    assert.ok(r.ok, r.reason);
    const m = r.manifest!;
    const snapshot = fs.readFileSync(path.join(r.dir!, 'train.jsonl'), 'utf8');
    let hashed = 0;
    const counting = (f: string): Promise<{ sha256: string; bytes: number }> => {
      hashed++;
      return hashFile(f);
    };
    const states = async (): Promise<string[]> => (await sourceStates(m, { workspace: dir, hash: counting })).map((s) => `${s.source.split}:${s.state}`);
    assert.deepEqual(await states(), ['train:unchanged', 'validation:unchanged']);

    // Touched but the same bytes: still unchanged (sha256 decides when size or mtime differ).
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(train, later, later);
    assert.equal(hashed, 0, 'same size and mtime: no hashing');
    assert.deepEqual(await states(), ['train:unchanged', 'validation:unchanged']);
    assert.deepEqual(await states(), ['train:unchanged', 'validation:unchanged']);
    assert.equal(hashed, 1, 'a touched file is hashed once, not on every refresh');

    // One label flipped: same size, different content.
    const text = fs.readFileSync(train, 'utf8');
    const flipped = text.replace('\tentailment\n', '\tentailmenT\n');
    assert.notEqual(flipped, text);
    assert.equal(flipped.length, text.length);
    fs.writeFileSync(train, flipped);
    const later2 = new Date(Date.now() + 9000);
    fs.utimesSync(train, later2, later2);
    assert.deepEqual(await states(), ['train:changed', 'validation:unchanged']);
    assert.equal(fs.readFileSync(path.join(r.dir!, 'train.jsonl'), 'utf8'), snapshot, 'the snapshot is what was imported');

    fs.renameSync(dev, `${dev}.moved`);
    assert.deepEqual(await states(), ['train:changed', 'validation:missing']);
    fs.renameSync(`${dev}.moved`, dev);
    fs.writeFileSync(train, text);
  });

  it('saving a source re-validates its dataset once the saves settle; other files are ignored', async () => {
    const reports: ValidationReport[] = [];
    let done: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (done = resolve));
    const onSave = new RevalidateOnSave(async (req) => {
      reports.push(await validateDataset(req));
      done();
    }, 20);
    onSave.remember(request);
    assert.equal(onSave.requestFor(dev), request);
    assert.equal(onSave.saved(path.join(dir, 'elsewhere.tsv')), false);

    // The user breaks row 3 (a tab too many) and saves twice in a row.
    const lines = fs.readFileSync(train, 'utf8').split('\n');
    lines[2] = `${lines[2]}\textra`;
    fs.writeFileSync(train, lines.join('\n'));
    assert.equal(onSave.saved(train), true);
    assert.equal(onSave.saved(train), true);
    await settled;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(reports.length, 1, 'two saves, one validation');
    const diag = reports[0].files.find((f) => f.split === 'train')!.diagnostics.find((d) => d.code === 'row.columnCount');
    assert.equal(diag?.line, 3);
    onSave.saved(dev);
    onSave.dispose();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(reports.length, 1, 'a disposed watcher validates nothing');
  });
});
