// The hostile corpus (test/fixtures/hostile/corpus.ts): every file gets its diagnostic at the line
// the corpus table names, with a message that says how to fix it; validation and import finish
// (streamed, no crash or hang), and an import with errors writes nothing unless told to skip.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIX_WORDS, writeHostileCorpus, type HostileCase } from '../../fixtures/hostile/corpus';
import { importDataset } from '../../../src/core/datasets/snapshot';
import type { DatasetRequest } from '../../../src/core/datasets/types';
import { validateDataset } from '../../../src/core/datasets/validate';
import { tmpDir } from './helpers';

describe('datasets: hostile corpus', function () {
  this.timeout(60_000);
  const dir = tmpDir('bert-studio-hostile-');
  const cases: HostileCase[] = writeHostileCorpus(path.join(dir, 'corpus'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('has at least 60 hostile files, each with an expected diagnostic', () => {
    assert.ok(cases.length >= 60, `${cases.length} cases`);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'file names are unique');
    for (const c of cases) assert.ok(c.expect.length > 0, c.name);
  });

  for (const c of cases) {
    it(`${c.name}: ${c.what}`, async () => {
      const request: DatasetRequest = { ...c.request, files: c.files };
      const report = await validateDataset(request);
      const all = report.files.flatMap((f) => f.diagnostics.map((d) => ({ ...d, split: f.split })));
      const seen = all.map((d) => `${d.split}:${d.code}@${d.line}`).join(', ');
      for (const e of c.expect) {
        const split = e.split ?? 'train';
        const d = all.find((x) => x.split === split && x.code === e.code && x.line === e.line);
        assert.ok(d, `expected ${split}:${e.code}@${e.line}; got ${seen}`);
        assert.match(d.message, FIX_WORDS, `no fix in: ${d.message}`);
        assert.doesNotMatch(d.message, /\n\s+at /, 'no stack trace in a message');
      }
      // An import reads the same way; with errors it writes nothing unless rows may be skipped.
      const datasets = path.join(dir, 'ws', c.name);
      const r = await importDataset(request, datasets, { id: 'x', skipBadRows: false });
      if (report.errors > 0) {
        assert.equal(r.ok, false, 'an import with errors is refused without skipBadRows');
        assert.ok(r.reason && FIX_WORDS.test(r.reason), r.reason);
        assert.ok(!fs.existsSync(path.join(datasets, 'x')), 'nothing written');
      }
      fs.rmSync(datasets, { recursive: true, force: true });
    });
  }
});
