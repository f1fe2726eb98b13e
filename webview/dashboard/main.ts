// Training Dashboard webview. Receives runs, downsampled series deltas, summaries, evaluations and
// log lines from the host; sends only the selection, zoom ranges and indices into lists it was
// given. UI choices survive reloads through the webview state.

import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { Chart, type ChartSeries } from './charts';
import { el } from '../shared/dom';
import { clear, cssVar, custom } from './dom';
import { onHostMessage } from '../shared/messages';
import { onThemeChange } from '../shared/theme';
import { arrayOf, check, object, optional } from '../../src/shared/guard';
import { EVAL_PREFIX, HOST_MESSAGE, RUN_LIST_ITEM, RUN_SUMMARY, ToHost, ToWebview, type EvalReport, type HostMessage, type RunListItem, type RunSummary, type Selection, type SeriesDelta, type WebviewMessage } from './protocol';
import { LogView, renderEval, renderSummary } from './sections';
import { DataMapSection } from './cartography';
import { SlicesSection } from './slices';
import { loadState, readySelection, selectionOf, type UiState } from './uiState';
import { envelope, perBucket, SeriesStore, smoothedEnvelope, type Buckets, type Line } from './seriesStore';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: UiState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const PALETTE = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

const saved = vscode.getState();
const ui = loadState(saved);
const store = new SeriesStore();
const zoomStore = new SeriesStore();
/**
 * The run list and the primary run's summary as last shown, saved with the state: a page reopened
 * (or the window reloaded) shows them at once instead of "No runs yet" while the host reads the runs.
 */
const VIEW_CACHE = object({ runs: arrayOf(RUN_LIST_ITEM, 200), summary: optional(RUN_SUMMARY) });
const cached = check(VIEW_CACHE, (saved as { view?: unknown } | undefined)?.view);
let runs: RunListItem[] = cached.ok ? [...cached.value.runs] : [];
/** No run list from the host yet (the cached one, if any, is shown meanwhile). */
let runsLoading = true;
/** Visible runs whose data the host has not sent yet: the charts keep the last view, dimmed, meanwhile. */
const awaiting = new Set<string>();
/** Waits for a run's data; a host that never sends it (the run vanished) does not leave the view dimmed. */
function wait(id: string): void {
  awaiting.add(id);
  setTimeout(() => {
    if (!awaiting.delete(id)) return;
    renderDetails();
    scheduleCharts();
  }, 15_000);
}
const summaries = new Map<string, RunSummary>(cached.ok && cached.value.summary && ui.primary ? [[ui.primary, cached.value.summary]] : []);
const evals = new Map<string, EvalReport | null>();
let zoom: [number, number] | undefined;
let zoomRequest = 0;

// ---- layout ------------------------------------------------------------------------------------
const app = document.getElementById('app') ?? document.body;
const header = el('header', 'toolbar');
const runSelect = custom<{ value: string }>('vscode-single-select', 'run-select');
runSelect.setAttribute('aria-label', 'Run');
const smoothingInput = el('input', 'smoothing');
smoothingInput.type = 'range';
smoothingInput.min = '0';
smoothingInput.max = '0.99';
smoothingInput.step = '0.01';
smoothingInput.value = String(ui.smoothing);
smoothingInput.setAttribute('aria-label', 'Loss smoothing');
const smoothingValue = el('span', 'smoothing-value', ui.smoothing.toFixed(2));
const smoothingLabel = el('label', 'smoothing-label', 'Smoothing ');
smoothingLabel.append(smoothingInput, smoothingValue);
header.append(runSelect, smoothingLabel);

