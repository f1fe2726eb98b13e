// The non-chart parts of the dashboard: run summary, last evaluation (table, confusion matrix,
// misclassified examples) and the log tail. Dataset text only ever goes in as textContent.

import { el } from '../shared/dom';
import { isActivation } from '../shared/keys';
import { rovingGrid } from '../shared/roving';
import { clear, formatDuration, formatNumber } from './dom';
import type { EvalReport, ExampleItem, LogLine, RunSummary } from './protocol';

export function renderSummary(root: HTMLElement, summary: RunSummary | undefined): void {
  clear(root);
  if (!summary) {
    root.append(el('p', 'muted', 'No run selected.'));
    return;
  }
  const head = el('div', 'summary-head');
  const badge = el('span', `badge state-${summary.state}`, summary.state);
  head.append(badge);
  const parts: string[] = [];
  if (summary.step !== undefined) parts.push(summary.maxSteps ? `step ${summary.step} / ${summary.maxSteps}` : `step ${summary.step}`);
  if (summary.epoch !== undefined) parts.push(`epoch ${formatNumber(summary.epoch, 3)}`);
  if (summary.stepsPerSecond !== undefined) parts.push(`${formatNumber(summary.stepsPerSecond, 3)} steps/s`);
  if (summary.elapsedSeconds !== undefined) parts.push(`elapsed ${formatDuration(summary.elapsedSeconds)}`);
  if (summary.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(summary.etaSeconds)}`);
  head.append(el('span', 'summary-text', parts.join(' · ')));
  root.append(head);

  const progress = el('div', 'progress');
  const bar = el('div', 'progress-bar');
  const fraction = summary.maxSteps && summary.step !== undefined ? Math.min(1, Math.max(0, summary.step / summary.maxSteps)) : 0;
  // CSSOM, not an inline style attribute: allowed by the page's CSP.
  bar.style.width = `${(fraction * 100).toFixed(1)}%`;
  progress.append(bar);
  progress.setAttribute('role', 'progressbar');
  progress.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
  root.append(progress);

  const stats = el('dl', 'stats');
  const stat = (name: string, value: string): void => {
    const item = el('div', 'stat');
    item.append(el('dt', undefined, name), el('dd', undefined, value));
    item.title = `${name}: ${value}`;
    stats.append(item);
  };
  const l = summary.latest;
  stat('loss', formatNumber(l.loss));
  stat('learning rate', formatNumber(l.learning_rate, 3));
  if (l.grad_norm !== undefined) stat('grad norm', formatNumber(l.grad_norm, 3));
  stat('samples/s', formatNumber(l.samples_per_second, 4));
  stat('tokens/s', formatNumber(l.tokens_per_second, 4));
  stat('memory', l.memory_mb !== undefined ? `${formatNumber(l.memory_mb, 4)} MB` : '–');
  if (summary.bestMetric) stat(`best ${summary.bestMetric.name}`, `${formatNumber(summary.bestMetric.value)} @ ${summary.bestMetric.step}`);
  if (summary.lastCheckpoint) stat('checkpoint', summary.lastCheckpoint);
  root.append(stats);
  if (summary.params) root.append(renderParams(summary.params));
  if (summary.error) root.append(el('p', 'error', summary.error));
  else if (summary.message && summary.state !== 'running') root.append(el('p', 'muted', summary.message));
}

/**
 * Trainable parameters, and per block (head, layer.N, embeddings; top to bottom) its size, whether
 * it trains now and its learning rate at the latest step: freezing, gradual unfreezing and
 * layer-wise learning-rate decay at a glance. Folded when every block trains at one rate.
 */
/** The user's choice to fold or unfold the parameters table, kept across summary updates. */
let paramsOpen: boolean | undefined;

function renderParams(p: NonNullable<RunSummary['params']>): HTMLElement {
  const box = el('details', 'params');
  const share = p.total ? (100 * p.trainable) / p.total : 0;
  const open = p.unfrozenLayers !== undefined ? ` · gradual unfreezing: ${p.unfrozenLayers} layer${p.unfrozenLayers === 1 ? '' : 's'} open` : '';
  box.append(el('summary', undefined, `trainable parameters ${formatCount(p.trainable)} of ${formatCount(p.total)} (${formatNumber(share, 3)}%)${open}`));
  box.open = paramsOpen ?? p.groups.some((g) => !g.trainable || g.lrScale !== 1);
  box.addEventListener('toggle', () => (paramsOpen = box.open));
  if (p.groups.length) {
    const table = el('table', 'report params-table');
    const head = el('tr');
    for (const h of ['block', 'parameters', 'trains', 'learning rate']) head.append(el('th', undefined, h));
    table.append(head);
    for (const g of p.groups) {
      const row = el('tr', g.trainable ? undefined : 'frozen');
      row.append(el('td', undefined, g.name), el('td', 'num', formatCount(g.params)), el('td', undefined, g.trainable ? 'yes' : 'frozen'),
        el('td', 'num', g.lr !== undefined ? `${formatNumber(g.lr, 3)}${g.lrScale !== 1 ? ` (×${formatNumber(g.lrScale, 3)})` : ''}` : '–'));
      table.append(row);
    }
    box.append(table);
  }
  return box;
}

function formatCount(n: number): string {
  return n >= 1e6 ? `${formatNumber(n / 1e6, 3)}M` : n >= 1e4 ? `${formatNumber(n / 1e3, 3)}k` : String(n);
}

export interface EvalHandlers {
  /** The selected confusion-matrix cell, as [gold index, pred index]. */
  readonly cell: [number, number] | undefined;
  readonly onCell: (cell: [number, number] | undefined) => void;
  readonly onOpen: (index: number) => void;
}

export function renderEval(root: HTMLElement, report: EvalReport | null | undefined, h: EvalHandlers): void {
  // A confusion-matrix cell chosen with the keyboard, or a listed example, keeps the focus through a re-render.
  const active = root.contains(document.activeElement) ? (document.activeElement as HTMLElement) : undefined;
  const focused = active?.dataset.cell;
  const focusedExample = active?.dataset.example;
  clear(root);
  if (!report) {
    root.append(el('p', 'muted', 'No evaluation yet.'));
    return;
  }
  root.append(el('h3', undefined, `Evaluation at step ${report.step}`));
  const metrics = el('div', 'metrics');
  for (const [name, value] of Object.entries(report.metrics)) {
    const chip = el('span', 'metric');
    chip.append(el('span', 'metric-name', name), el('span', 'metric-value', formatNumber(value)));
    metrics.append(chip);
  }
  root.append(metrics);
  for (const o of report.others ?? []) {
    // Evaluations on other files or splits (test sets), beside the validation figures.
    const row = el('div', 'metrics');
    row.append(el('span', 'metric-name', `${o.split} · ${o.name} (step ${o.step})`));
    for (const [name, value] of Object.entries(o.metrics)) {
      const chip = el('span', 'metric');
      chip.append(el('span', 'metric-name', name), el('span', 'metric-value', formatNumber(value)));
      row.append(chip);
    }
    root.append(row);
  }

  if (report.table.length) {
    const table = el('table', 'report');
    const head = el('tr');
    for (const c of [report.tableKind === 'entity' ? 'entity' : 'class', 'precision', 'recall', 'f1', 'support']) head.append(el('th', undefined, c));
    table.append(el('thead'));
    (table.tHead as HTMLTableSectionElement).append(head);
    const body = el('tbody');
    for (const r of report.table) {
      const tr = el('tr');
      tr.append(el('td', 'label', r.label), el('td', 'num', formatNumber(r.precision, 3)), el('td', 'num', formatNumber(r.recall, 3)), el('td', 'num', formatNumber(r.f1, 3)), el('td', 'num', String(r.support)));
      body.append(tr);
    }
    table.append(body);
    root.append(table);
  }

  const cm = report.confusion;
  let examples: { item: ExampleItem; index: number }[] = report.misclassified.map((item, index) => ({ item, index }));
  let caption = `Misclassified examples (${examples.length})`;
  if (cm && cm.labels.length) {
    root.append(renderConfusion(cm.labels, cm.matrix, h, report.tableKind === 'entity', focused));
    if (h.cell) {
      const gold = cm.labels[h.cell[0]];
      const pred = cm.labels[h.cell[1]];
      // NER: a sentence belongs to a cell when one of its entity errors is that (gold, predicted) pair.
      examples = examples.filter((e) => (e.item.errors ? e.item.errors.some(([g, p]) => g === gold && p === pred) : e.item.gold === gold && e.item.pred === pred));
      caption = `Gold ${gold ?? '?'}, predicted ${pred ?? '?'}: ${examples.length} listed example(s)`;
    }
  }
  if (report.misclassified.length) {
    // Announced when a cell lists its examples (the focus stays in the matrix, as on the data map's region buttons).
    const head = el('h4', 'examples-caption', caption);
    head.setAttribute('aria-live', 'polite');
    root.append(head);
    const list = el('ol', 'examples');
    for (const { item, index } of examples.slice(0, 200)) {
      const li = el('li', item.openable ? 'example openable' : 'example');
      const aligned = report.tableKind === 'entity' ? alignedTags(item) : undefined;
      if (aligned) li.append(aligned);
      else li.append(el('span', 'example-text', item.text), el('span', 'example-labels', `gold ${item.gold} → pred ${item.pred}`));
      if (item.openable) {
        li.tabIndex = 0;
        li.dataset.example = String(index);
        li.title = 'Open the example in its source file';
        li.addEventListener('click', () => h.onOpen(index));
        li.addEventListener('keydown', (e) => {
          if (!isActivation(e.key)) return;
          e.preventDefault();
          h.onOpen(index);
        });
      }
      list.append(li);
      if (focusedExample === String(index)) queueMicrotask(() => li.focus());
    }
    root.append(list);
    if (h.cell) {
      const all = el('button', 'examples-all', `List all ${report.misclassified.length} misclassified examples`);
      all.type = 'button';
      all.title = 'Escape in the matrix does the same';
      all.addEventListener('click', () => h.onCell(undefined));
      root.append(all);
    }
  }
}

/**
 * An NER example as three aligned rows (tokens, gold tags, predicted tags), the tokens whose tags
 * differ marked; undefined when the words and tags do not line up one to one.
 */
function alignedTags(item: ExampleItem): HTMLElement | undefined {
  const tokens = item.text.split(' ');
  const gold = item.gold.split(' ');
  const pred = item.pred.split(' ');
  if (tokens.length !== gold.length || gold.length !== pred.length || tokens.length > 400) return undefined;
  const table = el('table', 'aligned');
  const rows = [el('tr'), el('tr'), el('tr')];
  rows[0].append(el('th', undefined, 'token'));
  rows[1].append(el('th', undefined, 'gold'));
  rows[2].append(el('th', undefined, 'pred'));
  tokens.forEach((t, i) => {
    const diff = gold[i] !== pred[i] ? ' diff' : '';
    rows[0].append(el('td', `tok${diff}`, t));
    rows[1].append(el('td', `tag${diff}${gold[i] === 'O' ? ' o' : ''}`, gold[i]));
    rows[2].append(el('td', `tag${diff}${pred[i] === 'O' ? ' o' : ''}`, pred[i]));
  });
  table.append(...rows);
  const wrap = el('div', 'aligned-wrap');
  wrap.append(table);
  if (item.errors?.length) wrap.append(el('div', 'example-labels', item.errors.map(([g, p]) => (g === 'O' ? `spurious ${p}` : p === 'O' ? `missed ${g}` : `${g} → ${p}`)).join(' · ')));
  return wrap;
}

/**
 * The matrix is one Tab stop (a roving grid): the arrows move between cells, Enter or Space (or a
 * click) on an off-diagonal cell lists its examples, and again keeps them listed; Escape lists all
 * of them again. The focus stays on the cell (as on the data map's region buttons, the caption is
 * announced); Tab then reaches the first listed example, where Enter opens it at its source line.
 * `focused` ("i,j"): the cell to give the focus back to.
 */
function renderConfusion(labels: readonly string[], matrix: readonly (readonly number[])[], h: EvalHandlers, entity = false, focused?: string): HTMLElement {
  const wrap = el('div', 'confusion-wrap');
  wrap.append(el('h4', undefined, entity ? 'Entity confusion (rows: gold, columns: predicted; O: missed or spurious entities)' : 'Confusion matrix (rows: gold, columns: predicted)'));
  const table = el('table', 'confusion');
  table.setAttribute('role', 'grid');
  table.setAttribute('aria-label', 'Confusion matrix: arrow keys move, Enter lists the examples of a cell, Escape lists all');
  const cells: HTMLElement[][] = [];
  const head = el('tr');
  head.append(el('th', 'corner', 'gold \\ pred'));
  for (const l of labels) head.append(el('th', 'col', l));
  table.append(head);
  const max = Math.max(1, ...matrix.flat().filter(Number.isFinite));
  matrix.forEach((row, i) => {
    const tr = el('tr');
    tr.append(el('th', 'row', labels[i] ?? ''));
    cells.push([]);
    row.forEach((v, j) => {
      const td = el('td', i === j ? 'cell diag' : 'cell', String(v));
      td.dataset.cell = `${i},${j}`;
      td.setAttribute('aria-label', `gold ${labels[i] ?? ''}, predicted ${labels[j] ?? ''}: ${v}`);
      cells[i]?.push(td);
      const share = Math.sqrt(v / max);
      td.style.backgroundColor = `color-mix(in srgb, var(--vscode-charts-${i === j ? 'blue' : 'red'}) ${Math.round(share * 70)}%, transparent)`;
      if (h.cell && h.cell[0] === i && h.cell[1] === j) td.classList.add('selected');
      if (i !== j && v > 0) {
        td.classList.add('clickable');
        td.title = `gold ${labels[i] ?? ''}, predicted ${labels[j] ?? ''}: show examples`;
        td.setAttribute('aria-selected', String(!!h.cell && h.cell[0] === i && h.cell[1] === j));
        td.addEventListener('click', () => pick(i, j));
      }
      tr.append(td);
    });
    table.append(tr);
  });
  // Listing a cell again keeps its list (no toggle): a second Enter is never a surprise "all examples".
  const pick = (i: number, j: number): void => {
    if (!h.cell || h.cell[0] !== i || h.cell[1] !== j) h.onCell([i, j]);
  };
  table.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !h.cell) return;
    e.preventDefault();
    h.onCell(undefined);
  });
  const [fi, fj] = (focused ?? '').split(',').map(Number);
  const start = fi !== undefined && fj !== undefined && Number.isInteger(fi) && Number.isInteger(fj) ? { row: fi, col: fj } : h.cell ? { row: h.cell[0], col: h.cell[1] } : { row: 0, col: 0 };
  const focus = rovingGrid(cells, start, {
    activate: ({ row, col }) => {
      if (row !== col && (matrix[row]?.[col] ?? 0) > 0) pick(row, col);
    },
  });
  if (focused) queueMicrotask(() => focus(start));
  wrap.append(table);
  return wrap;
}

export class LogView {
  private readonly list: HTMLElement;
  private count = 0;

  constructor(
    readonly root: HTMLElement,
    private readonly max = 200,
  ) {
    this.list = el('div', 'log');
    this.list.setAttribute('role', 'log');
    this.list.setAttribute('aria-label', 'Worker log');
    // Focusable, so that the keyboard can scroll it.
    this.list.tabIndex = 0;
    root.append(this.list);
  }

  append(lines: readonly LogLine[], reset: boolean): void {
    const atBottom = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 4;
    if (reset) {
      clear(this.list);
      this.count = 0;
    }
    for (const line of lines.slice(-this.max)) {
      const row = el('div', `log-line level-${line.level.replace(/[^a-z]/gi, '').toLowerCase()}`);
      if (line.ts !== undefined) row.append(el('span', 'log-ts', new Date(line.ts * 1000).toLocaleTimeString()));
      if (line.level !== 'worker') row.append(el('span', 'log-level', line.level));
      row.append(el('span', 'log-text', line.text));
      this.list.append(row);
      this.count++;
    }
    while (this.count > this.max && this.list.firstChild) {
      this.list.removeChild(this.list.firstChild);
      this.count--;
    }
    if (atBottom || reset) this.list.scrollTop = this.list.scrollHeight;
  }
}
