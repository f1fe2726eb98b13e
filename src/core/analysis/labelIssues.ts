// Likely label errors (the worker's `label-errors` command, trainer/bert_studio_trainer/analysis/
// label_errors.py): reading <run>/label_issues.jsonl, turning its rows into Problems panel entries at
// their source line, and the "Change label to X" edit of that line. No `vscode` import: the extension
// (src/vscode/analysis) and the tests use it as it is.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { columnIndex, parseQuoted } from '../datasets/delimited';
import { valueStart } from '../datasets/jsonl';
import type { DatasetManifest } from '../datasets/snapshot';
import type { QuickFix } from '../datasets/types';
import { runWorkerJson } from '../runs/evaluate';

export const LABEL_ISSUES_FILE = 'label_issues.jsonl';
export const LABEL_ISSUE_CODE = 'label.likelyError';

/** One row of label_issues.jsonl: a flagged example (or, for token classification, a word). */
export interface LabelIssue {
  readonly rank: number;
  readonly example: number;
  readonly source: { readonly file: string; readonly line: number } | null;
  readonly given: string;
  readonly suggested: string;
  /** 1 - the model's probability of the given label: higher is more likely wrong. */
  readonly score: number;
  readonly text: string;
  /** Token classification: the word and its index in the sentence. */
  readonly word?: string;
  readonly token?: number;
}

function isIssue(v: unknown): v is LabelIssue {
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== 'object') return false;
  const src = o.source as Record<string, unknown> | null;
  const srcOk = src === null || (typeof src === 'object' && typeof src.file === 'string' && Number.isInteger(src.line) && (src.line as number) >= 1);
  return Number.isInteger(o.rank) && Number.isInteger(o.example) && srcOk && typeof o.given === 'string' && typeof o.suggested === 'string'
    && typeof o.score === 'number' && Number.isFinite(o.score) && typeof o.text === 'string'
    && (o.word === undefined || typeof o.word === 'string') && (o.token === undefined || Number.isInteger(o.token));
}

/** The rows of a label_issues.jsonl text, highest score first; lines that are not issues are counted, not kept. */
export function parseLabelIssues(text: string): { issues: LabelIssue[]; invalid: number } {
  const issues: LabelIssue[] = [];
  let invalid = 0;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      invalid++;
      continue;
    }
    if (isIssue(value)) issues.push(value);
    else invalid++;
  }
  issues.sort((a, b) => b.score - a.score || a.rank - b.rank);
  return { issues, invalid };
}

/** A run's label issues; an empty list when the run has none yet. */
export async function readLabelIssues(runDir: string): Promise<{ issues: LabelIssue[]; invalid: number; file: string } | undefined> {
  const file = path.join(runDir, LABEL_ISSUES_FILE);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return { ...parseLabelIssues(text), file };
}

/**
 * What "Mark as reviewed" remembers: the file, the given label and the example's text (and word),
 * not the line number, so the mark survives lines added above it; a changed example is asked about again.
 */
export function reviewKey(issue: LabelIssue, workspaceRoot?: string): string {
  const file = issue.source ? (workspaceRoot ? path.relative(workspaceRoot, issue.source.file) : issue.source.file) : '';
  const digest = createHash('sha1').update(`${issue.text}\u0000${issue.token ?? ''}`).digest('hex').slice(0, 16);
  return `${file}|${issue.given}|${digest}`;
}

/** How the label sits on a source line: what the "Change label" edit needs to know about the file. */
export interface SourceLayout {
  readonly kind: 'delimited' | 'conll' | 'jsonl';
  readonly delimiter?: ',' | '\t';
  readonly quoting?: boolean;
  readonly header?: boolean;
  /** The label (classification) or tag (NER) column: an index (negative from the end) or a header name / JSON key. */
  readonly column?: string | number;
  /** Classification: label as written in the file → its name in the snapshot; the edit writes the file's spelling. */
  readonly labelNames?: Readonly<Record<string, string>>;
}

