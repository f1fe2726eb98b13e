// Keyboard navigation of the webviews (webview/shared/keys.ts): the attention grid and the confusion
// matrix move with gridMove, charts zoom with zoomKey. The DOM half (rovingGrid) runs in the real
// VS Code in test/e2e/scenarios/26-themes.mjs.

import * as assert from 'node:assert/strict';
import { gridMove, isActivation, zoomKey } from '../../../webview/shared/keys';

describe('webview keyboard navigation', () => {
  const p = (row: number, col: number) => ({ row, col });

  it('moves one cell with the arrows and stops at the edges', () => {
    // 6 layers × 12 heads, as the fill-mask model's attention grid.
    assert.deepEqual(gridMove(p(0, 0), 'ArrowRight', 6, 12), p(0, 1));
    assert.deepEqual(gridMove(p(0, 1), 'ArrowLeft', 6, 12), p(0, 0));
    assert.deepEqual(gridMove(p(0, 5), 'ArrowDown', 6, 12), p(1, 5), 'down: the same head of the next layer');
    assert.deepEqual(gridMove(p(3, 5), 'ArrowUp', 6, 12), p(2, 5));
    assert.deepEqual(gridMove(p(0, 0), 'ArrowLeft', 6, 12), p(0, 0), 'the first cell: consumed, not moved');
    assert.deepEqual(gridMove(p(0, 0), 'ArrowUp', 6, 12), p(0, 0));
    assert.deepEqual(gridMove(p(5, 11), 'ArrowRight', 6, 12), p(5, 11));
    assert.deepEqual(gridMove(p(5, 11), 'ArrowDown', 6, 12), p(5, 11));
  });

  it('goes to the ends of a row with Home/End and of the grid with Ctrl', () => {
    assert.deepEqual(gridMove(p(2, 7), 'Home', 6, 12), p(2, 0));
    assert.deepEqual(gridMove(p(2, 7), 'End', 6, 12), p(2, 11));
    assert.deepEqual(gridMove(p(2, 7), 'Home', 6, 12, { ctrlKey: true }), p(0, 0));
    assert.deepEqual(gridMove(p(2, 7), 'End', 6, 12, { ctrlKey: true }), p(5, 11));
    assert.deepEqual(gridMove(p(2, 7), 'End', 6, 12, { metaKey: true }), p(5, 11), 'Cmd on macOS');
  });

  it('clamps the column when rows differ in length, and a position outside the grid', () => {
    const cols = (r: number) => [4, 2, 3][r] ?? 0;
    assert.deepEqual(gridMove(p(0, 3), 'ArrowDown', 3, cols), p(1, 1));
    assert.deepEqual(gridMove(p(1, 1), 'End', 3, cols, { ctrlKey: true }), p(2, 2));
    assert.deepEqual(gridMove(p(9, 9), 'ArrowLeft', 3, cols), p(2, 1), 'a stale position (the grid shrank) starts from the last cell');
  });

  it('leaves every other key alone', () => {
    for (const key of ['Tab', 'Enter', ' ', 'a', 'Escape', 'PageDown', 'F6']) assert.equal(gridMove(p(1, 1), key, 6, 12), undefined, key);
    assert.equal(gridMove(p(0, 0), 'ArrowRight', 0, 12), undefined, 'an empty grid');
  });

  it('activates with Enter and Space only', () => {
    assert.ok(isActivation('Enter'));
    assert.ok(isActivation(' '));
    assert.ok(!isActivation('Tab'));
    assert.ok(!isActivation('ArrowDown'));
    assert.ok(!isActivation('Escape'));
  });

  it('zooms a chart with + and -, pans with the arrows, resets with 0 or Escape', () => {
    const full = [0, 400] as const;
    assert.deepEqual(zoomKey('+', [0, 400], full), [100, 300], 'halves around the centre');
    assert.deepEqual(zoomKey('=', [100, 300], full), [150, 250], '"=" is "+" without Shift');
    assert.deepEqual(zoomKey('-', [150, 250], full), [100, 300]);
    assert.equal(zoomKey('-', [100, 300], full), null, 'grown back to the whole run: no zoom');
    assert.deepEqual(zoomKey('-', [0, 150], full), [0, 300], 'kept inside the data');
    assert.deepEqual(zoomKey('ArrowRight', [100, 300], full), [150, 350]);
    assert.deepEqual(zoomKey('ArrowRight', [190, 390], full), [200, 400], 'stops at the last step');
    assert.deepEqual(zoomKey('ArrowLeft', [10, 210], full), [0, 200]);
    assert.equal(zoomKey('ArrowLeft', [0, 400], full), null, 'nothing to pan when not zoomed');
    assert.equal(zoomKey('0', [100, 300], full), null);
    assert.equal(zoomKey('Escape', [100, 300], full), null);
    assert.equal(zoomKey('a', [100, 300], full), undefined);
    assert.equal(zoomKey('Tab', [100, 300], full), undefined);
  });

  it('never zooms below one step', () => {
    assert.deepEqual(zoomKey('+', [10, 11], [0, 85]), [10, 11]);
    assert.deepEqual(zoomKey('+', [10, 12], [0, 85]), [10.5, 11.5]);
  });
});
