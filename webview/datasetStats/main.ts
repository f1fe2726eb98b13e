// Dataset statistics and preview. Everything from the dataset is put in the page with textContent
// (never as HTML); the preview table renders only the rows in view and asks the host for pages.

import { characterSummary } from './cjk';
import './main.css';
import { onHostMessage } from '../shared/messages';
import { HOST_MESSAGE, pagesToEvict, PREVIEW_PAGE, ROW_HEIGHT, ToHost, ToWebview, visibleRows, type DatasetStatistics, type HostMessage, type SplitName, type ViewState, type WebviewMessage } from './protocol';

interface VsCodeApi {
  postMessage(m: WebviewMessage): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app') as HTMLElement;
const PAGE = PREVIEW_PAGE;

interface Saved {
  /** Read by the host's serializer to restore the panel after a reload. */
  datasetId?: string;
  split?: SplitName;
  scrollTop?: number;
}
const saved = (vscode.getState() as Saved | undefined) ?? {};

let state: ViewState | undefined;
let split: SplitName | undefined = saved.split;
const pages = new Map<number, readonly (readonly string[])[]>();
const asked = new Set<number>();
let total = 0;
let nextRequest = 1;
let tableWrap: HTMLElement | undefined;
let tableBody: HTMLElement | undefined;
let progressEl: HTMLProgressElement | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function bars(title: string, counts: Readonly<Record<string, number>>, byKey = false): HTMLElement {
  const box = el('div');
  box.append(el('h3', title));
  const entries = Object.entries(counts).sort(byKey ? (a, b) => Number(a[0]) - Number(b[0]) : (a, b) => b[1] - a[1]).slice(0, 40);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const sum = entries.reduce((s, [, v]) => s + v, 0) || 1;
  for (const [k, v] of entries) {
    const row = el('div', undefined, 'bar-row');
    const bar = el('div', undefined, 'bar');
    bar.style.width = `${(100 * v) / max}%`;
    const wrap = el('div');
    wrap.append(bar);
    row.append(el('span', k, 'bar-label'), wrap, el('span', `${fmt(v)} (${((100 * v) / sum).toFixed(1)}%)`, 'muted'));
    box.append(row);
  }
  return box;
}

function histogram(stats: DatasetStatistics, s: DatasetStatistics['splits'][number]): HTMLElement {
  const box = el('div');
  const t = s.tokens;
  box.append(el('h3', `Token lengths (${stats.tokenizer.kind}${stats.tokenizer.model ? `, ${stats.tokenizer.model.split(/[\\/]/).filter(Boolean).slice(-2).join('/')}` : ''})`));
  box.append(el('div', `mean ${t.mean.toFixed(1)} · p50 ${t.p50} · p90 ${t.p90} · p95 ${t.p95} · p99 ${t.p99} · max ${t.max}`, 'muted'));
  const h = el('div', undefined, 'hist');
  const counts = t.histogram.counts;
  const max = Math.max(1, ...counts);
  counts.forEach((c, i) => {
    const d = el('div');
    d.style.height = `${(100 * c) / max}%`;
    if (i * t.histogram.binWidth >= stats.maxSeqLength) d.className = 'over';
    d.title = `${i * t.histogram.binWidth}–${(i + 1) * t.histogram.binWidth - 1} tokens: ${fmt(c)}`;
    h.append(d);
  });
  // The y-axis: examples per bin, at the top, the middle and zero.
  const yAxis = el('div', undefined, 'y-axis muted');
  yAxis.title = `examples per ${t.histogram.binWidth}-token bin`;
  yAxis.append(el('span', fmt(max)), el('span', fmt(Math.round(max / 2))), el('span', '0'));
  const plot = el('div', undefined, 'hist-plot');
  plot.append(yAxis, h);
  box.append(plot);
  const axis = el('div', undefined, 'axis muted');
  axis.append(el('span', '0'), el('span', `tokens (bins of ${t.histogram.binWidth})`), el('span', String(counts.length * t.histogram.binWidth)));
  box.append(axis);
  const trunc = el('div', `${fmt(t.truncated)} of ${fmt(s.rows)} (${(t.truncatedShare * 100).toFixed(2)}%) longer than max_seq_length ${stats.maxSeqLength}`, t.truncated ? 'warn' : 'muted');
  box.append(trunc);
  if (s.answers !== undefined) {
    box.append(el('div', `${fmt(s.answersLost ?? 0)} of ${fmt(s.answers)} answers end past max_seq_length (without doc stride)`, s.answersLost ? 'warn' : 'muted'));
    if (s.answersInNoWindow !== undefined) box.append(el('div', `${fmt(s.answersInNoWindow)} fit in no window even with doc stride (dropped in training)`, s.answersInNoWindow ? 'warn' : 'muted'));
  }
  return box;
}

function render(): void {
  if (!state) return;
  const d = state.dataset;
  app.replaceChildren();
  app.append(el('h2', d.name));
  const meta = el('div', undefined, 'row muted');
  meta.append(el('span', `${d.task} · ${d.format}`), el('span', `imported ${new Date(d.created).toLocaleString()}`));
  for (const s of d.splits) meta.append(el('span', `${s.split}: ${fmt(s.count)}`));
  app.append(meta);
  const src = el('div', undefined, 'row');
  for (const s of d.sources) src.append(el('span', `${s.split}: ${s.name}${s.state === 'changed' ? ' — changed since import' : s.state === 'missing' ? ' — missing' : ''}`, s.state === 'changed' || s.state === 'missing' ? 'warn' : 'muted'));
  app.append(src);
  const probs = Object.entries(d.problems);
  app.append(el('div', probs.length ? `${d.errors} errors, ${d.warnings} warnings: ${probs.map(([k, v]) => `${k} ${v}`).join(', ')}` : 'No problems found.', d.errors ? 'err' : d.warnings ? 'warn' : 'muted'));

  const controls = el('div', undefined, 'row');
  const len = el('input');
  len.type = 'number';
  len.min = '8';
  len.max = '8192';
  len.value = String(state.stats?.maxSeqLength ?? 128);
  const go = el('button', state.status === 'running' ? 'Computing…' : 'Compute statistics');
  go.disabled = state.status === 'running';
  const maxLen = (): number => Math.max(8, Math.min(8192, Number(len.value) || 128));
  go.addEventListener('click', () => vscode.postMessage({ type: ToHost.Recompute, maxSeqLength: maxLen() }));
  const tok = el('button', `Tokenizer: ${state.tokenizer ?? 'default model'}…`);
  tok.title = "Count tokens with another model's tokenizer (a run or a model folder)";
  tok.disabled = state.status === 'running';
  tok.addEventListener('click', () => vscode.postMessage({ type: ToHost.ChooseTokenizer, maxSeqLength: maxLen() }));
  controls.append(el('span', 'max_seq_length'), len, go, tok);
  if (state.status === 'running') {
    progressEl = el('progress');
    const cancel = el('button', 'Cancel');
    cancel.addEventListener('click', () => vscode.postMessage({ type: ToHost.Cancel }));
    controls.append(progressEl, cancel);
  }
  if (state.message) controls.append(el('span', state.message, state.status === 'error' ? 'err' : 'muted'));
  app.append(controls);

  const stats = state.stats;
  if (stats) {
    const cards = el('div', undefined, 'cards');
    for (const s of stats.splits) {
      const card = el('div', undefined, 'card');
      card.append(el('h3', `${s.split} — ${fmt(s.rows)} examples`));
      card.append(histogram(stats, s));
      const chars = characterSummary(s);
      if (chars) {
        card.append(el('div', chars.text, chars.warn ? 'warn' : 'muted'));
        if (chars.fix) card.append(el('div', chars.fix, 'warn'));
      }
      if (s.labels) {
        card.append(bars(s.labelsPerExample ? 'Labels (examples with each label)' : 'Labels', s.labels));
        if (d.task === 'sequence_classification') {
          const name = el('button', 'Name labels…');
          name.title = 'Give the labels names (e.g. 0=negative, 1=positive): the snapshot, statistics, models and predictions use them';
          name.disabled = state.status === 'running';
          name.addEventListener('click', () => vscode.postMessage({ type: ToHost.NameLabels }));
          card.append(name);
        }
      }
      if (s.labelsPerExample) card.append(bars('Labels per example', s.labelsPerExample, true));
      if (s.entities) card.append(bars('Entities', s.entities));
      cards.append(card);
    }
    app.append(cards);
  }
  renderTable(d.splits.map((s) => s.split), d.columns);
}

function renderTable(splits: readonly SplitName[], columns: readonly string[]): void {
  if (!split || !splits.includes(split)) split = splits[0];
  const head = el('div', undefined, 'row');
  head.append(el('h3', 'Preview'));
  const pick = el('select');
  for (const s of splits) {
    const o = el('option', s);
    o.value = s;
    o.selected = s === split;
    pick.append(o);
  }
  pick.addEventListener('change', () => {
    split = pick.value as SplitName;
    pages.clear();
    asked.clear();
    vscode.setState({ datasetId: state?.dataset.id, split, scrollTop: 0 } satisfies Saved);
    render();
  });
  head.append(pick);
  app.append(head);
  const count = state?.dataset.splits.find((s) => s.split === split)?.count ?? 0;
  total = count;
  const template = columns.map((c) => (c === 'line' || c === 'label' || c === 'id' || c === 'sentences' ? '70px' : 'minmax(120px, 1fr)')).join(' ');
  tableWrap = el('div', undefined, 'table-wrap');
  const header = el('div', undefined, 'table-head');
  header.style.gridTemplateColumns = template;
  for (const c of columns) header.append(el('span', c));
  tableBody = el('div');
  tableBody.style.position = 'relative';
  tableBody.style.height = `${count * ROW_HEIGHT}px`;
  tableBody.dataset.template = template;
  tableWrap.append(header, tableBody);
  tableWrap.addEventListener('scroll', () => {
    vscode.setState({ datasetId: state?.dataset.id, split, scrollTop: tableWrap?.scrollTop ?? 0 } satisfies Saved);
    drawRows();
  });
  app.append(tableWrap);
  if (saved.scrollTop && saved.split === split) tableWrap.scrollTop = saved.scrollTop;
  drawRows();
}

function drawRows(): void {
  if (!tableWrap || !tableBody || !split) return;
  const { first, last } = visibleRows(tableWrap.scrollTop, tableWrap.clientHeight, total);
  // Pages far from the view are dropped (and asked again if scrolled back to): bounded memory.
  for (const p of pagesToEvict(pages.keys(), Math.floor(first / PAGE))) {
    pages.delete(p);
    asked.delete(p);
  }
  const template = tableBody.dataset.template ?? '';
  tableBody.replaceChildren();
  for (let i = first; i < last; i++) {
    const page = Math.floor(i / PAGE);
    const rows = pages.get(page);
    if (!rows) {
      if (!asked.has(page)) {
        asked.add(page);
        vscode.postMessage({ type: ToHost.RequestRows, requestId: nextRequest++, split, start: page * PAGE, count: PAGE });
      }
      continue;
    }
    const cells = rows[i - page * PAGE];
    if (!cells) continue;
    const row = el('div', undefined, 'trow');
    row.style.top = `${i * ROW_HEIGHT}px`;
    row.style.gridTemplateColumns = template;
    for (const c of cells) {
      const span = el('span', c);
      span.title = c;
      row.append(span);
    }
    const index = i;
    const s = split;
    row.addEventListener('click', () => vscode.postMessage({ type: ToHost.OpenRow, split: s, row: index }));
    tableBody.append(row);
  }
}

onHostMessage('dataset statistics', HOST_MESSAGE, (m: HostMessage) => {
  if (m.type === ToWebview.State) {
    const datasetChanged = state?.dataset.id !== m.state.dataset.id || state.dataset.created !== m.state.dataset.created;
    state = m.state;
    vscode.setState({ ...((vscode.getState() as Saved | undefined) ?? {}), datasetId: m.state.dataset.id } satisfies Saved);
    if (datasetChanged) {
      pages.clear();
      asked.clear();
    }
    const top = tableWrap?.scrollTop;
    render();
    if (top !== undefined && tableWrap) tableWrap.scrollTop = top;
  } else if (m.type === ToWebview.Rows) {
    if (m.split !== split) return;
    pages.set(Math.floor(m.start / PAGE), m.rows);
    drawRows();
  } else if (m.type === ToWebview.Progress) {
    if (progressEl && m.total) {
      progressEl.max = m.total;
      progressEl.value = m.done;
    }
  }
});

vscode.postMessage({ type: ToHost.Ready });
