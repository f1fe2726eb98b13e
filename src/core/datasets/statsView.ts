// Host-side checks of what the statistics webview sends, and the summary it is shown. Every
// message is checked before it reaches the file system.

import * as path from 'node:path';
import { WEBVIEW_MESSAGE, type DatasetSummary, type SourceInfo, type WebviewMessage } from '../../../webview/datasetStats/protocol';
import { hasPairs, previewColumns } from './preview';
import type { DatasetEntry, SourceState } from './snapshot';
import { SPLITS, type SplitName } from './types';

/** Drops anything that is not exactly one of the protocol's messages (its guard, src/shared/guard.ts). */
export function isWebviewMessage(m: unknown): m is WebviewMessage {
  return WEBVIEW_MESSAGE(m);
}

export function datasetSummary(d: DatasetEntry, states?: readonly { source: { split: SplitName }; state: SourceState }[]): DatasetSummary {
  const m = d.manifest;
  const sources: SourceInfo[] = m.sources.map((s) => ({
    split: s.split,
    name: path.basename(s.path),
    state: ((st) => (st === undefined || st === 'unchecked' ? 'unknown' : st))(states?.find((x) => x.source.split === s.split)?.state),
  }));
  return {
    id: d.id,
    name: m.name,
    task: m.task,
    format: m.format,
    created: m.created,
    sources,
    splits: SPLITS.filter((s) => m.splits[s]).map((s) => ({ split: s, count: m.splits[s]?.count ?? 0 })),
    errors: m.problems.errors,
    warnings: m.problems.warnings,
    problems: m.problems.byCode as Record<string, number>,
    columns: previewColumns(m.task, hasPairs(m)),
  };
}
