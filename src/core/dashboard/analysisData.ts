// The dashboard's data map and slices, read from a run folder on request: the cartography map
// from dynamics.jsonl (with each point's source-line snippet, read only from files the host allows),
// and the slices of an evaluation's predictions.jsonl. Plain Node: no vscode import.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { evenSample, readDynamics, regionOf, REGION_THRESHOLDS, sourceSnippets, summarize, type DynamicsRow } from '../analysis/cartography';
import { readLabelIssues } from '../analysis/labelIssues';
import { checkPattern, computeSlices, labelSlicesFromConfusion, listPredictionFiles, parsePredictions, type PatternMode } from '../analysis/slices';
import { MAX_MAP_POINTS, type CartographyMap, type EvalReport, type Slices } from '../../../webview/dashboard/protocol';

export interface LoadedMap {
  readonly map: CartographyMap | null;
  /** Why there is no map, and how to get one. */
  readonly message?: string;
  /** Every row of dynamics.jsonl by example: what "open" looks up (the page sends indices only). */
  readonly rows: ReadonlyMap<number, DynamicsRow>;
}

/**
 * The map of a run's training dynamics. `resolve` returns the checked path of a source file the
 * snippets may be read from and opened (undefined: not allowed).
 */
export async function loadCartography(runDir: string, task: string | undefined, resolve: (file: string) => string | undefined, maxPoints = MAX_MAP_POINTS): Promise<LoadedMap> {
  const read = await readDynamics(runDir);
  const none = new Map<number, DynamicsRow>();
  if (!read) {
    const how = task === 'sequence_classification' || task === 'token_classification'
      ? 'Train it with training.record_dynamics on (the default for single-label classification and NER): the worker writes dynamics.jsonl at each epoch.'
      : 'Dynamics are recorded for single-label classification and NER runs only.';
    return { map: null, message: `This run has no dynamics.jsonl yet. ${how}`, rows: none };
  }
  if (!read.rows.length) return { map: null, message: `${path.basename(read.file)} has no example with figures yet (${read.skipped} rows without): the map appears after the first epoch.`, rows: none };
  // One check per source file, not per example.
  const checked = new Map<string, string | undefined>();
  const resolveOnce = (file: string): string | undefined => {
    if (!checked.has(file)) checked.set(file, resolve(file));
    return checked.get(file);
  };
  const summary = summarize(read.rows);
  const shown = evenSample([...read.rows].sort((a, b) => a.example - b.example), maxPoints);
  const snippets = await sourceSnippets(shown, resolveOnce);
  const rows = new Map(read.rows.map((r) => [r.example, r] as const));
  const map: CartographyMap = {
    examples: summary.examples,
    shown: shown.length,
    epochs: summary.epochs,
    unit: read.rows.some((r) => r.words !== undefined) ? 'sentence' : 'example',
    thresholds: { ...REGION_THRESHOLDS },
    regions: summary.regions,
    points: shown.map((r) => ({
      example: r.example,
      confidence: r.confidence,
      variability: r.variability,
      correctness: r.correctness,
      gold: r.gold ?? (r.words !== undefined ? `${r.words} word${r.words === 1 ? '' : 's'}` : ''),
      region: regionOf(r),
      snippet: snippets.get(r.example) ?? (r.source ? `${path.basename(r.source.file)}:${r.source.line}` : `example ${r.example}`),
      openable: !!r.source && resolveOnce(r.source.file) !== undefined,
    })),
  };
  return { map, rows };
}

export interface SliceRequest {
  readonly evaluation?: string;
  readonly pattern?: string;
  readonly mode?: PatternMode;
}

/** The Slices section for a run: per-example slices of an evaluation's predictions, else the validation eval's by-label rows. */
export async function loadSlices(runDir: string, request: SliceRequest, validation: EvalReport | null | undefined): Promise<Slices> {
  const files = await listPredictionFiles(runDir);
  const evaluations = files.map((f) => f.name);
  const validationByLabel = validation?.confusion && validation.tableKind === 'class' ? labelSlicesFromConfusion(validation.confusion) : undefined;
  let patternError: string | undefined;
  let pattern: { input: string; mode: PatternMode; test: (text: string) => boolean } | undefined;
  if (request.pattern !== undefined && request.pattern.trim() !== '') {
    const mode = request.mode ?? 'keyword';
    const checked = checkPattern(request.pattern, mode);
    if (checked.ok) pattern = { input: request.pattern.trim(), mode, test: checked.test };
    else patternError = checked.message;
  }
  const base = { evaluations, ...(validationByLabel ? { validationByLabel } : {}), ...(patternError ? { patternError } : {}) };
  const chosen = files.find((f) => f.name === request.evaluation) ?? files[0];
  if (!chosen) {
    return {
      ...base,
      note: 'Slices by length, pattern and flagged examples need every example\'s prediction: evaluate the run on its validation or test data ("Evaluate on…" below, or bert-studio evaluate) and its predictions.jsonl is sliced here (classification and token classification).',
    };
  }
  let text: string;
  try {
    text = await fs.promises.readFile(chosen.file, 'utf8');
  } catch (err) {
    return { ...base, note: `Cannot read ${chosen.file}: ${(err as Error).message}. Evaluate the run again to write it.` };
  }
  const { rows, invalid } = parsePredictions(text);
  const issues = await readLabelIssues(runDir);
  const report = computeSlices(rows, { evaluation: chosen.name, ...(pattern ? { pattern } : {}), ...(issues ? { issues: issues.issues } : {}) });
  const notes: string[] = [];
  if (invalid) notes.push(`${invalid} line${invalid === 1 ? '' : 's'} of ${path.relative(runDir, chosen.file)} could not be read and are left out.`);
  if (!issues) notes.push('No label_issues.jsonl in this run: find likely label errors (bert-studio analyze label-errors) to slice by them.');
  else if (report.flagged && report.flagged.flagged.count === 0) notes.push(`None of the ${issues.issues.length} flagged ${report.task === 'token_classification' ? 'words' : 'examples'} is in this evaluation (label errors are found on the training data, or on the file given to label-errors --data).`);
  return { ...base, report, ...(notes.length ? { note: notes.join(' ') } : {}) };
}
