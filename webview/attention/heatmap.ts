// One head's attention as a heatmap with its token labels: query tokens down the left, key tokens
// across the top (vertical text: a Chinese token stands upright), each cut to its room with "…"
// (fitLabel, CJK-aware) and whole in its tooltip. When a cell is smaller than a line of text only
// every n-th label shows (labelStride), and the hover tip names both tokens of any cell. The labels
// are DOM text in the theme's colours; the map fits the panel's width (heatCellPx).

import { el } from '../shared/dom';
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
  wrap.setAttribute('aria-label', o.label);
  wrap.tabIndex = -1;
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
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const i = Math.floor(((e.clientY - r.top) / r.height) * s);
    const j = Math.floor(((e.clientX - r.left) / r.width) * s);
    if (i < 0 || j < 0 || i >= s || j >= s) return;
    light(i, j);
    o.tip.textContent = o.describe(i, j);
    o.tip.style.display = 'block';
    o.tip.style.left = `${e.clientX + 12}px`;
    o.tip.style.top = `${e.clientY + 12}px`;
  });
  canvas.addEventListener('mouseleave', () => {
    light();
    o.tip.style.display = 'none';
  });
  wrap.append(el('div', 'hm-corner'), cols, rows, canvas);
  return wrap;
}
