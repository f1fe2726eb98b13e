// What the dashboard knows about one run, built from its events (and status.json and worker.log)
// as they arrive. Holds downsampled series for display, the full-resolution points for zooming,
// the last evaluation and a bounded log tail; hands out only what changed since the last drain.

import type { EvalEvent, Misclassified, ParamsEvent, RunEvent, RunStatus } from '../runs/protocol';
import {
  EVAL_PREFIX,
  STEP_SERIES,
  type ClassRow,
  type EvalReport,
  type LogLine,
  type RunSummary,
  type SeriesDelta,
} from '../../../webview/dashboard/protocol';
import { RawSeries, StreamingBuckets } from './buckets';
import { StepRate } from './eta';
import { cleanLogLine, editorWording, eventLogMessage, LogPairing, workerLogMessage } from './logText';

export const LOG_LINES = 200;
/** Misclassified examples sent to the webview per evaluation; the rest stay on the host. */
export const MAX_EXAMPLES = 500;
const MAX_TEXT = 2000;
const LIVE = new Set(['starting', 'running', 'stopping']);

interface Series {
  readonly buckets: StreamingBuckets;
  readonly raw: RawSeries;
}

export interface ModelDrain {
  readonly series: SeriesDelta[];
  readonly summary?: RunSummary;
  /** Set when the last evaluation changed. */
  readonly eval?: EvalReport;
  readonly logs: LogLine[];
}

