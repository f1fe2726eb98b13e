// Embedding map page: a run's examples as points (the worker's 2-D projection of their embeddings),
// coloured by gold label, prediction or error, with a legend (each entry hides or shows its points),
// a hover tooltip, and a lasso: drag a free-form outline with the mouse to list the examples inside;
// each opens at its source line. Colours come from the theme (VS Code's chart colours), redrawn on a
// theme switch. Every control is reachable with Tab; "Select misclassified" makes a selection without
// the mouse. Example text only ever goes in as textContent.

import { el } from '../shared/dom';
import { onHostMessage } from '../shared/messages';
import { onThemeChange, themeRgb } from '../shared/theme';
import { extendLasso, fitFrame, lassoSelect, legend, nearestPoint, PALETTE, styleKey, toPixel, type Frame, type Marker, type Style, type Vec } from './geometry';
import { COLOR_MODES, HOST_MESSAGE, IDS, METHODS, POOLINGS, SPLITS, ToHost, ToWebview, type ColorMode, type HostMessage, type PageMap, type PagePoint, type Settings, type StateMessage, type WebviewMessage } from './protocol';
import './main.css';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** What the page keeps across hide/show and reloads (vscode.setState). */
interface UiState {
  colorBy: ColorMode;
  hidden: string[];
  /** Positions of the selected points, for the map named by `mapKey`. */
  selection: number[];
  mapKey: string;
  /** The run and settings shown, for the host to restore the panel after a reload. */
  runId?: string;
  settings?: Settings;
}

/** Examples listed for a selection; the rest are counted. */
const MAX_LISTED = 500;
const COLOR_NAMES: Record<ColorMode, string> = { gold: 'Gold label', pred: 'Prediction', error: 'Correct or misclassified' };
const METHOD_NAMES: Record<(typeof METHODS)[number], string> = { pca: 'PCA (fast)', umap: 'UMAP' };
const POOLING_NAMES: Record<(typeof POOLINGS)[number], string> = { mean: 'Mean of tokens', cls: '[CLS] token' };
const SPLIT_NAMES: Record<(typeof SPLITS)[number], string> = { validation: 'Validation', train: 'Training' };

const vscode = acquireVsCodeApi();
const saved = vscode.getState() as Partial<UiState> | undefined;
const ui: UiState = {
  colorBy: COLOR_MODES.includes(saved?.colorBy as ColorMode) ? (saved?.colorBy as ColorMode) : 'gold',
  hidden: Array.isArray(saved?.hidden) ? saved.hidden.filter((h) => typeof h === 'string') : [],
  selection: Array.isArray(saved?.selection) ? saved.selection.filter((n) => Number.isInteger(n)) : [],
  mapKey: typeof saved?.mapKey === 'string' ? saved.mapKey : '',
};

// ---- the page ------------------------------------------------------------------------------------
const app = document.getElementById('app') ?? document.body;
const title = el('h2', 'title', 'Embedding map');
title.id = IDS.title;
const status = el('p', 'muted status');
status.id = IDS.status;
status.setAttribute('role', 'status');
status.setAttribute('aria-live', 'polite');

function select<T extends string>(id: string, labelText: string, options: readonly T[], names: Record<T, string>): HTMLSelectElement {
  const s = el('select');
  s.id = id;
  for (const o of options) {
    const opt = el('option', undefined, names[o]);
    opt.value = o;
    s.append(opt);
  }
  const l = el('label', 'field', labelText);
  l.htmlFor = id;
  controls.append(l, s);
  return s;
}

const controls = el('div', 'controls');
controls.setAttribute('role', 'group');
controls.setAttribute('aria-label', 'Embedding map settings');
const splitSel = select(IDS.split, 'Split', SPLITS, SPLIT_NAMES);
const methodSel = select(IDS.method, 'Projection', METHODS, METHOD_NAMES);
const poolingSel = select(IDS.pooling, 'Pooling', POOLINGS, POOLING_NAMES);
const compute = el('button', undefined, 'Compute');
compute.id = IDS.compute;
compute.title = 'Compute the map with these settings (a cached map with the same settings opens at once)';
const cancel = el('button', 'secondary', 'Cancel');
cancel.id = IDS.cancel;
cancel.hidden = true;
controls.append(compute, cancel);
const colorSel = select(IDS.colorBy, 'Colour by', COLOR_MODES, COLOR_NAMES);
colorSel.value = ui.colorBy;

