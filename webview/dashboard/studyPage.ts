// The study view of a hyperparameter search: the trials table (parameters, objective, state with
// pruned and interrupted trials), the objective per trial with the best so far, and one scatter
// per searched parameter against the objective. Bundled as dist/webview/study.js (webview/study/main.ts).

import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import uPlot from 'uplot';
import { el } from '../shared/dom';
import { onHostMessage } from '../shared/messages';
import { onThemeChange } from '../shared/theme';
import { clear, cssVar } from './dom';
import { STUDY_HOST_MESSAGE, ToHost, type StudyTrial, type StudyView, type StudyWebviewMessage } from '../study/protocol';

interface VsCodeApi {
  postMessage(message: StudyWebviewMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app') as HTMLElement;
let charts: uPlot[] = [];

/** The value a trial is drawn at: its objective, or for a pruned trial the last value it reported. */
export function trialValue(t: StudyTrial): number | undefined {
  if (typeof t.value === 'number') return t.value;
  const last = t.intermediate?.[t.intermediate.length - 1];
  return last ? last[1] : undefined;
}

function fmt(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4)) return String(Number(v.toPrecision(4)));
  return v.toExponential(2);
}

/** Tick labels: every tick on a linear axis; on a log axis only the powers of ten. */
function tickValues(log: boolean): (u: uPlot, splits: number[]) => string[] {
  return (_u, splits) => splits.map((v) => (v === null || v === undefined ? '' : log && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) > 1e-9 ? '' : fmt(v)));
}

/** Best so far per trial (by number), by the study's direction, over completed trials only. */
export function bestSoFar(trials: readonly StudyTrial[], direction: 'minimize' | 'maximize'): (number | null)[] {
  let best: number | undefined;
  return trials.map((t) => {
    if (t.state === 'completed' && typeof t.value === 'number' && (best === undefined || (direction === 'minimize' ? t.value < best : t.value > best))) best = t.value;
    return best ?? null;
  });
}

function colors(): { completed: string; pruned: string; best: string; axis: string; grid: string } {
  return {
    completed: cssVar('--vscode-charts-blue', '#3794ff'),
    pruned: cssVar('--vscode-charts-orange', '#d18616'),
    best: cssVar('--vscode-charts-green', '#89d185'),
    axis: cssVar('--vscode-foreground', '#cccccc'),
    grid: cssVar('--vscode-editorWidget-border', '#454545'),
  };
}

function scatter(parent: HTMLElement, title: string, xLabel: string, data: uPlot.AlignedData, yLabel: string, logX: boolean, withBest: boolean): void {
  const c = colors();
  const box = el('div', 'chart');
  box.append(el('div', 'chart-title', title));
  const body = el('div', 'chart-body');
  box.append(body);
  parent.append(box); // in the page first: the chart takes its cell's width
  const point = (color: string): uPlot.Series => ({ stroke: color, fill: color, paths: () => null, points: { show: true, size: 7, stroke: color, fill: color } });
  const axis = { stroke: c.axis, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid } };
  const series: uPlot.Series[] = [{ label: xLabel }, { label: 'completed', ...point(c.completed) }, { label: 'pruned', ...point(c.pruned) }];
  if (withBest) series.push({ label: 'best so far', stroke: c.best, width: 2 });
  charts.push(
    new uPlot(
      {
        width: Math.max(220, body.clientWidth || box.clientWidth || 320),
        height: 220,
        scales: { x: { time: false, distr: logX ? 3 : 1, log: 10 } },
        axes: [{ ...axis, label: xLabel, values: tickValues(logX) }, { ...axis, label: yLabel, values: tickValues(false) }],
        series,
        legend: { show: true },
      },
      data,
      body,
    ),
  );
}

function render(s: StudyView): void {
  for (const c of charts) c.destroy();
  charts = [];
  clear(app);
  const head = el('div', 'summary-head');
  head.append(el('strong', undefined, s.name), el('span', `badge state-${s.state}`, s.state), el('span', 'muted', `${s.finished}/${s.nTrials} trials · ${s.metric} (${s.direction})`));
  app.append(head);
  if (s.message && s.state !== 'completed') app.append(el('div', s.state === 'failed' ? 'error' : 'muted', s.message));
  if (s.best) {
    const best = el('div', 'toolbar');
    best.append(el('span', undefined, `Best: trial ${s.best.trial}, ${s.metric} ${fmt(s.best.value)}${s.best.run ? ` (run ${s.best.run})` : ''}`));
    const use = el('button', undefined, 'Use Best Trial');
    use.addEventListener('click', () => vscode.postMessage({ type: ToHost.useBest }));
    best.append(use);
    app.append(best);
  }
  const trials = [...s.trials].sort((a, b) => a.number - b.number);
  const params = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();

  const table = el('table', 'trials');
  const hr = el('tr');
  for (const h of ['#', 'state', s.metric, ...params, 'run']) hr.append(el('th', undefined, h));
  table.append(hr);
  for (const t of trials) {
    const tr = el('tr', s.best?.trial === t.number ? 'best' : undefined);
    const state = t.state === 'pruned' && t.pruned_at !== undefined ? `pruned at step ${t.pruned_at}` : t.retry_of !== undefined ? `${t.state} (retry of ${t.retry_of})` : t.state;
    const value = trialValue(t);
    tr.append(el('td', undefined, String(t.number)), el('td', `state-${t.state}`, state), el('td', undefined, value === undefined ? '' : `${fmt(value)}${t.state === 'pruned' ? ' (last)' : ''}`));
    for (const p of params) tr.append(el('td', undefined, p in t.params ? fmt(t.params[p]) : ''));
    const runCell = el('td');
    if (t.run) {
      const link = el('a', undefined, t.run);
      link.href = '#';
      link.addEventListener('click', (e) => {
        e.preventDefault();
        vscode.postMessage({ type: ToHost.openRun, run: t.run as string });
      });
      runCell.append(link);
    }
    if (t.error) runCell.append(el('div', 'error', t.error));
    tr.append(runCell);
    table.append(tr);
  }
  app.append(table);

  const drawn = trials.filter((t) => (t.state === 'completed' || t.state === 'pruned') && trialValue(t) !== undefined);
  if (!drawn.length) {
    app.append(el('div', 'chart-empty', 'The charts appear when the first trial has finished.'));
    return;
  }
  const grid = el('div', 'charts');
  app.append(grid);
  const best = bestSoFar(drawn, s.direction);
  const y = (t: StudyTrial, state: string): number | null => (t.state === state ? (trialValue(t) ?? null) : null);
  scatter(grid, `${s.metric} per trial`, 'trial', [drawn.map((t) => t.number), drawn.map((t) => y(t, 'completed')), drawn.map((t) => y(t, 'pruned')), best], s.metric, false, true);
  for (const p of params) {
    const points = drawn.filter((t) => typeof t.params[p] === 'number').sort((a, b) => (a.params[p] as number) - (b.params[p] as number));
    if (!points.length) continue;
    const log = s.logParams.includes(p);
    scatter(grid, `${p} against ${s.metric}`, p, [points.map((t) => t.params[p] as number), points.map((t) => y(t, 'completed')), points.map((t) => y(t, 'pruned'))], s.metric, log, false);
  }
}

let shown: StudyView | undefined;
onHostMessage('study', STUDY_HOST_MESSAGE, (m) => render((shown = m.study)));
// The charts' colours are read from the theme when drawn: drawn again after a theme switch.
onThemeChange(() => {
  if (shown) render(shown);
});
vscode.postMessage({ type: ToHost.ready });
