import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitsFromNames } from '../../../src/core/datasets/detect';
import { isWebviewMessage } from '../../../src/core/datasets/statsView';
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
    assert.ok(!isWebviewMessage({ type: 'exec', cmd: 'rm' }));
    assert.ok(!isWebviewMessage(null));
  });

  it('the webview renders dataset text as text, never as HTML', () => {
    const src = fs.readFileSync(path.join(REPO, 'webview', 'datasetStats', 'main.ts'), 'utf8');
    assert.doesNotMatch(src, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('sorts picked files into splits by name', () => {
    assert.deepEqual(splitsFromNames(['/d/train.tsv', '/d/dev.tsv', '/d/test.tsv']), { train: '/d/train.tsv', validation: '/d/dev.tsv', test: '/d/test.tsv' });
    assert.deepEqual(splitsFromNames(['/c/valid.txt', '/c/train.txt']), { train: '/c/train.txt', validation: '/c/valid.txt' });
    assert.deepEqual(splitsFromNames(['/x/reviews.csv']), { train: '/x/reviews.csv' });
  });
});