const plotWrap = el('div', 'plot');
const canvas = el('canvas');
canvas.id = IDS.canvas;
canvas.tabIndex = 0;
canvas.setAttribute('role', 'img');
canvas.setAttribute('aria-label', 'Embedding map (no points yet)');
const tooltip = el('div', 'tooltip');
tooltip.id = IDS.tooltip;
tooltip.setAttribute('role', 'tooltip');
tooltip.hidden = true;
plotWrap.append(canvas, tooltip);

const side = el('aside', 'side');
const legendList = el('ul', 'legend');
legendList.id = IDS.legend;
legendList.setAttribute('aria-label', 'Legend: press an entry to hide or show its points');
const selHead = el('div', 'sel-head');
const selCount = el('span', undefined, 'No selection: draw a lasso around points with the mouse.');
selCount.id = IDS.selectionCount;
selCount.setAttribute('aria-live', 'polite');
const selectErrors = el('button', 'secondary', 'Select misclassified');
selectErrors.id = IDS.selectErrors;
const clearSel = el('button', 'secondary', 'Clear selection');
clearSel.id = IDS.clear;
selHead.append(selCount, selectErrors, clearSel);
const selList = el('ol', 'examples');
selList.id = IDS.selection;
selList.setAttribute('aria-label', 'Selected examples: press one to open it at its source line');
side.append(el('h3', undefined, 'Legend'), legendList, el('h3', undefined, 'Selection'), selHead, selList);

const main = el('div', 'main');
main.append(plotWrap, side);
app.append(title, controls, status, main);

// ---- state ---------------------------------------------------------------------------------------
let state: StateMessage | undefined;
let map: PageMap | undefined;
let frame: Frame | undefined;
let styles = new Map<string, Style>();
let colors: string[] = [];
let lasso: Vec[] | undefined;
let hover = -1;
/** Marker size in CSS pixels: larger when there are few points. */
let radius = 4;

function save(): void {
  vscode.setState(ui);
}

function mapKey(m: PageMap): string {
  return `${m.split}|${m.method}|${m.pooling}|${m.points.length}|${m.examples}`;
}

function resolveColors(): void {
  colors = PALETTE.map((c) => {
    const [r, g, b] = themeRgb(c.cssVar, c.fallback);
    return `rgb(${r}, ${g}, ${b})`;
  });
}

function settings(): Settings {
  return { split: splitSel.value as Settings['split'], method: methodSel.value as Settings['method'], pooling: poolingSel.value as Settings['pooling'] };
}

function render(m: HostMessage): void {
  if (m.type === ToWebview.Progress) {
    if (state?.status === 'running') status.textContent = m.message;
    return;
  }
  state = m;
  ui.runId = m.runId;
  ui.settings = m.settings;
  save();
  title.textContent = m.title;
  for (const opt of Array.from(splitSel.options)) opt.disabled = !m.splits.includes(opt.value as Settings['split']);
  splitSel.value = m.settings.split;
  methodSel.value = m.settings.method;
  poolingSel.value = m.settings.pooling;
  const running = m.status === 'running';
  compute.disabled = running;
  cancel.hidden = !running;
  if (m.map) setMap(m.map);
  status.className = m.status === 'error' ? 'status err' : 'muted status';
  status.textContent = m.message ?? (running ? 'Computing the map…' : m.map ? summary(m.map) : 'No map yet: choose the split and projection, then Compute.');
  if (!m.map && !running) {
    map = undefined;
    draw();
    renderLegend();
    renderSelection();
  }
}

function summary(m: PageMap): string {
  const parts = [`${m.points.length.toLocaleString()} of ${m.examples.toLocaleString()} ${m.split === 'train' ? 'training' : 'validation'} ${m.task === 'token_classification' ? 'sentences' : 'examples'}`];
  parts.push(m.method === 'pca' && m.explainedVariance ? `PCA (axes explain ${m.explainedVariance.map((v) => `${(v * 100).toFixed(1)}%`).join(' and ')} of the variance)` : m.method.toUpperCase());
  parts.push(m.pooling === 'cls' ? '[CLS] embeddings' : 'mean-pooled embeddings');
  const wrong = m.points.filter((p) => !p.correct).length;
  parts.push(`${wrong.toLocaleString()} misclassified`);
  if (m.cached) parts.push('from the cache');
  return `${parts.join(' · ')}.`;
}

