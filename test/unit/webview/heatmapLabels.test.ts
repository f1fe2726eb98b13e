// The attention heatmap's token labels (webview/attention/labels.ts): the map fits the panel's width
// beside its label column, and labels thin out only when a cell is smaller than a line of text.

import * as assert from 'node:assert/strict';
import { fitLabel, heatCellPx, labelColumnPx, labelStride } from '../../../webview/attention/labels';

describe('attention heatmap labels', () => {
  it('fits the map to the panel: a half-width editor group gets smaller cells, not a cut-off map', () => {
    const tokens = 20;
    const label = labelColumnPx(['[CLS]', 'capital', 'supercalifragilisticexpialidocious'], 11);
    assert.equal(label, 160, 'the longest label is capped at 160 px');
    const wide = heatCellPx(1100, label, tokens);
    const half = heatCellPx(540, label, tokens);
    assert.equal(wide, 24, 'capped at 24 px a cell');
    assert.ok(half < wide && label + tokens * half + 8 <= 540, `half width: ${half} px cells fit in 540 px`);
    assert.equal(heatCellPx(300, label, 256), 3, 'never below 3 px (256 tokens scroll instead)');
  });

  it('shows every label when a cell is a line high, and every n-th below that', () => {
    assert.equal(labelStride(24, 11), 1);
    assert.equal(labelStride(12, 11), 1);
    assert.equal(labelStride(11, 11), 2);
    assert.equal(labelStride(6, 11), 2);
    assert.equal(labelStride(3, 11), 4);
    // Shown labels never overlap: stride × cell ≥ one line (font + 1 px).
    for (let cell = 3; cell <= 24; cell++) assert.ok(labelStride(cell, 11) * cell >= 12, `cell ${cell}`);
  });

  it('cuts long labels with "…" but keeps one Chinese character whole', () => {
    const maxEm = (160 - 6) / 11;
    assert.equal(fitLabel('我', 0.5), '我');
    assert.ok(fitLabel('supercalifragilisticexpialidocious', maxEm).endsWith('…'));
    assert.equal(fitLabel('capital', maxEm), 'capital');
  });
});
