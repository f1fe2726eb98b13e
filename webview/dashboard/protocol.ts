// Messages between the Training Dashboard webview and the extension host. Both sides import this
// file; the host checks everything it receives with the guards in src/core/dashboard/validate.ts.
// Nothing here may import `vscode` or touch the DOM.

/**
 * Downsampled series travel as flat bucket arrays: for each bucket, in this order, the x and y
 * of its lowest point, the x and y of its highest point, the mean of its y values and how many
 * points it holds. Bucket i starts at index i * BUCKET_STRIDE.
 */
export const BUCKET_STRIDE = 6;
export const B_XLO = 0;
export const B_YLO = 1;
export const B_XHI = 2;
export const B_YHI = 3;
export const B_MEAN = 4;
export const B_COUNT = 5;

/** One series' change: drop the buckets from `from` on, then append `buckets`. */
export interface SeriesDelta {
  readonly name: string;
  readonly from: number;
  /** Buckets after the change; lets the webview check it is in step with the host. */
  readonly total: number;
  readonly buckets: readonly number[];
}

/** Step-series names; eval metrics are `eval/<metric>`. */
export const STEP_SERIES = ['loss', 'mlm_loss', 'nsp_loss', 'learning_rate', 'grad_norm', 'samples_per_second', 'tokens_per_second', 'memory_mb'] as const;
export type StepSeriesName = (typeof STEP_SERIES)[number];
export const EVAL_PREFIX = 'eval/';

export interface RunListItem {
  readonly id: string;
  readonly name: string;
  readonly task: string;
  readonly state: string;
  readonly step?: number;
  readonly maxSteps?: number;
}

export interface RunSummary {
  readonly state: string;
  readonly message?: string;
  readonly step?: number;
  readonly maxSteps?: number;
  readonly epoch?: number;
  readonly stepsPerSecond?: number;
  readonly etaSeconds?: number;
  readonly elapsedSeconds?: number;
  readonly latest: Readonly<Record<string, number>>;
  readonly bestMetric?: { readonly name: string; readonly value: number; readonly step: number };
  readonly lastCheckpoint?: string;
  readonly error?: string;
}

export interface ClassRow {
  readonly label: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}

/** A misclassified example as the webview sees it: no path, only whether it can be opened. */
export interface ExampleItem {
  readonly text: string;
  readonly gold: string;
  readonly pred: string;
  readonly openable: boolean;
}

export interface EvalReport {
  readonly step: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** 'class' for per_class, 'entity' for per_entity. */
  readonly tableKind?: 'class' | 'entity';
  readonly table: readonly ClassRow[];
  readonly confusion?: { readonly labels: readonly string[]; readonly matrix: readonly (readonly number[])[] };
  readonly misclassified: readonly ExampleItem[];
}

export interface LogLine {
  readonly ts?: number;
  readonly level: string;
  readonly text: string;
}

export interface Selection {
  /** The run whose details (state, eval, logs) are shown; its curves are drawn first. */
  readonly primary?: string;
  /** Other runs overlaid on the charts. */
  readonly compare: readonly string[];
  /**
   * The user chose `primary` (a click in the run list, or a command naming the run): a reload keeps
   * it. Otherwise the dashboard shows the live run, else the most recently active one, and moves
   * to a run that starts.
   */
  readonly pinned?: boolean;
}

// ---- host → webview -------------------------------------------------------------------------
export const ToWebview = {
  Runs: 'runs',
  Selection: 'selection',
  Series: 'series',
  Summary: 'summary',
  Eval: 'eval',
  Logs: 'logs',
  Range: 'range',
  Notice: 'notice',
} as const;

export type HostMessage =
  | { readonly type: typeof ToWebview.Runs; readonly runs: readonly RunListItem[] }
  | { readonly type: typeof ToWebview.Selection; readonly selection: Selection }
  | { readonly type: typeof ToWebview.Series; readonly runId: string; readonly reset: boolean; readonly deltas: readonly SeriesDelta[] }
  | { readonly type: typeof ToWebview.Summary; readonly runId: string; readonly summary: RunSummary }
  | { readonly type: typeof ToWebview.Eval; readonly runId: string; readonly report: EvalReport | null }
  | { readonly type: typeof ToWebview.Logs; readonly runId: string; readonly reset: boolean; readonly lines: readonly LogLine[] }
  | {
      readonly type: typeof ToWebview.Range;
      readonly requestId: number;
      readonly x0: number;
      readonly x1: number;
      readonly runs: readonly { readonly runId: string; readonly deltas: readonly SeriesDelta[] }[];
    }
  | { readonly type: typeof ToWebview.Notice; readonly message: string };

// ---- webview → host -------------------------------------------------------------------------
export const ToHost = {
  Ready: 'ready',
  Select: 'select',
  RequestRange: 'requestRange',
  OpenExample: 'openExample',
  OpenLog: 'openLog',
} as const;

export type WebviewMessage =
  /** Sent once the page has loaded (again after every reload), with the selection it restored. */
  | { readonly type: typeof ToHost.Ready; readonly selection?: Selection }
  | { readonly type: typeof ToHost.Select; readonly selection: Selection }
  /** Detail for a zoomed x range; the host answers with a `range` message of the same id. */
  | { readonly type: typeof ToHost.RequestRange; readonly requestId: number; readonly x0: number; readonly x1: number }
  /** Opens the source of misclassified example `index` of the eval at `step` of run `runId`. */
  | { readonly type: typeof ToHost.OpenExample; readonly runId: string; readonly step: number; readonly index: number }
  | { readonly type: typeof ToHost.OpenLog; readonly runId: string };

/** Limits the host enforces on what it receives. */
export const LIMITS = { runId: 200, compare: 16 } as const;
export const RUN_ID_PATTERN = /^[A-Za-z0-9._-]+$/;
