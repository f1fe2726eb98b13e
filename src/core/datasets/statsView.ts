// Host-side checks of what the statistics webview sends, and the summary it is shown. Every
// message is checked before it reaches the file system.

import * as path from 'node:path';
import { LIMITS, ToHost, type DatasetSummary, type SourceInfo, type WebviewMessage } from '../../../webview/datasetStats/protocol';
import { previewColumns } from './preview';
import type { DatasetEntry, SourceState } from './snapshot';
import { SPLITS, type SplitName } from './types';

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSplit(v: unknown): v is SplitName {
  return typeof v === 'string' && (SPLITS as readonly string[]).includes(v);
}

function isCount(v: unknown, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** Drops anything that is not exactly one of the protocol's messages. */
export function isWebviewMessage(m: unknown): m is WebviewMessage {
  if (!isObj(m)) return false;
  switch (m.type) {
    case ToHost.Ready:
    case ToHost.Cancel:
      return true;
    case ToHost.RequestRows:
      return isCount(m.requestId) && isSplit(m.split) && isCount(m.start) && isCount(m.count, LIMITS.rowsPerRequest) && (m.count as number) > 0;
    case ToHost.Recompute:
    case ToHost.ChooseTokenizer:
      return isCount(m.maxSeqLength, LIMITS.maxSeqLength) && (m.maxSeqLength as number) >= 8;
    case ToHost.OpenRow:
      return isSplit(m.split) && isCount(m.row);
    default:
      return false;
  }
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
    columns: previewColumns(m.task),
  };
}
