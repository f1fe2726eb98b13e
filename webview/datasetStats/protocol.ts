// Messages between the dataset statistics webview and the extension host. Both sides import
// this file; the host checks what it receives with isWebviewMessage (src/core/datasets/statsView.ts).
// Nothing here may import `vscode` or touch the DOM.

import type { DatasetStatistics } from '../../src/core/datasets/stats';
import type { SplitName } from '../../src/core/datasets/types';

export type { DatasetStatistics, SplitName };

export interface SourceInfo {
  readonly split: SplitName;
  readonly name: string;
  readonly state: 'unchanged' | 'changed' | 'missing' | 'unknown';
}

export interface DatasetSummary {
  readonly id: string;
  readonly name: string;
  readonly task: string;
  readonly format: string;
  readonly created: string;
  readonly sources: readonly SourceInfo[];
  readonly splits: readonly { readonly split: SplitName; readonly count: number }[];
  readonly errors: number;
  readonly warnings: number;
  readonly problems: Readonly<Record<string, number>>;
  readonly columns: readonly string[];
}

export type StatsStatus = 'idle' | 'running' | 'done' | 'error';

export interface ViewState {
  readonly dataset: DatasetSummary;
  readonly stats?: DatasetStatistics;
  /** The model whose tokenizer the next computation uses (a folder name, for display). */
  readonly tokenizer?: string;
  readonly status: StatsStatus;
  readonly message?: string;
}

export const ToWebview = { State: 'state', Rows: 'rows', Progress: 'progress' } as const;

export type HostMessage =
  | { readonly type: typeof ToWebview.State; readonly state: ViewState }
  | { readonly type: typeof ToWebview.Rows; readonly requestId: number; readonly split: SplitName; readonly start: number; readonly rows: readonly (readonly string[])[]; readonly total?: number }
  | { readonly type: typeof ToWebview.Progress; readonly done: number; readonly total?: number };

export const ToHost = { Ready: 'ready', RequestRows: 'requestRows', Recompute: 'recompute', OpenRow: 'openRow', Cancel: 'cancel', ChooseTokenizer: 'chooseTokenizer' } as const;

export type WebviewMessage =
  | { readonly type: typeof ToHost.Ready }
  | { readonly type: typeof ToHost.RequestRows; readonly requestId: number; readonly split: SplitName; readonly start: number; readonly count: number }
  | { readonly type: typeof ToHost.Recompute; readonly maxSeqLength: number }
  /** Opens the source file of preview row `row` of `split` at its line. */
  | { readonly type: typeof ToHost.OpenRow; readonly split: SplitName; readonly row: number }
  | { readonly type: typeof ToHost.Cancel }
  /** The host asks which model's tokenizer to use (the webview never names a path). */
  | { readonly type: typeof ToHost.ChooseTokenizer; readonly maxSeqLength: number };

export const LIMITS = { rowsPerRequest: 500, maxSeqLength: 8192 } as const;
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
