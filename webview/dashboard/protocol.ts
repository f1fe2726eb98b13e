// Messages between the Training Dashboard webview and the extension host, typed once as guards
// (src/shared/guard.ts, the one guard helper of every webview): each side checks what it receives
// (the host through src/core/webview/messages.ts, the page through webview/shared/messages.ts).
// Nothing here may import `vscode`, Node or touch the DOM (tsconfig.webview.json checks the page).

import { arrayOf, bool, count, int, message, nullable, num, object, oneOf, optional, recordOf, refine, str, tagged, type Infer } from '../../src/shared/guard';
import { RUN_ID_PATTERN, isRunId } from '../../src/shared/runId';

export { RUN_ID_PATTERN, isRunId };

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

/** Limits the host enforces on what it receives. */
export const LIMITS = { runId: 200, compare: 16 } as const;

const runId = str(LIMITS.runId, RUN_ID_PATTERN);
const text = str();

/** One series' change: drop the buckets from `from` on, then append `buckets` (`total`: buckets after the change, to check the page is in step). */
export const SERIES_DELTA = object({ name: text, from: count, total: count, buckets: arrayOf(num()) });
export type SeriesDelta = Infer<typeof SERIES_DELTA>;

/** Step-series names; eval metrics are `eval/<metric>`. */
export const STEP_SERIES = ['loss', 'mlm_loss', 'nsp_loss', 'learning_rate', 'grad_norm', 'samples_per_second', 'tokens_per_second', 'memory_mb'] as const;
export type StepSeriesName = (typeof STEP_SERIES)[number];
export const EVAL_PREFIX = 'eval/';

export const RUN_LIST_ITEM = object({ id: runId, name: text, task: text, state: text, step: optional(count), maxSteps: optional(int()) });
export type RunListItem = Infer<typeof RUN_LIST_ITEM>;

export const RUN_SUMMARY = object({
  state: text,
  message: optional(text),
  step: optional(count),
  maxSteps: optional(int()),
  epoch: optional(num()),
  stepsPerSecond: optional(num()),
  etaSeconds: optional(num()),
  elapsedSeconds: optional(num()),
  latest: recordOf(num()),
  bestMetric: optional(object({ name: text, value: num(), step: count })),
  lastCheckpoint: optional(text),
  error: optional(text),
  /**
   * Trainable parameters (the worker's `params` events) and, per block top to bottom, whether it
   * trains and its learning rate at the latest step (`lr`: with layer-wise decay, else the base rate
   * times `lrScale`).
   */
  params: optional(object({
    trainable: count,
    total: count,
    unfrozenLayers: optional(count),
    groups: arrayOf(object({ name: text, params: count, trainable: bool, lrScale: num(), lr: optional(num()) }), 10_000),
  })),
});
export type RunSummary = Infer<typeof RUN_SUMMARY>;

export const CLASS_ROW = object({ label: text, precision: num(), recall: num(), f1: num(), support: num() });
export type ClassRow = Infer<typeof CLASS_ROW>;

/** A misclassified example as the webview sees it: no path, only whether it can be opened. */
/** `errors` (NER): the example's entity errors as [gold type, predicted type], "O" for missed or spurious. */
export const EXAMPLE_ITEM = object({ text, gold: text, pred: text, openable: bool, errors: optional(arrayOf(arrayOf(text, 2, 2), 200)) });
export type ExampleItem = Infer<typeof EXAMPLE_ITEM>;

export const EVAL_REPORT = object({
  step: count,
  metrics: recordOf(num()),
  /** 'class' for per_class, 'entity' for per_entity. */
  tableKind: optional(oneOf('class', 'entity')),
  table: arrayOf(CLASS_ROW),
  confusion: optional(object({ labels: arrayOf(text), matrix: arrayOf(arrayOf(num())) })),
  misclassified: arrayOf(EXAMPLE_ITEM),
  /** Evaluations on other files or splits (`bert-studio evaluate`, "Evaluate on…"), shown beside these figures. */
  others: optional(arrayOf(object({ name: text, split: text, step: count, metrics: recordOf(num()) }))),
});
export type EvalReport = Infer<typeof EVAL_REPORT>;

