// Messages between the dataset statistics webview and the extension host, typed once as guards
// (src/shared/guard.ts, the one guard helper of every webview); each side checks what it receives
// (the host: statsView.ts through src/core/webview/messages.ts; the page: webview/shared/messages.ts).
// Nothing here may import `vscode`, Node or touch the DOM.

import { arrayOf, count, guard, int, isRecord, message, object, oneOf, optional, recordOf, str, tagged, type Infer } from '../../src/shared/guard';
import { SPLITS, type DatasetStatistics, type SplitName } from '../../src/shared/datasetStats';

export type { DatasetStatistics, SplitName };

export const LIMITS = { rowsPerRequest: 500, maxSeqLength: 8192 } as const;

const split = oneOf(...SPLITS);
const text = str();

export const SOURCE_INFO = object({ split, name: text, state: oneOf('unchanged', 'changed', 'missing', 'unknown') });
export type SourceInfo = Infer<typeof SOURCE_INFO>;

export const DATASET_SUMMARY = object({
  id: text,
  name: text,
  task: text,
  format: text,
  created: text,
  sources: arrayOf(SOURCE_INFO),
  splits: arrayOf(object({ split, count })),
  errors: count,
  warnings: count,
  problems: recordOf(count),
  columns: arrayOf(text),
});
export type DatasetSummary = Infer<typeof DATASET_SUMMARY>;

/** The statistics as the host computed them (src/core/datasets/stats.ts): checked down to each split's row count and token lengths. */
const SPLIT_STATS = object({ split, rows: count, tokens: object({ count, histogram: object({ binWidth: count, counts: arrayOf(count) }) }) });
const DATASET_STATISTICS = guard<DatasetStatistics>((v, at) => (isRecord(v) ? arrayOf(SPLIT_STATS).problem(v.splits, `${at ? `${at}.` : ''}splits`) : `${at}: expected an object`));

export const STATS_STATUS = oneOf('idle', 'running', 'done', 'error');
export type StatsStatus = Infer<typeof STATS_STATUS>;

export const VIEW_STATE = object({
  dataset: DATASET_SUMMARY,
  stats: optional(DATASET_STATISTICS),
  /** The model whose tokenizer the next computation uses (a folder name, for display). */
  tokenizer: optional(text),
  status: STATS_STATUS,
  message: optional(text),
});
export type ViewState = Infer<typeof VIEW_STATE>;

export const ToWebview = { State: 'state', Rows: 'rows', Progress: 'progress' } as const;

export const HOST_MESSAGE = tagged({
  [ToWebview.State]: message(ToWebview.State, { state: VIEW_STATE }),
  [ToWebview.Rows]: message(ToWebview.Rows, { requestId: count, split, start: count, rows: arrayOf(arrayOf(text)), total: optional(count) }),
  [ToWebview.Progress]: message(ToWebview.Progress, { done: count, total: optional(count) }),
});
export type HostMessage = Infer<typeof HOST_MESSAGE>;

export const ToHost = { Ready: 'ready', RequestRows: 'requestRows', Recompute: 'recompute', OpenRow: 'openRow', Cancel: 'cancel', ChooseTokenizer: 'chooseTokenizer', NameLabels: 'nameLabels' } as const;

const maxSeqLength = int(8, LIMITS.maxSeqLength);
export const WEBVIEW_MESSAGE = tagged({
  [ToHost.Ready]: message(ToHost.Ready),
  [ToHost.RequestRows]: message(ToHost.RequestRows, { requestId: count, split, start: count, count: int(1, LIMITS.rowsPerRequest) }),
  [ToHost.Recompute]: message(ToHost.Recompute, { maxSeqLength }),
  /** Opens the source file of preview row `row` of `split` at its line. */
  [ToHost.OpenRow]: message(ToHost.OpenRow, { split, row: count }),
  [ToHost.Cancel]: message(ToHost.Cancel),
  /** The host asks which model's tokenizer to use (the webview never names a path). */
  [ToHost.ChooseTokenizer]: message(ToHost.ChooseTokenizer, { maxSeqLength }),
  /** The host asks for label names (label=name), re-imports the snapshot with them and shows it again. */
  [ToHost.NameLabels]: message(ToHost.NameLabels),
});
export type WebviewMessage = Infer<typeof WEBVIEW_MESSAGE>;

export const ROW_HEIGHT = 24;

/** Preview pages of rows asked of the host at a time, and how many the webview keeps. */
export const PREVIEW_PAGE = 100;
export const PREVIEW_PAGES_KEPT = 20;

/**
 * The rows a virtualized table draws at a scroll position: those in view plus `margin` rows each
 * side, so the DOM holds a screenful whatever the dataset's size. `last` is exclusive.
 */
export function visibleRows(scrollTop: number, viewHeight: number, total: number, margin = 5): { first: number; last: number } {
  const first = Math.min(Math.max(0, total - 1), Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - margin));
  const last = Math.min(total, Math.floor(scrollTop / ROW_HEIGHT) + Math.ceil(viewHeight / ROW_HEIGHT) + margin);
  return { first, last: Math.max(first, last) };
}

/** Pages to drop so that at most `keep` stay: the farthest from the page in view first. */
export function pagesToEvict(cached: Iterable<number>, current: number, keep = PREVIEW_PAGES_KEPT): number[] {
  const all = [...cached].sort((a, b) => Math.abs(b - current) - Math.abs(a - current));
  return all.slice(0, Math.max(0, all.length - keep));
}
