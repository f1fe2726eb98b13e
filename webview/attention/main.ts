// Attention viewer: layer × head grid, one head as a heatmap, head view (token-to-token lines),
// PNG/SVG export, and the difference of two models on the same text.
import { el } from '../shared/dom';
import { onHostMessage } from '../shared/messages';
import { onThemeChange, themeRgb } from '../shared/theme';
import { rovingGrid } from '../shared/roving';
import { heatmapView } from './heatmap';
import { attributionColumn } from './attributions';
import { CJK_FONT_FALLBACK, fitLabel, labelColumnPx } from './labels';
import { HOST_MESSAGE, type AttentionSet, type HostMessage, type WebviewMessage } from './protocol';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type Mode = 'grid' | 'heatmap' | 'heads';
type Which = 0 | 1 | 'diff';
interface ViewState { mode: Mode; layer: number; head: number; which: Which }

const vscode = acquireVsCodeApi();
const restored = vscode.getState() as Partial<ViewState> | undefined;
const view: ViewState = {
  mode: restored?.mode === 'heatmap' || restored?.mode === 'heads' ? restored.mode : 'grid',
  layer: typeof restored?.layer === 'number' ? restored.layer : 0,
  head: typeof restored?.head === 'number' ? restored.head : 0,
  which: 0,
};
let sets: readonly AttentionSet[] = [];

const app = document.getElementById('app') ?? document.body;
const toolbar = el('div', 'bar');
const main = el('div');
const tip = el('div', 'tip');
const info = el('div', 'meta');
// The Attributions column (a sequence classifier's) sits beside the maps.
const column = attributionColumn({ post: (m) => vscode.postMessage(m), tip, tokens: () => sets[0]?.tokens ?? [] });
const row = el('div', 'row');
row.append(main, column.element);
app.append(toolbar, info, row, tip);

const seqLen = (): number => sets[0]?.tokens.length ?? 0;

/** Attention of key j for query i (or A − B in diff mode). */
function weight(l: number, h: number, i: number, j: number): number {
  const s = seqLen();
  const at = ((l * sets[0].heads + h) * s + i) * s + j;
  if (view.which === 'diff') return sets[0].data[at] - sets[1].data[at];
  return sets[view.which]?.data[at] ?? 0;
}

/** The maps' colours, from the theme (charts blue: attention, red: the second model's excess); redrawn on a theme switch. */
let palette: { pos: [number, number, number]; neg: [number, number, number] } | undefined;
function colour(v: number, scale: number): [number, number, number, number] {
  palette ??= { pos: themeRgb('--vscode-charts-blue', '#3794ff'), neg: themeRgb('--vscode-charts-red', '#f14c4c') };
  const a = Math.min(1, Math.abs(v) / (scale || 1));
  return [...(v >= 0 ? palette.pos : palette.neg), Math.round(255 * Math.sqrt(a))];
}

function mapScale(l: number, h: number): number {
  const s = seqLen();
  let m = 0;
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) m = Math.max(m, Math.abs(weight(l, h, i, j)));
  return view.which === 'diff' ? m : Math.max(m, 1e-6);
}

/** A seq×seq canvas, one pixel per cell; CSS scales it up (pixelated). */
function mapCanvas(l: number, h: number, cssSize: number): HTMLCanvasElement {
  const s = seqLen();
  const c = el('canvas');
  c.width = s;
  c.height = s;
  c.style.width = `${cssSize}px`;
  c.style.height = `${cssSize}px`;
  const g = c.getContext('2d');
  if (!g) return c;
  const img = g.createImageData(s, s);
  const scale = mapScale(l, h);
  for (let i = 0; i < s; i++)
    for (let j = 0; j < s; j++) {
      const [r, gg, b, a] = colour(weight(l, h, i, j), scale);
      const p = (i * s + j) * 4;
      img.data[p] = r;
      img.data[p + 1] = gg;
      img.data[p + 2] = b;
      img.data[p + 3] = a;
    }
  g.putImageData(img, 0, 0);
  return c;
}

function button(label: string, on: boolean, click: () => void): HTMLButtonElement {
  const b = el('button', on ? 'on' : undefined, label);
  if (on) b.setAttribute('aria-pressed', 'true');
  b.addEventListener('click', click);
  return b;
}

