import * as assert from 'node:assert/strict';
import * as attention from '../../../webview/attention/protocol';
import * as fillMask from '../../../webview/fillMask/protocol';
import { datasetRows, goldName } from '../../../src/core/inference/datasetRows';

describe('inference webview protocols and dataset rows', () => {
  it('accepts only well-formed messages from the webviews', () => {
    assert.ok(fillMask.isWebviewMessage({ type: 'query', id: 3, text: 'a [MASK]', topK: 5 }));
    assert.ok(!fillMask.isWebviewMessage({ type: 'query', id: 3, text: 'a [MASK]', topK: 5000 }));
    assert.ok(!fillMask.isWebviewMessage({ type: 'query', id: '3', text: 'x', topK: 5 }));
    assert.ok(!fillMask.isWebviewMessage({ type: 'eval', code: '1' }));
    assert.ok(attention.isWebviewMessage({ type: 'export', format: 'png', data: 'data:image/png;base64,AAAA', name: 'attention-L1-H1' }));
    assert.ok(!attention.isWebviewMessage({ type: 'export', format: 'png', data: 'data:text/html,<script>', name: 'x' }));
    assert.ok(!attention.isWebviewMessage({ type: 'export', format: 'svg', data: '<svg/>', name: '../../etc/passwd' }));
    const set = { model: 'm', tokens: ['[CLS]', 'a', '[SEP]'], layers: 1, heads: 2, data: new Float32Array(18) };
    assert.ok(attention.isHostMessage({ type: 'show', text: 'a', sets: [set] }));
    assert.ok(!attention.isHostMessage({ type: 'show', text: 'a', sets: [{ ...set, data: new Float32Array(17) }] }));
  });

  it('reads text and gold label from tsv, csv and jsonl rows', () => {
    const tsv = datasetRows(['sentence\tlabel', 'a fine film\t1', '', 'dull\t0'], 'tsv');
    assert.deepEqual(tsv, [{ line: 1, text: 'a fine film', gold: '1' }, { line: 3, text: 'dull', gold: '0' }]);
    const csv = datasetRows(['label,text', 'pos,"hello, world"'], 'csv');
    assert.deepEqual(csv, [{ line: 1, text: 'hello, world', gold: 'pos' }]);
    const jsonl = datasetRows(['{"text": "x", "label": 2}', 'not json'], 'jsonl');
    assert.deepEqual(jsonl, [{ line: 0, text: 'x', gold: '2' }]);
    assert.equal(goldName('1', ['negative', 'positive']), 'positive');
    assert.equal(goldName('positive', ['negative', 'positive']), 'positive');
  });
});
