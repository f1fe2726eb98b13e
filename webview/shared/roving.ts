// A grid of elements as one Tab stop (roving tabindex): the attention viewer's layer × head grid and
// the dashboard's confusion matrix. Only one cell is in the Tab order at a time; the arrow, Home and
// End keys move within the grid (gridMove in keys.ts), Enter and Space activate a cell.

import { clampPos, gridMove, isActivation, type GridPos } from './keys';

export interface RovingHandlers {
  /** The focus moved to `pos` (with the keyboard). */
  readonly move?: (pos: GridPos) => void;
  /** Enter or Space on `pos`. */
  readonly activate?: (pos: GridPos) => void;
}

/**
 * Makes `cells` (rows of elements; rows may differ in length) one Tab stop: the cell at `start` has
 * tabindex 0, the others -1, and the arrow, Home and End keys move the focus (gridMove). Returns a
 * function that focuses a cell (after a re-render, to put the focus back where it was).
 */
export function rovingGrid(cells: readonly (readonly HTMLElement[])[], start: GridPos, on: RovingHandlers = {}): (pos: GridPos) => void {
  const rows = cells.length;
  const cols = (r: number): number => cells[r]?.length ?? 0;
  let current = start;
  const cellAt = (p: GridPos): HTMLElement | undefined => cells[p.row]?.[p.col];
  const setCurrent = (p: GridPos): void => {
    cellAt(current)?.setAttribute('tabindex', '-1');
    current = p;
    cellAt(current)?.setAttribute('tabindex', '0');
  };
  cells.forEach((row, r) =>
    row.forEach((cell, c) => {
      cell.tabIndex = -1;
      cell.addEventListener('focus', () => setCurrent({ row: r, col: c }));
      cell.addEventListener('keydown', (e) => {
        if (isActivation(e.key)) {
          e.preventDefault();
          on.activate?.({ row: r, col: c });
          return;
        }
        const next = gridMove({ row: r, col: c }, e.key, rows, cols, e);
        if (!next) return;
        e.preventDefault();
        if (next.row === r && next.col === c) return;
        setCurrent(next);
        cellAt(next)?.focus();
        on.move?.(next);
      });
    }),
  );
  setCurrent(clampPos(start, rows, cols));
  return (p) => {
    setCurrent(p);
    cellAt(p)?.focus();
  };
}