const compareBox = el('details', 'compare');
compareBox.append(el('summary', undefined, 'Compare runs'));
compareBox.open = ui.compare.length > 0;
const compareList = el('div', 'compare-list');
compareBox.append(compareList);
const legend = el('div', 'legend');
const zoomNote = el('div', 'zoom-note');
const summaryRoot = el('section', 'summary');
const charts = el('div', 'charts');
const evalRoot = el('section', 'eval');
const logRoot = el('section', 'logs');
// Landmarks, for screen readers and their keys that jump between regions.
for (const [e, name] of [[header, 'Run and smoothing'], [summaryRoot, 'Run summary'], [charts, 'Charts'], [evalRoot, 'Evaluation'], [logRoot, 'Log']] as const) {
  e.setAttribute('role', 'region');
  e.setAttribute('aria-label', name);
}
const logHead = el('div', 'logs-head');
const openLog = el('a', 'open-log', 'Open worker.log');
openLog.href = '#';
openLog.addEventListener('click', (e) => {
  e.preventDefault();
  if (ui.primary) post({ type: ToHost.OpenLog, runId: ui.primary });
});
logHead.append(el('h3', undefined, 'Log'), openLog);
logRoot.append(logHead);
const logView = new LogView(logRoot);
const dataMap = new DataMapSection((m) => post(m));
const slices = new SlicesSection((m) => post(m));
app.append(header, compareBox, summaryRoot, legend, zoomNote, charts, evalRoot, dataMap.root, slices.root, logRoot);

const onZoom = (range: [number, number] | undefined): void => {
  zoom = range;
  zoomStore.clear();
  if (range) post({ type: ToHost.RequestRange, requestId: ++zoomRequest, x0: range[0], x1: range[1] });
  renderZoomNote();
  scheduleCharts();
};
const lossChart = new Chart(charts, { title: 'Loss (faint: raw, bold: smoothed)', onZoom });
const lrChart = new Chart(charts, { title: 'Learning rate', onZoom });
const evalChartHost = el('div', 'eval-chart-host');
charts.append(evalChartHost);
const metricSelect = custom<{ value: string }>('vscode-single-select', 'metric-select');
metricSelect.setAttribute('aria-label', 'Evaluation metric');
const evalChart = new Chart(evalChartHost, { title: 'Evaluation', onZoom });
evalChart.root.querySelector('.chart-title')?.append(metricSelect);
const throughputChart = new Chart(charts, { title: 'Throughput, smoothed (samples/s; dashed, right: tokens/s)', y2: 'tokens/s', onZoom });
const memoryChart = new Chart(charts, { title: 'Memory (MB, peak per bucket)', onZoom });
const gradChart = new Chart(charts, { title: 'Gradient norm (faint: raw, bold: smoothed)', onZoom });
const allCharts = [lossChart, lrChart, evalChart, throughputChart, memoryChart, gradChart];

// ---- messages ----------------------------------------------------------------------------------
function post(msg: WebviewMessage): void {
  vscode.postMessage(msg);
}

function saveState(): void {
  const summary = ui.primary ? summaries.get(ui.primary) : undefined;
  vscode.setState({ ...ui, view: { runs: runs.slice(0, 200), ...(summary ? { summary } : {}) } } as UiState);
}

function selection(): Selection {
  return selectionOf(ui);
}

function visibleRuns(): string[] {
  const ids = ui.primary ? [ui.primary] : [];
  for (const id of ui.compare) if (!ids.includes(id)) ids.push(id);
  return ids;
}

function changeSelection(next: Selection, notifyHost: boolean): void {
  if (next.primary !== ui.primary) ui.cell = undefined;
  for (const id of [next.primary, ...next.compare]) if (id && !visibleRuns().includes(id)) wait(id);
  ui.primary = next.primary;
  ui.compare = next.compare.filter((id) => id !== next.primary);
  ui.pinned = next.pinned === true && next.primary !== undefined;
  saveState();
  const keep = new Set(visibleRuns());
  for (const id of [...awaiting]) if (!keep.has(id)) awaiting.delete(id);
  store.drop(keep);
  zoomStore.drop(keep);
  if (notifyHost) post({ type: ToHost.Select, selection: selection() });
  dataMap.setRun(ui.primary);
  slices.setRun(ui.primary);
  renderRuns();
  renderDetails();
  scheduleCharts();
}

