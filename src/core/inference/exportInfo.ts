/**
 * What the trainer measured when it exported a run: `onnx/export.json`, written by
 * trainer/bert_studio_trainer/export.py (`write_export_metadata`): the parity figures against
 * PyTorch and the task's metric for the fp32 (model.onnx) and int8 (model_quantized.onnx) graphs on
 * the first validation examples. The Models view shows them side by side.
 */
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

export interface ExportAccuracy {
  /** The run's metric_for_best_model (accuracy, f1, perplexity, ...). */
  readonly metric: string;
  /** Validation examples scored (the split, capped at 500). */
  readonly examples: number;
  readonly fp32?: number;
  readonly int8?: number;
}

export interface ExportSummary {
  /** Largest |ONNX - PyTorch| of the fp32 graphs' outputs. */
  readonly maxAbsDiff?: number;
  /** The tolerance it passed. */
  readonly tolerance?: number;
  readonly accuracy?: ExportAccuracy;
}

/** Bigger than any export.json the trainer writes: a larger file is not ours and is not read. */
const MAX_BYTES = 64 * 1024;

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** `<runDir>/onnx/export.json`, or undefined when it is missing, too large or not what the trainer writes. */
export function readExportSummary(runDir: string): ExportSummary | undefined {
  const file = path.join(runDir, 'onnx', 'export.json');
  try {
    const st = statSync(file);
    if (!st.isFile() || st.size > MAX_BYTES) return undefined;
    const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
    const r = raw as Record<string, unknown>;
    const a = r.accuracy as Record<string, unknown> | null | undefined;
    const accuracy: ExportAccuracy | undefined =
      typeof a === 'object' && a !== null && typeof a.metric === 'string' && finite(a.examples) !== undefined
        ? { metric: a.metric, examples: finite(a.examples)!, fp32: finite(a.fp32), int8: finite(a.int8) }
        : undefined;
    return { maxAbsDiff: finite(r.max_abs_diff), tolerance: finite(r.tolerance), accuracy };
  } catch {
    return undefined;
  }
}

const fmt = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(4));

/** Short text for a tree item's description, e.g. "fp32 0.8620 · int8 0.8510"; undefined without figures. */
export function accuracyDescription(summary: ExportSummary | undefined): string | undefined {
  const a = summary?.accuracy;
  if (!a || (a.fp32 === undefined && a.int8 === undefined)) return undefined;
  return a.int8 === undefined ? `fp32 ${fmt(a.fp32)}` : `fp32 ${fmt(a.fp32)} · int8 ${fmt(a.int8)}`;
}

/** Tooltip lines: the metric on how many examples for each graph, and the parity with PyTorch. */
export function exportSummaryLines(summary: ExportSummary | undefined): string[] {
  if (!summary) return [];
  const lines: string[] = [];
  const a = summary.accuracy;
  if (a) {
    const delta = a.fp32 !== undefined && a.int8 !== undefined ? ` (int8 − fp32: ${(a.int8 - a.fp32 >= 0 ? '+' : '')}${(a.int8 - a.fp32).toFixed(4)})` : '';
    lines.push(`ONNX ${a.metric} on ${a.examples} validation examples: fp32 ${fmt(a.fp32)}, int8 ${a.int8 === undefined ? 'not exported' : fmt(a.int8)}${delta}`);
  }
  if (summary.maxAbsDiff !== undefined) {
    lines.push(`ONNX vs PyTorch: max abs difference ${summary.maxAbsDiff.toExponential(1)}${summary.tolerance !== undefined ? ` (tolerance ${summary.tolerance})` : ''}`);
  }
  return lines;
}
