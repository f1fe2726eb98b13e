// The embedding map: the worker's file (<run>/analysis/embeddings-<split>-<method>-<pooling>.json,
// trainer/bert_studio_trainer/analysis/embeddings.py) and the messages between the page
// (webview/embeddings/main.ts) and the host (src/vscode/analysis/embeddingMap.ts), typed once as
// guards (src/shared/guard.ts). The host checks the file before anything uses it
// (src/core/analysis/embeddingMap.ts) and what the page posts (src/core/webview/messages.ts); the page
// checks what the host posts (webview/shared/messages.ts). The page never sees a file path: it names
// a point by its position, and the host opens that point's source. No `vscode`, Node or DOM here.

import { arrayOf, bool, count, int, message, nullable, num, object, oneOf, optional, recordOf, refine, str, tagged, type Infer } from '../../src/shared/guard';

export const SPLITS = ['validation', 'train'] as const;
export const METHODS = ['pca', 'umap'] as const;
export const POOLINGS = ['mean', 'cls'] as const;
export const COLOR_MODES = ['gold', 'pred', 'error'] as const;
export type Split = (typeof SPLITS)[number];
export type Method = (typeof METHODS)[number];
export type Pooling = (typeof POOLINGS)[number];
export type ColorMode = (typeof COLOR_MODES)[number];

/** At most this many points in a map (the worker's --max-examples limit) and labels in a legend; a label may be a multi-label set ("LOC, PER"). */
export const LIMITS = { points: 100_000, labels: 1_000, label: 2_000, text: 1_000, path: 4_096 } as const;

const label = str(LIMITS.label);
const split = oneOf(...SPLITS);
const method = oneOf(...METHODS);
const pooling = oneOf(...POOLINGS);

/** One point of the worker's file. */
export const FILE_POINT = object({
  index: count,
  x: num(),
  y: num(),
  gold: label,
  pred: label,
  correct: bool,
  source: nullable(object({ file: str(LIMITS.path), line: int(1) })),
  text: str(LIMITS.text),
});
export type FilePoint = Infer<typeof FILE_POINT>;

/** The worker's file, checked down to every point; each point's labels must be in `labels`. */
export const EMBEDDING_MAP_FILE = refine(
  object({
    version: oneOf(1),
    run: str(),
    model: str(LIMITS.path),
    task: oneOf('sequence_classification', 'token_classification'),
    split,
    method,
    pooling,
    seed: count,
    examples: count,
    labels: arrayOf(label, LIMITS.labels, 1),
    metrics: recordOf(num(), 64),
    explained_variance: nullable(arrayOf(num(0, 1), 2)),
    points: arrayOf(FILE_POINT, LIMITS.points),
  }),
  (m) => {
    const known = new Set(m.labels);
    const i = m.points.findIndex((p) => !known.has(p.gold) || !known.has(p.pred));
    if (i >= 0) return `points[${i}]: label ${JSON.stringify(known.has(m.points[i].gold) ? m.points[i].pred : m.points[i].gold)} is not in labels`;
    return m.points.length > m.examples ? `${m.points.length} points but the split has ${m.examples} examples` : undefined;
  },
);
export type EmbeddingMapFile = Infer<typeof EMBEDDING_MAP_FILE>;

/** A point as the page gets it: `where` is "file name:line" for display (never a path), null without a source. */
export const PAGE_POINT = object({ index: count, x: num(), y: num(), gold: label, pred: label, correct: bool, text: str(LIMITS.text), where: nullable(str(300)) });
export type PagePoint = Infer<typeof PAGE_POINT>;

export const PAGE_MAP = object({
  task: oneOf('sequence_classification', 'token_classification'),
  split,
  method,
  pooling,
  examples: count,
  labels: arrayOf(label, LIMITS.labels, 1),
  metrics: recordOf(num(), 64),
  explainedVariance: nullable(arrayOf(num(0, 1), 2)),
  cached: bool,
  points: arrayOf(PAGE_POINT, LIMITS.points),
});
export type PageMap = Infer<typeof PAGE_MAP>;

export const SETTINGS = object({ split, method, pooling }, { exact: true });
export type Settings = Infer<typeof SETTINGS>;

export const STATUS = oneOf('idle', 'running', 'done', 'error');
export type Status = Infer<typeof STATUS>;

export const ToWebview = { State: 'state', Progress: 'progress' } as const;
export const ToHost = { Ready: 'ready', Compute: 'compute', Cancel: 'cancel', Open: 'open' } as const;

export const HOST_MESSAGE = tagged({
  /** Everything the page shows; `map` absent until one is computed. `title` names the run and the model folder. */
  [ToWebview.State]: message(ToWebview.State, {
    runId: str(200),
    title: str(400),
    settings: SETTINGS,
    /** Splits the run has (no validation file: train only). */
    splits: arrayOf(split, 2, 1),
    status: STATUS,
    message: optional(str(2_000)),
    map: optional(PAGE_MAP),
  }),
  [ToWebview.Progress]: message(ToWebview.Progress, { message: str(400) }),
});
export type HostMessage = Infer<typeof HOST_MESSAGE>;
export type StateMessage = Extract<HostMessage, { type: 'state' }>;

export const WEBVIEW_MESSAGE = tagged({
  [ToHost.Ready]: message(ToHost.Ready),
  [ToHost.Compute]: message(ToHost.Compute, { settings: SETTINGS }),
  [ToHost.Cancel]: message(ToHost.Cancel),
  /** Opens the source line of the map's point at this position. */
  [ToHost.Open]: message(ToHost.Open, { point: int(0, LIMITS.points - 1) }),
});
export type WebviewMessage = Infer<typeof WEBVIEW_MESSAGE>;

/** Element ids the page keeps stable (the E2E scenarios and the docs name them). */
export const IDS = {
  title: 'embeddings-title',
  status: 'embeddings-status',
  split: 'embeddings-split',
  method: 'embeddings-method',
  pooling: 'embeddings-pooling',
  compute: 'embeddings-compute',
  cancel: 'embeddings-cancel',
  colorBy: 'embeddings-color-by',
  canvas: 'embeddings-canvas',
  legend: 'embeddings-legend',
  tooltip: 'embeddings-tooltip',
  selectErrors: 'embeddings-select-errors',
  clear: 'embeddings-clear-selection',
  selection: 'embeddings-selection',
  selectionCount: 'embeddings-selection-count',
} as const;