onHostMessage('dashboard', HOST_MESSAGE, (msg: HostMessage) => {
  switch (msg.type) {
    case ToWebview.Runs:
      runs = [...msg.runs];
      runsLoading = false;
      renderRuns();
      if (!runs.length) {
        renderDetails();
        scheduleCharts();
      }
      saveState();
      break;
    case ToWebview.Selection:
      changeSelection(msg.selection, false);
      break;
    case ToWebview.Series:
      if (!visibleRuns().includes(msg.runId)) break;
      if (!store.apply(msg.runId, msg.reset, msg.deltas)) console.warn(`dashboard: series out of step for ${msg.runId}`);
      if (msg.reset) awaiting.delete(msg.runId);
      scheduleCharts();
      break;
    case ToWebview.Summary:
      summaries.set(msg.runId, msg.summary);
      if (msg.runId === ui.primary) {
        summaryRoot.classList.remove('loading');
        renderSummary(summaryRoot, msg.summary);
        saveState();
        // The evaluation chart defaults to the run's best-model metric, known from the summary.
        if (!ui.metric) scheduleCharts();
      }
      break;
    case ToWebview.Eval:
      evals.set(msg.runId, msg.report);
      if (msg.runId === ui.primary) {
        evalRoot.classList.remove('loading');
        ui.cell = undefined;
        saveState();
        renderEvalSection();
        slices.evalChanged();
      }
      scheduleCharts();
      break;
    case ToWebview.Logs:
      if (msg.runId === ui.primary) {
        logRoot.classList.remove('loading');
        logView.append(msg.lines, msg.reset);
      }
      break;
    case ToWebview.Range:
      if (msg.requestId !== zoomRequest) break;
      zoomStore.clear();
      for (const r of msg.runs) zoomStore.apply(r.runId, true, r.deltas as SeriesDelta[]);
      scheduleCharts();
      break;
    case ToWebview.Notice:
      zoomNote.textContent = msg.message;
      break;
    case ToWebview.Cartography:
      dataMap.show(msg.runId, msg.map, msg.message);
      break;
    case ToWebview.Slices:
      slices.show(msg.runId, msg.slices);
      break;
  }
});

// ---- rendering ---------------------------------------------------------------------------------
function runLabel(r: RunListItem): string {
  return r.name && r.name !== r.id ? `${r.name} (${r.id})` : r.id;
}

/** The run-list entry that unpins: the host then shows the live (else most recently active) run. */
const FOLLOW_ACTIVE = 'follow:active';

function renderRuns(): void {
  clear(runSelect);
  if (!runs.length) {
    const opt = custom<{ value: string }>('vscode-option');
    opt.textContent = runsLoading ? 'Loading runs…' : 'No runs yet';
    opt.setAttribute('value', '');
    runSelect.append(opt);
  } else {
    const current = runs.find((r) => r.id === ui.primary);
    const opt = custom<{ value: string }>('vscode-option');
    opt.setAttribute('value', FOLLOW_ACTIVE);
    opt.textContent = `Follow the active run${!ui.pinned && current ? `: ${runLabel(current)} — ${current.state}` : ''}`;
    if (!ui.pinned) opt.setAttribute('selected', '');
    runSelect.append(opt);
  }
  for (const r of runs) {
    const opt = custom<{ value: string }>('vscode-option');
    opt.setAttribute('value', r.id);
    opt.textContent = `${runLabel(r)} — ${r.state}`;
    if (ui.pinned && r.id === ui.primary) opt.setAttribute('selected', '');
    runSelect.append(opt);
  }
  if (runs.length) runSelect.value = ui.pinned && ui.primary ? ui.primary : FOLLOW_ACTIVE;

  clear(compareList);
  // Only runs of the same task share metrics and meaning: the others are not offered.
  const task = runs.find((r) => r.id === ui.primary)?.task;
  const others = runs.filter((r) => r.id !== ui.primary && (!task || !r.task || r.task === task || ui.compare.includes(r.id)));
  if (!others.length) compareList.append(el('p', 'muted', task ? `No other ${task} runs to compare.` : 'No other runs to compare.'));
  for (const r of others) {
    const box = custom<{ checked: boolean }>('vscode-checkbox');
    box.textContent = `${runLabel(r)} — ${r.state}`;
    box.checked = ui.compare.includes(r.id);
    if (box.checked) box.setAttribute('checked', '');
    box.addEventListener('change', () => {
      const next = box.checked ? [...ui.compare.filter((id) => id !== r.id), r.id] : ui.compare.filter((id) => id !== r.id);
      changeSelection({ primary: ui.primary, compare: next.slice(0, 8), pinned: ui.pinned }, true);
    });
    compareList.append(box);
  }
  renderLegend();
}

