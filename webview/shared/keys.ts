// Keyboard navigation shared by the webviews: what a key does is decided by pure functions (unit
// tested in test/unit/webview/keys.test.ts, no DOM here); roving.ts applies them to elements.

/** A position in a grid: row and column, 0-based. */
export interface GridPos {
  readonly row: number;
  readonly col: number;
}

/** The modifier keys that change what a navigation key does. */
export interface KeyMods {
  readonly ctrlKey?: boolean;
  readonly metaKey?: boolean;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** `pos` moved inside a grid of `rows` rows of `cols(r)` columns (a grid that shrank under it). */
export function clampPos(pos: GridPos, rows: number, cols: number | ((row: number) => number)): GridPos {
  const row = clamp(pos.row, 0, Math.max(0, rows - 1));
  return { row, col: clamp(pos.col, 0, Math.max(0, (typeof cols === 'number' ? cols : cols(row)) - 1)) };
}

/**
 * Where `key` moves from `pos` in a grid of `rows` rows, row r having `cols(r)` columns (a number:
 * every row the same): arrows one step (stopping at the edges), Home/End the row's first/last
 * column, Ctrl+Home/End the grid's first/last cell; moving to a shorter row clamps the column.
 * Undefined for any other key (the caller lets it through); an unmoved position at an edge is still
 * returned, so the key is consumed rather than scrolling the page.
 */
export function gridMove(pos: GridPos, key: string, rows: number, cols: number | ((row: number) => number), mods: KeyMods = {}): GridPos | undefined {
  if (rows <= 0) return undefined;
  const width = (r: number): number => Math.max(1, typeof cols === 'number' ? cols : cols(r));
  const { row, col } = clampPos(pos, rows, width);
  const at = (r: number, c: number): GridPos => ({ row: r, col: clamp(c, 0, width(r) - 1) });
  const whole = mods.ctrlKey === true || mods.metaKey === true;
  switch (key) {
    case 'ArrowLeft':
      return at(row, col - 1);
    case 'ArrowRight':
      return at(row, col + 1);
    case 'ArrowUp':
      return at(Math.max(0, row - 1), col);
    case 'ArrowDown':
      return at(Math.min(rows - 1, row + 1), col);
    case 'Home':
      return whole ? at(0, 0) : at(row, 0);
    case 'End':
      return whole ? at(rows - 1, width(rows - 1) - 1) : at(row, width(row) - 1);
    default:
      return undefined;
  }
}

/** Keys that activate the focused item, as a button would: Enter and Space. */
export function isActivation(key: string): boolean {
  return key === 'Enter' || key === ' ' || key === 'Spacebar';
}

/**
 * A chart's x range after a zoom key, given the range shown (`view`) and the data's (`full`):
 * "+"/"=" halves the range around its centre, "-" doubles it, ArrowLeft/ArrowRight pan by a quarter
 * of it, all kept inside `full`; "0" and Escape reset. Null: show everything (no zoom); undefined:
 * not a zoom key. A range that grows back to `full` is null too.
 */
export function zoomKey(key: string, view: readonly [number, number], full: readonly [number, number]): [number, number] | null | undefined {
  const [f0, f1] = full;
  const [v0, v1] = [Math.max(f0, view[0]), Math.min(f1, view[1])];
  const width = Math.max(0, v1 - v0);
  const fit = (a: number, w: number): [number, number] | null => {
    if (w >= f1 - f0) return null;
    const start = clamp(a, f0, f1 - w);
    return [start, start + w];
  };
  /** A range `w` wide around the centre of the one shown. */
  const around = (w: number): [number, number] | null => fit(v0 + (width - w) / 2, w);
  switch (key) {
    case '+':
    case '=':
      // Never below one step: a step axis has nothing between its integers.
      return around(Math.max(Math.min(1, f1 - f0), width / 2));
    case '-':
    case '_':
      return around(width * 2);
    case 'ArrowLeft':
      return width >= f1 - f0 ? null : fit(v0 - width / 4, width);
    case 'ArrowRight':
      return width >= f1 - f0 ? null : fit(v0 + width / 4, width);
    case '0':
    case 'Escape':
      return null;
    default:
      return undefined;
  }
}
