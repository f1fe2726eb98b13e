// The Problems panel after a window reload: datasets imported with problems are found again and
// validated from their sources, giving back the problems the import reported.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { datasetsWithProblems } from '../../../src/core/datasets/restoreProblems';
import { importDataset } from '../../../src/core/datasets/snapshot';
import { validateDataset } from '../../../src/core/datasets/validate';
import type { DatasetRequest } from '../../../src/core/datasets/types';
import { needSetup } from '../needSetup';

const DATA = '/work/shared/data';

describe('dataset problems restored after a reload', () => {
  it('re-validates only datasets imported with problems whose sources remain, with the same problems', async function () {
    needSetup(this, fs.existsSync(path.join(DATA, 'rte', 'dev.tsv')), `shared data at ${DATA}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-restore-'));
    try {
      const lines = fs.readFileSync(path.join(DATA, 'rte', 'dev.tsv'), 'utf8').split('\n').filter(Boolean);
      const write = (name: string, rows: string[]): string => {
        const f = path.join(dir, name);
        fs.writeFileSync(f, `${rows.join('\n')}\n`);
        return f;
      };
      const clean = write('clean.tsv', lines.slice(0, 120));
      // Two broken rows: a missing label column, and an extra column.
      const broken = write('broken.tsv', [...lines.slice(0, 100), lines[100]!.split('\t').slice(0, -1).join('\t'), `${lines[101]}\textra`, ...lines.slice(102, 120)]);
      const gone = write('gone.tsv', [...lines.slice(0, 50), lines[50]!.split('\t').slice(0, -1).join('\t')]);
      const request = (train: string): DatasetRequest => ({ task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence1', textPair: 'sentence2', label: 'label' }, files: { train } });
      const datasets = path.join(dir, 'datasets');
      const imported = await importDataset(request(broken), datasets, { id: 'broken' });
      assert.ok(imported.ok, imported.reason);
      assert.ok(imported.manifest!.problems.errors >= 2, JSON.stringify(imported.manifest!.problems));
      assert.ok((await importDataset(request(clean), datasets, { id: 'clean' })).ok);
      assert.ok((await importDataset(request(gone), datasets, { id: 'gone' })).ok);
      fs.rmSync(gone);

      const found = await datasetsWithProblems(datasets);
      assert.deepEqual(found.map((f) => f.id), ['broken'], 'the clean one has none to show; the gone one has no file to show them on');
      const report = await validateDataset(found[0]!.request);
      assert.equal(report.errors, imported.manifest!.problems.errors);
      assert.equal(report.warnings, imported.manifest!.problems.warnings);
      const at = report.files.flatMap((f) => f.diagnostics.map((d) => d.line));
      assert.ok(at.includes(101) && at.includes(102), `diagnostics at the broken lines: ${at}`);
      assert.deepEqual(await datasetsWithProblems(path.join(dir, 'none')), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