function runColor(index: number): string {
  return cssVar(`--vscode-charts-${PALETTE[index % PALETTE.length]}`, FALLBACK[index % FALLBACK.length] as string);
}

function renderLegend(): void {
  clear(legend);
  visibleRuns().forEach((id, i) => {
    const item = el('span', 'legend-item');
    const swatch = el('span', 'swatch');
    swatch.style.backgroundColor = runColor(i);
    const r = runs.find((x) => x.id === id);
    item.append(swatch, el('span', undefined, r ? runLabel(r) : id));
    legend.append(item);
  });
}

function renderZoomNote(): void {
  zoomNote.textContent = zoom ? `Zoomed to steps ${Math.round(zoom[0])}–${Math.round(zoom[1])} · double-click a chart to reset` : 'Drag across a chart to zoom';
}

function renderDetails(): void {
  // While the host reads a newly shown run, the last view stays, dimmed, rather than "No run selected".
  const loading = ui.primary !== undefined && awaiting.has(ui.primary);
  const summary = ui.primary ? summaries.get(ui.primary) : undefined;
  summaryRoot.classList.toggle('loading', loading);
  logRoot.classList.toggle('loading', loading);
  evalRoot.classList.toggle('loading', loading);
  if (!runsLoading && !runs.length) {
    clear(summaryRoot);
    summaryRoot.append(el('p', 'muted', 'No training runs yet. Start one with New Training Run… (▶ in the Runs view, or the Command Palette); it shows here live.'));
  } else if (summary || !loading) renderSummary(summaryRoot, summary);
  else if (!summaryRoot.firstChild) summaryRoot.append(el('p', 'muted', 'Loading…'));
  if (!loading || (ui.primary && evals.has(ui.primary))) renderEvalSection();
  if (!loading) logView.append([], true);
}

function renderEvalSection(): void {
  renderEval(evalRoot, ui.primary ? evals.get(ui.primary) : undefined, {
    cell: ui.cell,
    onCell: (cell) => {
      ui.cell = cell;
      saveState();
      renderEvalSection();
    },
    onOpen: (index) => {
      const report = ui.primary ? evals.get(ui.primary) : undefined;
      if (ui.primary && report) post({ type: ToHost.OpenExample, runId: ui.primary, step: report.step, index });
    },
  });
}

function seriesOf(runId: string, name: string): Buckets | undefined {
  if (zoom) {
    const z = zoomStore.get(runId, name);
    if (z) return z;
  }
  return store.get(runId, name);
}

function lines(name: string, label: string, pick: (b: Buckets) => Line, extra: Partial<ChartSeries> = {}): ChartSeries[] {
  const out: ChartSeries[] = [];
  visibleRuns().forEach((id, i) => {
    const b = seriesOf(id, name);
    if (b && b.length) out.push({ label: `${id} ${label}`, color: runColor(i), width: 1.5, line: pick(b), ...extra });
  });
  return out;
}

function metricNames(): string[] {
  const names = new Set<string>();
  for (const id of visibleRuns()) for (const n of store.names(id)) if (n.startsWith(EVAL_PREFIX)) names.add(n.slice(EVAL_PREFIX.length));
  return [...names].sort();
}

function renderMetricSelect(names: string[]): string | undefined {
  // The user's choice, else the metric the primary run selects its best model by.
  const best = ui.primary ? summaries.get(ui.primary)?.bestMetric?.name : undefined;
  const preferred = [ui.metric, best, 'accuracy', 'f1', 'masked_accuracy', 'exact_match'];
  const metric = preferred.find((n): n is string => !!n && names.includes(n)) ?? names[0];
  const current = Array.from(metricSelect.children).map((c) => c.getAttribute('value')).join('\n');
  if (current !== names.join('\n')) {
    clear(metricSelect);
    for (const n of names) {
      const opt = custom<{ value: string }>('vscode-option');
      opt.setAttribute('value', n);
      opt.textContent = n;
      metricSelect.append(opt);
    }
  }
  if (metric && metricSelect.value !== metric) metricSelect.value = metric;
  return metric;
}

let chartsScheduled = false;
let renders = 0;
function scheduleCharts(): void {
  if (chartsScheduled) return;
  chartsScheduled = true;
  requestAnimationFrame(() => {
    chartsScheduled = false;
    drawCharts();
    // For the benchmark harness and tests: how many times the charts were drawn.
    document.body.dataset.renders = String(++renders);
  });
}