export interface ModelSnapshot {
  readonly series: SeriesDelta[];
  readonly summary: RunSummary;
  readonly eval: EvalReport | null;
  readonly logs: LogLine[];
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export class RunModel {
  private readonly series = new Map<string, Series>();
  private readonly rate = new StepRate();
  private eventState: string | undefined;
  private message: string | undefined;
  private error: string | undefined;
  private step: number | undefined;
  /** The newest checkpoint's step: where a resume continues from. */
  private checkpointStep: number | undefined;
  private maxSteps: number | undefined;
  private epoch: number | undefined;
  private firstTs: number | undefined;
  private lastTs: number | undefined;
  private latest: Record<string, number> = {};
  private status: RunStatus | undefined;
  private displayState: string | undefined;
  private lastEval: EvalEvent | undefined;
  private params: ParamsEvent | undefined;
  private groupLrs: Readonly<Record<string, number>> | undefined;
  private readonly otherEvals = new Map<string, EvalEvent>();
  private logs: LogLine[] = [];
  private pendingLogs: LogLine[] = [];
  /** The worker writes its messages to both files: each is shown once. */
  private readonly pairing = new LogPairing();
  private summaryDirty = true;
  private evalDirty = false;

  constructor(private readonly maxBuckets = 2000) {}

  ingest(events: readonly RunEvent[]): void {
    for (const ev of events) this.ingestOne(ev);
  }

  private ingestOne(ev: RunEvent): void {
    const twin = eventLogMessage(ev);
    const shown = twin === undefined || !this.pairing.seen('event', cleanLogLine(twin.split('\n')[0] as string));
    if (finite(ev.ts)) {
      this.firstTs ??= ev.ts;
      this.lastTs = ev.ts;
    }
    switch (ev.type) {
      case 'step': {
        const rec = ev as unknown as Record<string, unknown>;
        for (const name of STEP_SERIES) {
          const v = rec[name];
          if (finite(v)) {
            this.add(name, ev.step, v);
            this.latest[name] = v;
          }
        }
        this.step = ev.step;
        if (finite(ev.max_steps) && ev.max_steps > 0) this.maxSteps = ev.max_steps;
        if (finite(ev.epoch)) this.epoch = ev.epoch;
        if (finite(ev.ts)) this.rate.add(ev.step, ev.ts);
        if (ev.group_learning_rates) this.groupLrs = ev.group_learning_rates;
        this.summaryDirty = true;
        break;
      }
      case 'params':
        this.params = ev;
        this.summaryDirty = true;
        break;
      case 'eval': {
        if (ev.split !== undefined) {
          // Another file or split: beside the validation figures, not a point of their curves.
          this.otherEvals.set(ev.name ?? ev.split, ev);
          this.evalDirty = true;
          break;
        }
        for (const [name, v] of Object.entries(ev.metrics)) if (finite(v)) this.add(EVAL_PREFIX + name, ev.step, v);
        this.lastEval = ev;
        this.evalDirty = true;
        break;
      }
      case 'status':
        this.eventState = ev.state;
        this.message = ev.message === undefined ? undefined : editorWording(cleanLogLine(ev.message));
        // A (re)start: the time since the last step is not training time.
        if (ev.state === 'starting' || ev.state === 'running') this.rate.restart();
        // A resume goes back to its checkpoint (steps after it are trained again): say so, as the Runs view does.
        if (ev.state === 'starting' && ev.message === 'resuming' && this.checkpointStep !== undefined) this.step = this.checkpointStep;
        if (shown) this.log({ ts: ev.ts, level: 'status', text: ev.message ? `${ev.state}: ${clip(cleanLogLine(ev.message))}` : ev.state });
        this.summaryDirty = true;
        break;
      case 'log':
        if (shown) this.log({ ts: ev.ts, level: typeof ev.level === 'string' ? ev.level : 'info', text: clip(cleanLogLine(String(ev.message))) });
        break;
      case 'error':
        this.error = editorWording(ev.field ? `${ev.field}: ${ev.message}` : String(ev.message));
        if (shown) this.log({ ts: ev.ts, level: 'error', text: clip(cleanLogLine(this.error)) });
        this.summaryDirty = true;
        break;
      case 'checkpoint':
        this.checkpointStep = ev.step;
        this.log({ ts: ev.ts, level: 'checkpoint', text: `checkpoint at step ${ev.step}: ${ev.path}` });
        break;
      case 'export':
        this.log({ ts: ev.ts, level: 'export', text: `exported ${ev.path ?? ''}${finite(ev.max_abs_diff) ? ` (max |ONNX − PyTorch| ${ev.max_abs_diff.toExponential(2)})` : ''}` });
        break;
    }
  }

  private add(name: string, x: number, y: number): void {
    let s = this.series.get(name);
    if (!s) {
      s = { buckets: new StreamingBuckets(this.maxBuckets), raw: new RawSeries() };
      this.series.set(name, s);
    }
    s.buckets.add(x, y);
    s.raw.push(x, y);
  }

  private log(raw: LogLine): void {
    const line = { ...raw, text: editorWording(raw.text) };
    this.logs.push(line);
    this.pendingLogs.push(line);
    if (this.logs.length > LOG_LINES * 2) this.logs = this.logs.slice(-LOG_LINES);
    if (this.pendingLogs.length > LOG_LINES * 2) this.pendingLogs = this.pendingLogs.slice(-LOG_LINES);
  }

  /** Lines of the worker's own log (worker.log), without escape codes or the twins of event messages. */
  addLogLines(lines: readonly string[]): void {
    for (const line of lines) {
      const text = cleanLogLine(line);
      const message = workerLogMessage(text);
      if (message !== undefined && this.pairing.seen('worker', message)) continue;
      this.log({ level: 'worker', text: clip(text) });
    }
  }

  /** status.json as read now, and the state the host shows for it (e.g. `interrupted`). */
  setStatus(status: RunStatus | undefined, displayState: string): void {
    if (displayState === this.displayState && status?.updated === this.status?.updated && status?.step === this.status?.step) return;
    this.status = status;
    this.displayState = displayState;
    this.summaryDirty = true;
  }

  summary(nowSeconds: number = Date.now() / 1000): RunSummary {
    const state = this.displayState && this.displayState !== 'pending' ? this.displayState : (this.eventState ?? 'pending');
    const step = Math.max(this.step ?? -Infinity, this.status?.step ?? -Infinity);
    const maxSteps = this.maxSteps ?? (finite(this.status?.max_steps) && (this.status?.max_steps ?? 0) > 0 ? this.status?.max_steps : undefined);
    const live = LIVE.has(state);
    const eta = this.rate.estimate(maxSteps);
    const started = this.status?.started ?? this.firstTs;
    const end = live ? nowSeconds : this.lastTs;
    const best = this.status?.best_metric ?? undefined;
    return {
      state,
      message: this.message,
      step: Number.isFinite(step) ? step : undefined,
      maxSteps,
      epoch: this.epoch,
      stepsPerSecond: live ? eta.stepsPerSecond : undefined,
      etaSeconds: state === 'completed' ? 0 : live ? eta.etaSeconds : undefined,
      elapsedSeconds: started !== undefined && end !== undefined && end >= started ? end - started : undefined,
      latest: { ...this.latest },
      bestMetric: best ? { name: best.name, value: best.value, step: best.step } : undefined,
      lastCheckpoint: this.status?.last_checkpoint ?? undefined,
      error: this.error,
      ...(this.params ? { params: this.paramsSummary(this.params) } : {}),
    };
  }

  /** The latest `params` event with each block's learning rate at the latest step. */
  private paramsSummary(p: ParamsEvent): NonNullable<RunSummary['params']> {
    const base = this.latest.learning_rate;
    return {
      trainable: p.trainable,
      total: p.total,
      ...(p.unfrozen_layers !== undefined ? { unfrozenLayers: p.unfrozen_layers } : {}),
      groups: (p.groups ?? []).map((g) => {
        const lr = this.groupLrs?.[g.name] ?? (finite(base) ? base * g.lr_scale : undefined);
        return { name: g.name, params: g.params, trainable: g.trainable, lrScale: g.lr_scale, ...(lr !== undefined ? { lr } : {}) };
      }),
    };
  }

  evalReport(): EvalReport | null {
    const ev = this.lastEval;
    const others = [...this.otherEvals.entries()].map(([name, o]) => ({ name, split: o.split ?? 'test', step: o.step, metrics: Object.fromEntries(Object.entries(o.metrics).filter(([, v]) => finite(v))) }));
    if (!ev) return others.length ? { step: others[0].step, metrics: {}, table: [], misclassified: [], others } : null;
    const kind = ev.per_class ? 'class' : ev.per_entity ? 'entity' : undefined;
    const source = ev.per_class ?? ev.per_entity ?? {};
    const table: ClassRow[] = Object.entries(source)
      .filter(([, r]) => r && typeof r === 'object')
      .map(([label, r]) => ({ label, precision: Number(r.precision), recall: Number(r.recall), f1: Number(r.f1), support: Number(r.support) }));
    const cm = ev.confusion_matrix;
    const confusion =
      cm && Array.isArray(cm.labels) && Array.isArray(cm.matrix) && cm.matrix.length === cm.labels.length
        ? { labels: cm.labels.map(String), matrix: cm.matrix.map((row) => (Array.isArray(row) ? row.map(Number) : [])) }
        : undefined;
    const examples = Array.isArray(ev.misclassified) ? ev.misclassified.slice(0, MAX_EXAMPLES) : [];
    return {
      step: ev.step,
      metrics: Object.fromEntries(Object.entries(ev.metrics).filter(([, v]) => finite(v))),
      tableKind: kind,
      table,
      confusion,
      misclassified: examples.map((m) => ({
        text: clip(String(m.text ?? '')),
        gold: String(m.gold ?? ''),
        pred: String(m.pred ?? ''),
        openable: !!m.source && typeof m.source.file === 'string' && Number.isInteger(m.source.line) && m.source.line > 0,
        ...(Array.isArray(m.errors) ? { errors: (m.errors as readonly (readonly unknown[])[]).slice(0, 200).map((pair) => [String(pair[0] ?? ''), String(pair[1] ?? '')]) } : {}),
      })),
      ...(others.length ? { others } : {}),
    };
  }

  /** The misclassified example the webview showed as `index` of the eval at `step`. */
  example(step: number, index: number): Misclassified | undefined {
    const ev = this.lastEval;
    if (!ev || ev.step !== step || !Array.isArray(ev.misclassified)) return undefined;
    if (!Number.isInteger(index) || index < 0 || index >= Math.min(ev.misclassified.length, MAX_EXAMPLES)) return undefined;
    return ev.misclassified[index];
  }

  /** Everything, for a webview that has just (re)loaded; marks it all as sent. */
  snapshot(): ModelSnapshot {
    const series: SeriesDelta[] = [];
    for (const [name, s] of this.series) {
      series.push(s.buckets.snapshot(name));
      s.buckets.markClean();
    }
    this.summaryDirty = false;
    this.evalDirty = false;
    this.pendingLogs = [];
    return { series, summary: this.summary(), eval: this.evalReport(), logs: this.logs.slice(-LOG_LINES) };
  }

  /** What changed since the last drain or snapshot. */
  drain(): ModelDrain {
    const series: SeriesDelta[] = [];
    for (const [name, s] of this.series) {
      const d = s.buckets.drain(name);
      if (d) series.push(d);
    }
    const summary = this.summaryDirty ? this.summary() : undefined;
    const evalReport = this.evalDirty ? (this.evalReport() ?? undefined) : undefined;
    const logs = this.pendingLogs.slice(-LOG_LINES);
    this.summaryDirty = false;
    this.evalDirty = false;
    this.pendingLogs = [];
    return { series, summary, eval: evalReport, logs };
  }

  /** Full-resolution detail of every series for x in [x0, x1]. */
  range(x0: number, x1: number, buckets = this.maxBuckets): SeriesDelta[] {
    return [...this.series].map(([name, s]) => s.raw.downsample(name, x0, x1, buckets));
  }

  /** Points held at full resolution, all series together (for memory checks). */
  get pointCount(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.raw.length;
    return n;
  }
}
