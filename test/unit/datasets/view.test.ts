import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitsFromNames } from '../../../src/core/datasets/detect';
import { isWebviewMessage } from '../../../src/core/datasets/statsView';
import { pagesToEvict, PREVIEW_PAGES_KEPT, ROW_HEIGHT, visibleRows } from '../../../webview/datasetStats/protocol';
import { REPO } from './helpers';

// The page's CSP is checked with every other page in test/unit/security/csp.test.ts.
describe('datasets: statistics view', () => {
  it('accepts only well-formed messages', () => {
    assert.ok(isWebviewMessage({ type: 'ready' }));
    assert.ok(isWebviewMessage({ type: 'requestRows', requestId: 1, split: 'train', start: 0, count: 100 }));
    assert.ok(!isWebviewMessage({ type: 'requestRows', requestId: 1, split: '../etc', start: 0, count: 100 }));
    assert.ok(!isWebviewMessage({ type: 'requestRows', requestId: 1, split: 'train', start: -1, count: 100 }));
    assert.ok(!isWebviewMessage({ type: 'requestRows', requestId: 1, split: 'train', start: 0, count: 100000 }));
    assert.ok(isWebviewMessage({ type: 'recompute', maxSeqLength: 256 }));
    assert.ok(!isWebviewMessage({ type: 'recompute', maxSeqLength: '256' }));
    assert.ok(!isWebviewMessage({ type: 'openRow', split: 'train', row: 1.5 }));
    assert.ok(isWebviewMessage({ type: 'chooseTokenizer', maxSeqLength: 128 }));
    assert.ok(!isWebviewMessage({ type: 'chooseTokenizer', maxSeqLength: 4 }));
    assert.ok(isWebviewMessage({ type: 'nameLabels' }));
    assert.ok(!isWebviewMessage({ type: 'nameLabels', names: '0=/etc/passwd' }), 'the page never sends names or paths: the host asks');
    assert.ok(!isWebviewMessage({ type: 'exec', cmd: 'rm' }));
    assert.ok(!isWebviewMessage(null));
  });

  it('the webview renders dataset text as text, never as HTML', () => {
    const src = fs.readFileSync(path.join(REPO, 'webview', 'datasetStats', 'main.ts'), 'utf8');
    assert.doesNotMatch(src, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('the preview is virtualized: a screenful of rows drawn and a bounded number of pages kept', () => {
    const view = 360;
    const screen = Math.ceil(view / ROW_HEIGHT);
    for (const total of [0, 3, 872, 67_349, 19_059_767]) {
      for (const top of [0, 1234.5, (total - 5) * ROW_HEIGHT, total * ROW_HEIGHT]) {
        const { first, last } = visibleRows(Math.max(0, top), view, total);
        assert.ok(first >= 0 && last <= total && first <= last, `${total} @${top}: ${first}..${last}`);
        assert.ok(last - first <= screen + 10, `${total} @${top}: ${last - first} rows drawn`);
        const inView = Math.floor(Math.max(0, top) / ROW_HEIGHT);
        if (inView < total) assert.ok(first <= inView && inView < last, `${total} @${top}: row ${inView} in view is drawn`);
      }
    }
    const cached = Array.from({ length: 50 }, (_, i) => i);
    const evicted = pagesToEvict(cached, 10);
    assert.equal(cached.length - evicted.length, PREVIEW_PAGES_KEPT);
    const kept = cached.filter((p) => !evicted.includes(p));
    assert.ok(kept.includes(10) && kept.every((p) => Math.abs(p - 10) <= PREVIEW_PAGES_KEPT), kept.join(','));
    assert.deepEqual(pagesToEvict([1, 2, 3], 2), []);
  });

  it('sorts picked files into splits by name', () => {
    assert.deepEqual(splitsFromNames(['/d/train.tsv', '/d/dev.tsv', '/d/test.tsv']), { train: '/d/train.tsv', validation: '/d/dev.tsv', test: '/d/test.tsv' });
    assert.deepEqual(splitsFromNames(['/c/valid.txt', '/c/train.txt']), { train: '/c/train.txt', validation: '/c/valid.txt' });
    assert.deepEqual(splitsFromNames(['/x/reviews.csv']), { train: '/x/reviews.csv' });
  });
});