/** Faint raw envelope and bold EMA line of a series, per visible run. */
function smoothed(name: string, label: string, extra: Partial<ChartSeries> = {}): ChartSeries[] {
  const out: ChartSeries[] = [];
  visibleRuns().forEach((id, i) => {
    const b = seriesOf(id, name);
    if (!b || !b.length) return;
    const { raw, smooth } = smoothedEnvelope(b, ui.smoothing);
    out.push({ label: `${id} ${label}`, color: runColor(i), width: 1, alpha: 0.3, line: raw, ...extra });
    out.push({ label: `${id} ${label} (smoothed)`, color: runColor(i), width: 2, line: { xs: raw.xs, ys: smooth }, ...extra });
  });
  return out;
}

/** Only the EMA line (for curves whose raw noise would hide the comparison). */
function smoothedOnly(name: string, label: string, extra: Partial<ChartSeries> = {}): ChartSeries[] {
  return smoothed(name, label, extra).filter((s) => s.label.endsWith('(smoothed)'));
}

/** The step axis ends at the longest visible run's total steps (when known). */
function runLength(): number | undefined {
  let longest: number | undefined;
  for (const id of visibleRuns()) {
    const n = summaries.get(id)?.maxSteps ?? runs.find((r) => r.id === id)?.maxSteps;
    if (n !== undefined && n > 0) longest = Math.max(longest ?? 0, n);
  }
  return longest;
}

function drawCharts(): void {
  const loading = runsLoading || (ui.primary !== undefined && awaiting.has(ui.primary));
  charts.classList.toggle('loading', loading);
  for (const c of allCharts) c.loading = loading;
  if (loading && lossChart.drawn) return; // keep the last view until the new run's data is here
  const length = runLength();
  lossChart.update(smoothed('loss', 'loss'), zoom, { runLength: length, quantity: 'loss' });
  lrChart.update(lines('learning_rate', 'learning rate', (b) => perBucket(b, 'mean')), zoom, { runLength: length, quantity: 'learning_rate' });
  const metric = renderMetricSelect(metricNames());
  evalChart.update(metric ? lines(EVAL_PREFIX + metric, metric, envelope, { points: true }) : [], zoom, { runLength: length, quantity: metric ? EVAL_PREFIX + metric : undefined });
  throughputChart.update([...smoothedOnly('samples_per_second', 'samples/s'), ...smoothedOnly('tokens_per_second', 'tokens/s', { scale: 'y2', dash: [4, 3], width: 1 })], zoom, { runLength: length, quantity: 'samples_per_second', quantity2: 'tokens_per_second' });
  memoryChart.update(lines('memory_mb', 'MB', (b) => perBucket(b, 'max')), zoom, { runLength: length, quantity: 'memory_mb' });
  gradChart.update(smoothed('grad_norm', 'grad norm'), zoom, { runLength: length, quantity: 'grad_norm' });
}

// ---- controls ----------------------------------------------------------------------------------
runSelect.addEventListener('change', () => {
  const id = runSelect.value;
  if (id === FOLLOW_ACTIVE) {
    if (ui.pinned) changeSelection({ primary: ui.primary, compare: ui.compare, pinned: false }, true);
    return;
  }
  // A run picked here is the user's choice: it is kept over reloads and when other runs start.
  if (id && (id !== ui.primary || !ui.pinned)) changeSelection({ primary: id, compare: ui.compare, pinned: true }, true);
});
metricSelect.addEventListener('change', () => {
  ui.metric = metricSelect.value;
  saveState();
  scheduleCharts();
});
smoothingInput.addEventListener('input', () => {
  ui.smoothing = Number(smoothingInput.value);
  smoothingValue.textContent = ui.smoothing.toFixed(2);
  saveState();
  scheduleCharts();
});

// VS Code swaps the theme's CSS variables on <html>; canvas colours must be resolved again.
onThemeChange(() => {
  for (const c of allCharts) c.rebuild();
  renderLegend();
  scheduleCharts();
});

if (ui.primary) wait(ui.primary);
renderZoomNote();
renderDetails();
renderRuns();
post({ type: ToHost.Ready, selection: readySelection(ui) });