function labelled<T extends HTMLElement>(e: T, label: string): T {
  e.setAttribute('aria-label', label);
  return e;
}

function select(values: string[], current: number, change: (i: number) => void): HTMLSelectElement {
  const s = el('select');
  values.forEach((v, i) => {
    const o = el('option', undefined, v);
    o.value = String(i);
    o.selected = i === current;
    s.append(o);
  });
  s.addEventListener('change', () => change(Number(s.value)));
  return s;
}

function renderToolbar(): void {
  const set = sets[0];
  const items: HTMLElement[] = [
    button('Grid', view.mode === 'grid', () => update({ mode: 'grid' })),
    button('Heatmap', view.mode === 'heatmap', () => update({ mode: 'heatmap' })),
    button('Head view', view.mode === 'heads', () => update({ mode: 'heads' })),
    el('span', 'meta', 'Layer'),
    labelled(select(Array.from({ length: set.layers }, (_, i) => String(i + 1)), view.layer, (layer) => update({ layer })), 'Layer'),
    el('span', 'meta', 'Head'),
    labelled(select(Array.from({ length: set.heads }, (_, i) => String(i + 1)), view.head, (head) => update({ head })), 'Head'),
  ];
  if (sets.length === 2) {
    items.push(select([sets[0].model, sets[1].model, `${sets[0].model} − ${sets[1].model}`], view.which === 'diff' ? 2 : view.which, (i) => update({ which: i === 2 ? 'diff' : (i as 0 | 1) })));
  } else {
    items.push(button('Compare with…', false, () => vscode.postMessage({ type: 'compare' })));
  }
  items.push(button('Export PNG', false, () => exportImage('png')), button('Export SVG', false, () => exportImage('svg')));
  toolbar.replaceChildren(...items);
}

/** Where the keyboard focus goes after the next render: the grid's selected head, or the opened map. */
let focusNext: 'grid' | 'map' | undefined;

/**
 * One row per layer, its heads wrapping to the panel's width (a half-width editor group still shows
 * every head). One Tab stop: the arrows move between heads (left/right) and layers (up/down), Enter
 * or Space opens the head large, Escape there comes back to it.
 */
function renderGrid(): void {
  const set = sets[0];
  const grid = el('div', 'grid');
  grid.setAttribute('role', 'grid');
  grid.setAttribute('aria-label', `Attention maps, ${set.layers} layers × ${set.heads} heads: arrow keys move, Enter opens a head`);
  const cells: HTMLElement[][] = [];
  for (let l = 0; l < set.layers; l++) {
    const row = el('div', 'layer');
    row.setAttribute('role', 'row');
    const name = el('div', 'layer-name', `L${l + 1}`);
    name.setAttribute('role', 'rowheader');
    name.title = `Layer ${l + 1}`;
    const heads = el('div', 'layer-heads');
    cells.push([]);
    for (let h = 0; h < set.heads; h++) {
      const cell = el('div', l === view.layer && h === view.head ? 'cell sel' : 'cell');
      cell.title = `Layer ${l + 1}, head ${h + 1}`;
      cell.setAttribute('role', 'gridcell');
      cell.setAttribute('aria-label', `Layer ${l + 1}, head ${h + 1}`);
      cell.setAttribute('aria-selected', String(l === view.layer && h === view.head));
      cell.append(mapCanvas(l, h, 56), el('span', undefined, `H${h + 1}`));
      cell.addEventListener('click', () => update({ mode: 'heatmap', layer: l, head: h }));
      heads.append(cell);
      cells[l]?.push(cell);
    }
    row.append(name, heads);
    grid.append(row);
  }
  const focus = rovingGrid(cells, { row: view.layer, col: view.head }, {
    move: ({ row, col }) => {
      cells[view.layer]?.[view.head]?.classList.remove('sel');
      cells[view.layer]?.[view.head]?.setAttribute('aria-selected', 'false');
      Object.assign(view, { layer: row, head: col });
      cells[row]?.[col]?.classList.add('sel');
      cells[row]?.[col]?.setAttribute('aria-selected', 'true');
      vscode.setState(view);
      renderToolbar();
    },
    activate: ({ row, col }) => {
      focusNext = 'map';
      update({ mode: 'heatmap', layer: row, head: col });
    },
  });
  main.replaceChildren(grid);
  if (focusNext === 'grid') focus({ row: view.layer, col: view.head });
}