/**
 * Dataset cartography (Swayamdipta et al. 2020) of the run's training examples, from dynamics.jsonl:
 * each point's confidence (mean gold-label probability over epochs), variability (its standard
 * deviation), correctness (share of epochs right), region (the host's, src/core/analysis/cartography.ts)
 * and the start of its source line. `shown` < `examples` when the map holds an even sample.
 */
export const MAP_REGIONS = ['easy', 'ambiguous', 'hard'] as const;
export const MAX_MAP_POINTS = 20_000;
export const MAP_POINT = object({ example: count, confidence: num(), variability: num(), correctness: num(), gold: text, region: oneOf(...MAP_REGIONS), snippet: text, openable: bool });
export type MapPoint = Infer<typeof MAP_POINT>;
export const CARTOGRAPHY_MAP = object({
  examples: count,
  shown: count,
  epochs: count,
  /** Token classification: confidence is the mean over an example's words. */
  unit: oneOf('example', 'sentence'),
  thresholds: object({ variability: num(), confidence: num() }),
  regions: object({ easy: count, ambiguous: count, hard: count }),
  points: arrayOf(MAP_POINT, MAX_MAP_POINTS),
});
export type CartographyMap = Infer<typeof CARTOGRAPHY_MAP>;

/** Token classification: a slice's entity figures (seqeval's exact span and type) and token accuracy. */
export const ENTITY_FIGURES = object({
  gold: count, predicted: count, matched: count, precision: nullable(num()), recall: nullable(num()), f1: nullable(num()),
  words: count, correctWords: count, tokenAccuracy: nullable(num()),
});
/** Accuracy per slice of an evaluation's predictions (src/core/analysis/slices.ts); NER rows add `entities`. */
export const SLICE_ROW = object({ name: text, count, correct: count, accuracy: nullable(num()), entities: optional(ENTITY_FIGURES) });
export type SliceRowItem = Infer<typeof SLICE_ROW>;
export const PATTERN_MODES = ['keyword', 'regex'] as const;
export const MAX_SLICE_PATTERN = 200;
export const SLICE_REPORT = object({
  evaluation: text,
  examples: count,
  accuracy: nullable(num()),
  task: optional(oneOf('token_classification')),
  entities: optional(ENTITY_FIGURES),
  lengthUnit: text,
  byLength: arrayOf(SLICE_ROW),
  byLabel: arrayOf(SLICE_ROW),
  pattern: optional(object({ input: text, mode: oneOf(...PATTERN_MODES), matching: SLICE_ROW, rest: SLICE_ROW })),
  flagged: optional(object({ issues: count, flagged: SLICE_ROW, rest: SLICE_ROW })),
});
export type SliceReportItem = Infer<typeof SLICE_REPORT>;
/** What the Slices section shows: per-example slices of an evaluation, or only the validation eval's by-label rows, and why. */
export const SLICES = object({
  report: optional(SLICE_REPORT),
  /** The latest validation eval's by-label slice (its confusion matrix), when there is no predictions.jsonl. */
  validationByLabel: optional(arrayOf(SLICE_ROW)),
  evaluations: arrayOf(text, 100),
  note: optional(text),
  /** The pattern was refused: what is wrong with it and the fix. */
  patternError: optional(text),
});
export type Slices = Infer<typeof SLICES>;

export const LOG_LINE = object({ ts: optional(num()), level: text, text });
export type LogLine = Infer<typeof LOG_LINE>;

/**
 * Which runs the dashboard shows. `primary`: the run whose details (state, eval, logs) are shown;
 * its curves are drawn first. `compare`: other runs overlaid on the charts. `pinned`: the user
 * chose `primary` (a click in the run list, or a command naming the run), so a reload keeps it;
 * otherwise the dashboard shows the live run, else the most recently active one, and moves to a
 * run that starts.
 */