/** The layout of a source file, from its dataset's manifest when there is one, else from its extension. */
export function layoutFor(file: string, task: string, manifest?: DatasetManifest): SourceLayout | undefined {
  const ner = task === 'token_classification';
  const format = manifest?.format ?? extensionFormat(file, ner);
  const column = ner ? manifest?.mapping.tags : manifest?.mapping.label;
  const labelNames = manifest?.label_names;
  switch (format) {
    case 'csv':
    case 'tsv':
      if (ner) return undefined;
      return { kind: 'delimited', delimiter: format === 'csv' ? ',' : '\t', quoting: manifest?.options.quoting ?? format === 'csv', header: manifest?.options.header ?? true, column: column ?? -1, ...(labelNames ? { labelNames } : {}) };
    case 'conll':
      return ner ? { kind: 'conll', column: column ?? -1 } : undefined;
    case 'jsonl':
      return { kind: 'jsonl', column: column ?? (ner ? 'tags' : 'label'), ...(labelNames ? { labelNames } : {}) };
    default:
      return undefined;
  }
}

function extensionFormat(file: string, ner: boolean): string | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.tsv') return 'tsv';
  if (ext === '.csv') return 'csv';
  return ner ? 'conll' : undefined;
}

/** The label as the file spells it (the inverse of the dataset's label names). */
function fileSpelling(label: string, layout: SourceLayout): string {
  if (!layout.labelNames) return label;
  const raw = Object.entries(layout.labelNames).find(([, name]) => name === label);
  return raw ? raw[0] : label;
}

/** Where the given label sits on the line (0-based columns), or undefined when the line no longer holds it. */
export function labelSpan(lineText: string, issue: LabelIssue, layout: SourceLayout, headerLine?: string): { start: number; end: number; literal: boolean } | undefined {
  const given = fileSpelling(issue.given, layout);
  if (layout.kind === 'conll') {
    const cells: { s: number; e: number }[] = [];
    for (const m of lineText.matchAll(/\S+/g)) cells.push({ s: m.index ?? 0, e: (m.index ?? 0) + m[0].length });
    const i = columnIndex(typeof layout.column === 'number' ? layout.column : -1, undefined, cells.length);
    const cell = cells[i];
    if (!cell || lineText.slice(cell.s, cell.e) !== given) return undefined;
    if (issue.word !== undefined && !cells.some((c) => lineText.slice(c.s, c.e) === issue.word)) return undefined;
    return { start: cell.s, end: cell.e, literal: false };
  }
  if (layout.kind === 'delimited') {
    const delimiter = layout.delimiter ?? '\t';
    const parsed = layout.quoting ? parseQuoted(lineText, delimiter) : plainSplit(lineText, delimiter);
    const header = layout.header && headerLine !== undefined ? (layout.quoting ? parseQuoted(headerLine, delimiter) : plainSplit(headerLine, delimiter)).fields : undefined;
    const i = columnIndex(layout.column ?? -1, header, parsed.fields.length);
    if (i < 0 || parsed.fields[i].trim() !== given) return undefined;
    const start = parsed.starts[i];
    const end = i + 1 < parsed.starts.length ? parsed.starts[i + 1] - 1 : lineText.length;
    return { start, end, literal: false };
  }
  // JSONL: the value after "label": (a string or number), or for NER the token-th item of the tags list.
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(lineText) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const key = String(layout.column ?? 'label');
  const at = valueStart(lineText, key);
  if (at < 0) return undefined;
  const value = obj[key];
  if (issue.token !== undefined) {
    if (!Array.isArray(value) || value[issue.token] !== given) return undefined;
    let from = at;
    for (let k = 0; k <= issue.token; k++) {
      const lit = JSON.stringify(value[k]);
      const j = lineText.indexOf(lit, from);
      if (j < 0) return undefined;
      if (k === issue.token) return { start: j, end: j + lit.length, literal: true };
      from = j + lit.length;
    }
    return undefined;
  }
  if ((typeof value !== 'string' && typeof value !== 'number') || String(value) !== given) return undefined;
  const lit = JSON.stringify(value);
  return lineText.startsWith(lit, at) ? { start: at, end: at + lit.length, literal: true } : undefined;
}

function plainSplit(text: string, delimiter: string): { fields: string[]; starts: number[] } {
  const fields = text.split(delimiter);
  const starts: number[] = [];
  let at = 0;
  for (const f of fields) {
    starts.push(at);
    at += f.length + delimiter.length;
  }
  return { fields, starts };
}

