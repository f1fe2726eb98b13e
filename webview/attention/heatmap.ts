// One head's attention as a heatmap with its token labels: query tokens down the left, key tokens
// across the top (vertical text: a Chinese token stands upright), each cut to its room with "…"
// (fitLabel, CJK-aware) and whole in its tooltip. When a cell is smaller than a line of text only
// every n-th label shows (labelStride), and the hover tip names both tokens of any cell. The labels
// are DOM text in the theme's colours; the map fits the panel's width (heatCellPx). With the focus on
// the map, the arrow keys move over its cells as the mouse does.

import { el } from '../shared/dom';
import { gridMove, type GridPos } from '../shared/keys';
import { fitLabel, heatCellPx, labelColumnPx, labelStride } from './labels';

/** Font size of the heatmap's token labels (CSS: .hm-rows, .hm-cols). */
export const HEAT_FONT_PX = 11;

export interface HeatmapInput {
  readonly tokens: readonly string[];
  /** The width the heatmap may take, labels included. */
  readonly widthPx: number;
  /** The seq × seq map drawn `cssSize` pixels square. */
  readonly canvas: (cssSize: number) => HTMLCanvasElement;
  /** The hover text of cell (query i, key j). */
  readonly describe: (i: number, j: number) => string;
  readonly tip: HTMLElement;
  readonly label: string;
}

export function heatmapView(o: HeatmapInput): HTMLElement {
  const s = o.tokens.length;
  const labelPx = labelColumnPx(o.tokens, HEAT_FONT_PX);
  const cell = heatCellPx(o.widthPx, labelPx, s);
  const stride = labelStride(cell, HEAT_FONT_PX);
  const maxEm = (labelPx - 6) / HEAT_FONT_PX;
  const side = s * cell;

  const wrap = el('div', 'heatmap');
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', `${o.label}. Arrow keys move over the cells; Escape goes back to the grid.`);
  wrap.tabIndex = 0;
  wrap.style.gridTemplateColumns = `${labelPx}px ${side}px`;
  const cols = el('div', 'hm-cols');
  cols.style.height = `${labelPx}px`;
  const rows = el('div', 'hm-rows');
  rows.style.height = `${side}px`;
  const rowLabels = new Map<number, HTMLElement>();
  const colLabels = new Map<number, HTMLElement>();
  o.tokens.forEach((t, k) => {
    if (k % stride) return;
    const shown = fitLabel(t, maxEm);
    const r = el('span', 'hm-label', shown);
    r.title = t;
    r.style.top = `${k * cell + cell / 2}px`;
    const c = el('span', 'hm-label', shown);
    c.title = t;
    c.style.left = `${k * cell + cell / 2}px`;
    rows.append(r);
    cols.append(c);
    rowLabels.set(k, r);
    colLabels.set(k, c);
  });

  const canvas = o.canvas(side);
  canvas.classList.add('heat');
  let lit: HTMLElement[] = [];
  const light = (i?: number, j?: number): void => {
    for (const e of lit) e.classList.remove('hi');
    lit = [i !== undefined ? rowLabels.get(i) : undefined, j !== undefined ? colLabels.get(j) : undefined].filter((e): e is HTMLElement => !!e);
    for (const e of lit) e.classList.add('hi');
  };
  const show = (i: number, j: number, x: number, y: number): void => {
    light(i, j);
    o.tip.textContent = o.describe(i, j);
    o.tip.style.display = 'block';
    o.tip.style.left = `${x + 12}px`;
    o.tip.style.top = `${y + 12}px`;
  };
  const hide = (): void => {
    light();
    o.tip.style.display = 'none';
  };
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const i = Math.floor(((e.clientY - r.top) / r.height) * s);
    const j = Math.floor(((e.clientX - r.left) / r.width) * s);
    if (i < 0 || j < 0 || i >= s || j >= s) return;
    show(i, j, e.clientX, e.clientY);
  });
  canvas.addEventListener('mouseleave', hide);
  // The keyboard reads the map as the mouse does: the arrows (Home/End) move over its cells, each
  // shown with its tokens and weight in the tip.
  let at: GridPos | undefined;
  wrap.addEventListener('keydown', (e) => {
    const next = gridMove(at ?? { row: 0, col: 0 }, e.key, s, s, e);
    if (!next) return;
    e.preventDefault();
    at = at ? next : { row: 0, col: 0 };
    const r = canvas.getBoundingClientRect();
    show(at.row, at.col, r.left + (at.col + 1) * cell, r.top + (at.row + 1) * cell);
  });
  wrap.addEventListener('blur', () => {
    at = undefined;
    hide();
  });
  wrap.append(el('div', 'hm-corner'), cols, rows, canvas);
  return wrap;
}