/** The selected head large, with token labels, fitted to the panel's width. */
function renderHeatmap(): void {
  const tokens = sets[0].tokens;
  const map = heatmapView({
    tokens,
    widthPx: main.clientWidth || document.documentElement.clientWidth - 24,
    canvas: (size) => mapCanvas(view.layer, view.head, size),
    describe: (i, j) => `${tokens[i]} → ${tokens[j]}: ${weight(view.layer, view.head, i, j).toFixed(4)}`,
    tip,
    label: `Layer ${view.layer + 1}, head ${view.head + 1}: attention of each query token (rows) to each key token (columns)`,
  });
  main.replaceChildren(el('div', 'meta', 'Rows: query token; columns: key token. Hover for weights; Escape: back to the grid.'), map);
  if (focusNext === 'map') map.focus();
}

function renderHeads(): void {
  const tokens = sets[0].tokens;
  const s = tokens.length;
  const rowPx = 16;
  const wrap = el('div', 'heads');
  const left = el('div', 'col');
  const right = el('div', 'col');
  const lines = el('canvas', 'lines');
  const width = 420;
  lines.width = width;
  lines.height = s * rowPx;
  wrap.style.height = `${s * rowPx}px`;
  // Whole labels (a Chinese token is one character), in a font with CJK glyphs; the full token on hover.
  const label = (t: string): HTMLSpanElement => {
    const e = el('span', undefined, t);
    e.title = t;
    return e;
  };
  const spansL = tokens.map(label);
  const spansR = tokens.map(label);
  left.append(...spansL);
  right.append(...spansR);
  wrap.append(lines, left, right);
  const draw = (only?: number): void => {
    const g = lines.getContext('2d');
    if (!g) return;
    g.clearRect(0, 0, width, lines.height);
    const scale = mapScale(view.layer, view.head);
    const x0 = Math.max(...spansL.map((e) => e.offsetWidth), 40) + 4;
    const x1 = width - Math.max(...spansR.map((e) => e.offsetWidth), 40) - 4;
    for (let i = 0; i < s; i++) {
      if (only !== undefined && i !== only) continue;
      for (let j = 0; j < s; j++) {
        const [r, gg, b, a] = colour(weight(view.layer, view.head, i, j), scale);
        if (a < 8) continue;
        g.strokeStyle = `rgba(${r},${gg},${b},${(a / 255).toFixed(3)})`;
        g.lineWidth = only === undefined ? 1 : 2;
        g.beginPath();
        g.moveTo(x0, i * rowPx + rowPx / 2);
        g.lineTo(x1, j * rowPx + rowPx / 2);
        g.stroke();
      }
    }
    spansL.forEach((e, k) => e.classList.toggle('hi', k === only));
  };
  spansL.forEach((e, i) => {
    e.addEventListener('mouseenter', () => draw(i));
    e.addEventListener('mouseleave', () => draw());
  });
  main.replaceChildren(el('div', 'meta', 'Left: query tokens; right: key tokens. Hover a token for its lines only.'), wrap);
  requestAnimationFrame(() => draw());
}

function render(): void {
  if (!sets.length) return;
  vscode.setState(view);
  view.layer = Math.min(view.layer, sets[0].layers - 1);
  view.head = Math.min(view.head, sets[0].heads - 1);
  renderToolbar();
  info.textContent = `${seqLen()} tokens · ${sets[0].layers} layers × ${sets[0].heads} heads${view.which === 'diff' ? ' · red: second model attends more' : ''}`;
  if (view.mode === 'grid') renderGrid();
  else if (view.mode === 'heatmap') renderHeatmap();
  else renderHeads();
  column.render();
  focusNext = undefined;
}

// Escape in a single head's view (heatmap or head view) goes back to the grid, on that head.
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || view.mode === 'grid' || !sets.length || e.target instanceof HTMLSelectElement) return;
  e.preventDefault();
  focusNext = 'grid';
  update({ mode: 'grid' });
});