/** The "Change label to X" fix for the issue's line, or undefined when the line no longer holds the given label. */
export function changeLabelFix(lineText: string, issue: LabelIssue, newLabel: string, layout: SourceLayout, headerLine?: string): QuickFix | undefined {
  if (!issue.source) return undefined;
  const span = labelSpan(lineText, issue, layout, headerLine);
  if (!span) return undefined;
  const raw = fileSpelling(newLabel, layout);
  let text = raw;
  if (span.literal) {
    // Keep the JSON type: a number label stays a number when the new one is numeric.
    const old = lineText.slice(span.start, span.end);
    text = !old.startsWith('"') && /^-?\d+(\.\d+)?$/.test(raw) ? raw : JSON.stringify(raw);
  } else if (layout.kind === 'delimited') {
    const cell = lineText.slice(span.start, span.end);
    const lead = cell.length - cell.trimStart().length;
    const trail = cell.length - cell.trimEnd().length;
    return { title: `Change label to "${newLabel}"`, edits: [{ line: issue.source.line, column: span.start + lead + 1, endLine: issue.source.line, endColumn: span.end - trail + 1, newText: needsQuotes(raw, layout) ? `"${raw.replace(/"/g, '""')}"` : raw }] };
  }
  return { title: `Change label to "${newLabel}"`, edits: [{ line: issue.source.line, column: span.start + 1, endLine: issue.source.line, endColumn: span.end + 1, newText: text }] };
}

function needsQuotes(value: string, layout: SourceLayout): boolean {
  return layout.quoting === true && (value.includes(layout.delimiter ?? ',') || value.includes('"'));
}

/** The diagnostic's text: what the model thinks, how sure, and what to do. */
export function issueMessage(issue: LabelIssue): string {
  const what = issue.word !== undefined ? `the tag of "${issue.word}"` : 'this label';
  const pct = Math.round(issue.score * 100);
  return `Likely label error (#${issue.rank}, score ${issue.score.toFixed(2)}): ${what} is "${issue.given}", but the model gives it only ${100 - pct}% and suggests "${issue.suggested}". Check the example; change the label, or mark it as reviewed.`;
}

/** Issues grouped by source file, reviewed ones and ones without a source left out, each file's highest score first. */
export function issuesByFile(issues: readonly LabelIssue[], reviewed: ReadonlySet<string>, workspaceRoot?: string): Map<string, LabelIssue[]> {
  const out = new Map<string, LabelIssue[]>();
  for (const issue of issues) {
    if (!issue.source || reviewed.has(reviewKey(issue, workspaceRoot))) continue;
    const list = out.get(issue.source.file) ?? [];
    list.push(issue);
    out.set(issue.source.file, list);
  }
  for (const list of out.values()) list.sort((a, b) => b.score - a.score);
  return out;
}

/** The worker's summary line of `label-errors`. */
export interface LabelErrorsSummary {
  readonly run: string;
  readonly file: string;
  readonly method: string;
  readonly task: string;
  readonly units: number;
  readonly flagged: number;
  readonly examples: number;
  readonly seconds: number;
}

export interface LabelErrorsOptions {
  readonly python: string;
  /** The run folder. */
  readonly run: string;
  /** Another labelled file to cross-validate (needs `folds`). */
  readonly data?: string;
  readonly folds?: number;
  /** With the run's dynamics: "mean" over epochs (default) or "first" epoch. */
  readonly probs?: 'mean' | 'first';
  readonly packageRoot: string;
  readonly signal?: AbortSignal;
  readonly onStderr?: (line: string) => void;
}

/** Runs the worker's `label-errors` (writes <run>/label_issues.jsonl); bad input rejects with EvaluationError. */
export function findLabelErrors(opts: LabelErrorsOptions): Promise<LabelErrorsSummary> {
  const args = ['label-errors', '--model', opts.run];
  if (opts.data) args.push('--data', opts.data);
  if (opts.folds !== undefined) args.push('--folds', String(opts.folds));
  if (opts.probs) args.push('--probs', opts.probs);
  return runWorkerJson<LabelErrorsSummary>(opts.python, args, opts, 'the label-error search');
}