function setMap(m: PageMap): void {
  const key = mapKey(m);
  if (key !== ui.mapKey) {
    ui.mapKey = key;
    ui.selection = [];
  }
  ui.selection = ui.selection.filter((i) => i >= 0 && i < m.points.length);
  map = m;
  save();
  renderLegend();
  renderSelection();
  draw();
}

// ---- legend and selection ------------------------------------------------------------------------
function renderLegend(): void {
  legendList.replaceChildren();
  styles = new Map();
  if (!map) return;
  const list = legend(ui.colorBy, map.labels);
  const counts = new Map<string, number>();
  for (const p of map.points) {
    const k = styleKey(ui.colorBy, p);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const s of list) {
    styles.set(s.key, s);
    const n = counts.get(s.key) ?? 0;
    if (!n && ui.colorBy !== 'error') continue;
    const li = el('li');
    const b = el('button', 'legend-item');
    b.id = `embeddings-legend-${s.key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const shown = !ui.hidden.includes(s.key);
    b.setAttribute('aria-pressed', String(shown));
    b.setAttribute('aria-label', `${s.name}: ${n} points, ${shown ? 'shown' : 'hidden'}; press to ${shown ? 'hide' : 'show'}`);
    const swatch = el('canvas', 'swatch');
    swatch.width = swatch.height = 12;
    const c = swatch.getContext('2d');
    if (c) {
      c.fillStyle = colors[s.color] ?? '#888';
      marker(c, s.marker, 6, 6, 4.5);
    }
    b.append(swatch, el('span', 'legend-name', s.name), el('span', 'muted', ` ${n}`));
    b.classList.toggle('off', !shown);
    b.addEventListener('click', () => {
      ui.hidden = shown ? [...ui.hidden, s.key] : ui.hidden.filter((h) => h !== s.key);
      save();
      renderLegend();
      document.getElementById(b.id)?.focus();
      draw();
    });
    li.append(b);
    legendList.append(li);
  }
}

function visible(p: PagePoint): boolean {
  return !ui.hidden.includes(styleKey(ui.colorBy, p));
}

function setSelection(positions: number[]): void {
  ui.selection = positions;
  save();
  renderSelection();
  draw();
}

function renderSelection(): void {
  selList.replaceChildren();
  const pts = map?.points ?? [];
  const chosen = ui.selection.filter((i) => pts[i]);
  clearSel.disabled = !chosen.length;
  selectErrors.disabled = !pts.some((p) => !p.correct);
  if (!chosen.length) {
    selCount.textContent = map ? 'No selection: draw a lasso around points with the mouse, or select the misclassified ones.' : '';
    return;
  }
  // Misclassified examples first (what one looks for), then in data order.
  const ordered = [...chosen].sort((a, b) => Number(pts[a].correct) - Number(pts[b].correct) || pts[a].index - pts[b].index);
  const wrong = chosen.filter((i) => !pts[i].correct).length;
  selCount.textContent = `${chosen.length} selected, ${wrong} misclassified${chosen.length > MAX_LISTED ? ` (the first ${MAX_LISTED} listed)` : ''}.`;
  for (const i of ordered.slice(0, MAX_LISTED)) {
    const p = pts[i];
    const li = el('li', p.correct ? undefined : 'wrong');
    const b = el('button', 'example');
    b.dataset.point = String(i);
    const labels = p.correct ? p.gold : `${p.gold} → ${p.pred}`;
    b.append(el('span', 'where', p.where ?? `#${p.index + 1}`), el('span', 'labels', labels), el('span', 'text', p.text));
    b.setAttribute('aria-label', `${p.where ? `Open ${p.where}` : `Example ${p.index + 1} (no source line)`}: gold ${p.gold}, predicted ${p.pred}: ${p.text}`);
    if (p.where) b.addEventListener('click', () => vscode.postMessage({ type: ToHost.Open, point: i }));
    else b.disabled = true;
    b.addEventListener('mouseenter', () => {
      hover = i;
      draw();
    });
    li.append(b);
    selList.append(li);
  }
}