// A theme switch: the maps' colours again. A narrower or wider panel: the heatmap fitted again.
onThemeChange(() => {
  palette = undefined;
  render();
});
let mainWidth = 0;
new ResizeObserver(() => {
  const w = main.clientWidth;
  if (Math.abs(w - mainWidth) < 8) return;
  mainWidth = w;
  if (view.mode === 'heatmap' && sets.length) renderHeatmap();
}).observe(main);

function update(patch: Partial<ViewState>): void {
  Object.assign(view, patch);
  render();
}

const escapeXml = (t: string): string => t.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The selected head as an image with token labels: PNG from a canvas, SVG as vector cells. */
function exportImage(format: 'png' | 'svg'): void {
  const tokens = sets[0].tokens;
  const s = tokens.length;
  const cell = Math.max(4, Math.min(20, Math.floor(1600 / Math.max(1, s))));
  // Labels at least 10 px (a CJK glyph smaller than that is unreadable), in a column as wide as the
  // widest label needs (CJK characters count one em), cut with "…" only past 160 px, never a single
  // character; not squeezed by fillText's maxWidth, which makes Chinese illegible.
  const fontPx = Math.max(10, Math.min(12, cell));
  const label = labelColumnPx(tokens, fontPx);
  const shown = tokens.map((t) => fitLabel(t, (label - 6) / fontPx));
  const font = `${fontPx}px ${CJK_FONT_FALLBACK}`;
  const size = label + s * cell;
  const scale = mapScale(view.layer, view.head);
  const name = `attention-L${view.layer + 1}-H${view.head + 1}${view.which === 'diff' ? '-diff' : ''}`;
  if (format === 'png') {
    const c = el('canvas');
    c.width = size;
    c.height = size;
    const g = c.getContext('2d');
    if (!g) return;
    g.fillStyle = '#fff';
    g.fillRect(0, 0, size, size);
    for (let i = 0; i < s; i++)
      for (let j = 0; j < s; j++) {
        const [r, gg, b, a] = colour(weight(view.layer, view.head, i, j), scale);
        g.fillStyle = `rgba(${r},${gg},${b},${a / 255})`;
        g.fillRect(label + j * cell, label + i * cell, cell, cell);
      }
    g.fillStyle = '#000';
    g.font = font;
    shown.forEach((t, k) => {
      g.fillText(t, 2, label + k * cell + cell - 1);
      g.save();
      g.translate(label + k * cell + cell - 1, label - 2);
      g.rotate(-Math.PI / 2);
      g.fillText(t, 0, 0);
      g.restore();
    });
    vscode.postMessage({ type: 'export', format, data: c.toDataURL('image/png'), name });
    return;
  }
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" font-family="${escapeXml(CJK_FONT_FALLBACK)}" font-size="${fontPx}">`, `<rect width="${size}" height="${size}" fill="#fff"/>`];
  for (let i = 0; i < s; i++)
    for (let j = 0; j < s; j++) {
      const [r, gg, b, a] = colour(weight(view.layer, view.head, i, j), scale);
      if (a >= 3) parts.push(`<rect x="${label + j * cell}" y="${label + i * cell}" width="${cell}" height="${cell}" fill="rgb(${r},${gg},${b})" fill-opacity="${(a / 255).toFixed(3)}"/>`);
    }
  shown.forEach((t, k) => {
    parts.push(`<text x="2" y="${label + k * cell + cell - 1}">${escapeXml(t)}</text>`);
    parts.push(`<text transform="translate(${label + k * cell + cell - 1},${label - 2}) rotate(-90)">${escapeXml(t)}</text>`);
  });
  parts.push('</svg>');
  vscode.postMessage({ type: 'export', format, data: parts.join(''), name });
}

function receive(m: HostMessage): void {
  if (column.receive(m)) return;
  if (m.type === 'error') {
    main.replaceChildren(el('div', 'err', m.message));
    column.show(undefined);
    return;
  }
  sets = m.sets;
  if (sets.length < 2 && view.which !== 0) view.which = 0;
  column.show(m.explain);
  render();
}

onHostMessage('attention', HOST_MESSAGE, receive);
vscode.postMessage({ type: 'ready' });
