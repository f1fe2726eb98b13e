// The dashboard webview's saved UI state (vscode.getState/setState): read defensively, since it
// may come from an older version of the page, and turned into the selection `ready` reports.

import type { Selection } from './protocol';

export interface UiState {
  primary?: string;
  compare: string[];
  /** The user chose `primary`; a run the host picked is not kept over a reload (see Selection.pinned). */
  pinned: boolean;
  smoothing: number;
  metric?: string;
  cell?: [number, number];
}

export function loadState(saved: unknown): UiState {
  const s = (typeof saved === 'object' && saved !== null ? saved : {}) as Partial<Record<keyof UiState, unknown>>;
  const primary = typeof s.primary === 'string' ? s.primary : undefined;
  return {
    primary,
    compare: Array.isArray(s.compare) ? s.compare.filter((x): x is string => typeof x === 'string') : [],
    // State saved before `pinned` existed cannot tell a choice from the host's pick: not pinned.
    pinned: primary !== undefined && s.pinned === true,
    smoothing: typeof s.smoothing === 'number' && s.smoothing >= 0 && s.smoothing < 1 ? s.smoothing : 0.6,
    metric: typeof s.metric === 'string' ? s.metric : undefined,
    cell: Array.isArray(s.cell) && s.cell.length === 2 ? [Number(s.cell[0]), Number(s.cell[1])] : undefined,
  };
}

export function selectionOf(ui: UiState): Selection {
  return { primary: ui.primary, compare: ui.compare.filter((id) => id !== ui.primary), pinned: ui.pinned && ui.primary !== undefined };
}

/** What the page reports in `ready`: its selection, or nothing when it has none to restore. */
export function readySelection(ui: UiState): Selection | undefined {
  return ui.primary || ui.compare.length ? selectionOf(ui) : undefined;
}