// ---- drawing -------------------------------------------------------------------------------------
function marker(c: CanvasRenderingContext2D, shape: Marker, x: number, y: number, r: number): void {
  c.beginPath();
  if (shape === 'square') c.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
  else if (shape === 'triangle') {
    c.moveTo(x, y - r * 1.1);
    c.lineTo(x + r, y + r * 0.8);
    c.lineTo(x - r, y + r * 0.8);
    c.closePath();
  } else if (shape === 'diamond') {
    c.moveTo(x, y - r * 1.2);
    c.lineTo(x + r, y);
    c.lineTo(x, y + r * 1.2);
    c.lineTo(x - r, y);
    c.closePath();
  } else c.arc(x, y, r, 0, Math.PI * 2);
  c.fill();
}

function draw(): void {
  const rect = plotWrap.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(50, Math.floor(rect.width));
  const h = Math.max(50, Math.floor(rect.height));
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const c = canvas.getContext('2d');
  if (!c) return;
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.clearRect(0, 0, w, h);
  const pts = map?.points ?? [];
  frame = fitFrame(pts, w, h);
  canvas.setAttribute('aria-label', map ? `Embedding map: ${pts.length} points coloured by ${COLOR_NAMES[ui.colorBy].toLowerCase()}; drag with the mouse to draw a lasso and list the examples inside.` : 'Embedding map (no points yet)');
  if (!map) return;
  radius = pts.length <= 500 ? 4 : pts.length <= 5000 ? 3 : 2;
  const fg = themeRgb('--vscode-foreground', '#cccccc');
  // Misclassified points last, so that they stay on top in every mode.
  const order = pts.map((_, i) => i).sort((a, b) => Number(pts[b].correct) - Number(pts[a].correct));
  c.globalAlpha = ui.selection.length ? 0.45 : 0.85;
  for (const i of order) {
    const p = pts[i];
    if (!visible(p)) continue;
    const s = styles.get(styleKey(ui.colorBy, p));
    const [x, y] = toPixel(frame, p.x, p.y);
    c.fillStyle = colors[s?.color ?? 0] ?? '#888';
    marker(c, s?.marker ?? 'circle', x, y, radius);
  }
  c.globalAlpha = 1;
  if (ui.selection.length) {
    c.strokeStyle = `rgb(${fg.join(', ')})`;
    c.lineWidth = 1;
    for (const i of ui.selection) {
      const p = pts[i];
      if (!p || !visible(p)) continue;
      const s = styles.get(styleKey(ui.colorBy, p));
      const [x, y] = toPixel(frame, p.x, p.y);
      c.fillStyle = colors[s?.color ?? 0] ?? '#888';
      marker(c, s?.marker ?? 'circle', x, y, radius + 0.5);
      c.beginPath();
      c.arc(x, y, radius + 2.5, 0, Math.PI * 2);
      c.stroke();
    }
  }
  if (hover >= 0 && pts[hover]) {
    const [x, y] = toPixel(frame, pts[hover].x, pts[hover].y);
    c.strokeStyle = `rgb(${themeRgb('--vscode-focusBorder', '#007fd4').join(', ')})`;
    c.lineWidth = 2;
    c.beginPath();
    c.arc(x, y, radius + 4, 0, Math.PI * 2);
    c.stroke();
  }
  if (lasso && lasso.length > 1) {
    c.strokeStyle = `rgb(${themeRgb('--vscode-focusBorder', '#007fd4').join(', ')})`;
    c.fillStyle = `rgba(${themeRgb('--vscode-focusBorder', '#007fd4').join(', ')}, 0.08)`;
    c.lineWidth = 1.5;
    c.setLineDash([4, 3]);
    c.beginPath();
    c.moveTo(lasso[0][0], lasso[0][1]);
    for (const [x, y] of lasso.slice(1)) c.lineTo(x, y);
    c.closePath();
    c.fill();
    c.stroke();
    c.setLineDash([]);
  }
}