export const SELECTION = object({ primary: optional(runId), compare: arrayOf(runId, LIMITS.compare), pinned: optional(bool) }, { exact: true });
export type Selection = Infer<typeof SELECTION>;

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
  Cartography: 'cartography',
  Slices: 'slices',
} as const;

export const HOST_MESSAGE = tagged({
  [ToWebview.Runs]: message(ToWebview.Runs, { runs: arrayOf(RUN_LIST_ITEM) }),
  [ToWebview.Selection]: message(ToWebview.Selection, { selection: SELECTION }),
  [ToWebview.Series]: message(ToWebview.Series, { runId, reset: bool, deltas: arrayOf(SERIES_DELTA) }),
  [ToWebview.Summary]: message(ToWebview.Summary, { runId, summary: RUN_SUMMARY }),
  [ToWebview.Eval]: message(ToWebview.Eval, { runId, report: nullable(EVAL_REPORT) }),
  [ToWebview.Logs]: message(ToWebview.Logs, { runId, reset: bool, lines: arrayOf(LOG_LINE) }),
  [ToWebview.Range]: message(ToWebview.Range, { requestId: count, x0: num(), x1: num(), runs: arrayOf(object({ runId, deltas: arrayOf(SERIES_DELTA) })) }),
  [ToWebview.Notice]: message(ToWebview.Notice, { message: text }),
  /** `map` null: no dynamics; `message` says why and how to get them. */
  [ToWebview.Cartography]: message(ToWebview.Cartography, { runId, map: nullable(CARTOGRAPHY_MAP), message: optional(text) }),
  [ToWebview.Slices]: message(ToWebview.Slices, { runId, slices: SLICES }),
});
export type HostMessage = Infer<typeof HOST_MESSAGE>;

// ---- webview → host -------------------------------------------------------------------------
export const ToHost = {
  Ready: 'ready',
  Select: 'select',
  RequestRange: 'requestRange',
  OpenExample: 'openExample',
  OpenLog: 'openLog',
  RequestCartography: 'requestCartography',
  OpenTrainingExample: 'openTrainingExample',
  RequestSlices: 'requestSlices',
  EvaluateRun: 'evaluateRun',
} as const;

export const WEBVIEW_MESSAGE = tagged({
  /** Sent once the page has loaded (again after every reload), with the selection it restored. */
  [ToHost.Ready]: message(ToHost.Ready, { selection: optional(SELECTION) }),
  [ToHost.Select]: message(ToHost.Select, { selection: SELECTION }),
  /** Detail for a zoomed x range; the host answers with a `range` message of the same id. */
  [ToHost.RequestRange]: refine(message(ToHost.RequestRange, { requestId: count, x0: num(), x1: num() }), (m) => (m.x0 < m.x1 ? undefined : 'x0 must be below x1')),
  /** Opens the source of misclassified example `index` of the eval at `step` of run `runId`. */
  [ToHost.OpenExample]: message(ToHost.OpenExample, { runId, step: count, index: count }),
  [ToHost.OpenLog]: message(ToHost.OpenLog, { runId }),
  /** The cartography map of the run's training examples (sent when the page opens its section). */
  [ToHost.RequestCartography]: message(ToHost.RequestCartography, { runId }),
  /** Opens training example `example` (an index of dynamics.jsonl) of the map last sent for `runId`. */
  [ToHost.OpenTrainingExample]: message(ToHost.OpenTrainingExample, { runId, example: count }),
  /** Slices of evaluation `evaluation` (default: the newest with predictions), with the user's pattern when given. */
  [ToHost.RequestSlices]: message(ToHost.RequestSlices, { runId, evaluation: optional(str(200)), pattern: optional(str(10_000)), mode: optional(oneOf(...PATTERN_MODES)) }),
  /** "Evaluate on…" for the run (the host asks which data): its predictions.jsonl is what the Slices section slices. */
  [ToHost.EvaluateRun]: message(ToHost.EvaluateRun, { runId }),
});
export type WebviewMessage = Infer<typeof WEBVIEW_MESSAGE>;
