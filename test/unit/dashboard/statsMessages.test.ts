// The dataset statistics page receives what the host really sends: a state built from a real
// import and real statistics passes the page's guard (webview/datasetStats/protocol.ts).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importDataset } from '../../../src/core/datasets/snapshot';
import { snapshotStatistics } from '../../../src/core/datasets/stats';
import { datasetSummary } from '../../../src/core/datasets/statsView';
import { whitespaceCounter } from '../../../src/core/datasets/tokenCount';
import { check } from '../../../src/shared/guard';
import { HOST_MESSAGE, ToWebview } from '../../../webview/datasetStats/protocol';

describe('dataset statistics host messages', () => {
  it('a state from a real import and its statistics passes the guard; a broken one does not', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-stats-msg-'));
    const file = path.join(ws, 'reviews.tsv');
    fs.writeFileSync(file, ['sentence\tlabel', ...Array.from({ length: 40 }, (_, i) => `review number ${i} ${'good '.repeat(i % 7)}\t${i % 3 ? 'pos' : 'neg'}`)].join('\n') + '\n');
    const r = await importDataset({ task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, files: { train: file } }, path.join(ws, 'datasets'), { id: 'reviews' });
    assert.ok(r.dir && r.manifest);
    const stats = await snapshotStatistics(r.dir, r.manifest, { counter: whitespaceCounter, maxSeqLength: 16 });
    const msg = { type: ToWebview.State, state: { dataset: datasetSummary({ id: 'reviews', dir: r.dir, manifest: r.manifest }), stats, status: 'done', tokenizer: 'whitespace' } };
    const c = check(HOST_MESSAGE, structuredClone(msg));
    assert.ok(c.ok, c.ok ? '' : c.reason);
    const broken = structuredClone(msg) as { state: { stats: { splits: { rows: unknown }[] } } };
    broken.state.stats.splits[0]!.rows = '40';
    assert.match(HOST_MESSAGE.problem(broken) ?? '', /state\.stats\.splits\[0\]\.rows/);
  });
});