// ---- pointer: hover and lasso --------------------------------------------------------------------
function local(e: PointerEvent | MouseEvent): Vec {
  const r = canvas.getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

function visiblePoints(): { positions: number[]; pts: PagePoint[] } {
  const positions: number[] = [];
  const pts: PagePoint[] = [];
  (map?.points ?? []).forEach((p, i) => {
    if (visible(p)) {
      positions.push(i);
      pts.push(p);
    }
  });
  return { positions, pts };
}

function showTooltip(i: number, x: number, y: number): void {
  const p = map?.points[i];
  if (!p) {
    tooltip.hidden = true;
    return;
  }
  tooltip.replaceChildren(
    el('div', 'tip-text', p.text),
    el('div', p.correct ? 'muted' : 'tip-wrong', p.correct ? `${p.gold} (predicted right)` : `gold ${p.gold} · predicted ${p.pred}`),
    el('div', 'muted', p.where ?? `example ${p.index + 1}, no source line`),
  );
  tooltip.hidden = false;
  const room = plotWrap.clientWidth;
  tooltip.style.left = `${Math.min(x + 12, Math.max(0, room - tooltip.offsetWidth - 4))}px`;
  tooltip.style.top = `${y + 12}px`;
}

canvas.addEventListener('pointerdown', (e) => {
  if (!map || e.button !== 0) return;
  canvas.setPointerCapture(e.pointerId);
  lasso = [local(e)];
  tooltip.hidden = true;
});

canvas.addEventListener('pointermove', (e) => {
  const [x, y] = local(e);
  if (lasso) {
    extendLasso(lasso, x, y);
    draw();
    return;
  }
  if (!map || !frame) return;
  const { positions, pts } = visiblePoints();
  const k = nearestPoint(frame, pts, x, y);
  const i = k >= 0 ? positions[k] : -1;
  canvas.style.cursor = i >= 0 ? 'pointer' : 'crosshair';
  if (i !== hover) {
    hover = i;
    draw();
  }
  if (i >= 0) showTooltip(i, x, y);
  else tooltip.hidden = true;
});

canvas.addEventListener('pointerup', (e) => {
  if (!lasso || !frame) return;
  const drawn = lasso;
  lasso = undefined;
  canvas.releasePointerCapture(e.pointerId);
  const [x, y] = local(e);
  if (drawn.length < 3) {
    // A click selects the point under the pointer (a double click opens it); a click on nothing clears.
    const { positions, pts } = visiblePoints();
    const k = nearestPoint(frame, pts, x, y);
    if (k >= 0) setSelection([positions[k]]);
    else setSelection([]);
    return;
  }
  const { positions, pts } = visiblePoints();
  setSelection(lassoSelect(frame, pts, drawn).map((k) => positions[k]));
});

canvas.addEventListener('pointerleave', () => {
  if (lasso) return;
  tooltip.hidden = true;
  if (hover >= 0) {
    hover = -1;
    draw();
  }
});

canvas.addEventListener('dblclick', (e) => {
  if (!map || !frame) return;
  const [x, y] = local(e);
  const { positions, pts } = visiblePoints();
  const k = nearestPoint(frame, pts, x, y);
  if (k >= 0 && pts[k].where) vscode.postMessage({ type: ToHost.Open, point: positions[k] });
});

canvas.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    lasso = undefined;
    setSelection([]);
  }
});

selList.addEventListener('mouseleave', () => {
  hover = -1;
  draw();
});

// ---- controls ------------------------------------------------------------------------------------
compute.addEventListener('click', () => vscode.postMessage({ type: ToHost.Compute, settings: settings() }));
cancel.addEventListener('click', () => vscode.postMessage({ type: ToHost.Cancel }));
colorSel.addEventListener('change', () => {
  ui.colorBy = colorSel.value as ColorMode;
  ui.hidden = [];
  save();
  renderLegend();
  draw();
});
selectErrors.addEventListener('click', () => {
  const pts = map?.points ?? [];
  setSelection(pts.map((_, i) => i).filter((i) => !pts[i].correct && visible(pts[i])));
});
clearSel.addEventListener('click', () => setSelection([]));

new ResizeObserver(() => draw()).observe(plotWrap);
onThemeChange(() => {
  resolveColors();
  renderLegend();
  draw();
});
resolveColors();
onHostMessage('embedding map', HOST_MESSAGE, render);
vscode.postMessage({ type: ToHost.Ready });
