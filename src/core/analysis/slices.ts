// Metrics per slice of an evaluation (the dashboard's Slices section): by length bucket, by gold
// label (token classification: by entity type in the gold tags), by a keyword or regular expression
// the user types, and flagged as a likely label error or not (NER: a sentence with a flagged word).
// NER slices also get entity precision, recall and F1 (seqeval's: exact span and type, spans by
// entityChunks) and token accuracy. Computed from an evaluation's predictions.jsonl (`bert-studio
// evaluate`, "Evaluate on…"), the one file with every example's text, gold and prediction; the
// validation eval event keeps only up to 50 misclassified examples, so from it only the by-label
// slice is exact (its confusion matrix). No `vscode` import.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { entityChunks } from '../inference/postprocess';
import { EVALUATIONS_DIR } from '../runs/evaluate';
import type { LabelIssue } from './labelIssues';

export const PREDICTIONS_FILE = 'predictions.jsonl';
/** The longest pattern accepted, and the longest text a regular expression is run on. */
export const MAX_PATTERN = 200;
export const MAX_MATCH_TEXT = 5000;

/** One row of predictions.jsonl (sequence classification; multi-label gold and pred are lists). */
export interface PredictionRow {
  readonly index: number;
  readonly text: string;
  readonly text_pair?: string;
  readonly gold: string | readonly string[];
  readonly pred: string | readonly string[];
  readonly correct: boolean;
  readonly source: { readonly file: string; readonly line: number } | null;
}

/** One row of a token-classification predictions.jsonl: a sentence, one gold and one predicted tag per word. */
export interface NerPredictionRow {
  readonly index: number;
  /** The words joined by spaces. */
  readonly text: string;
  readonly tokens: readonly string[];
  readonly gold: readonly string[];
  readonly pred: readonly string[];
  /** Every tag right. */
  readonly correct: boolean;
  readonly source: { readonly file: string; readonly line: number } | null;
}

export type SliceSourceRow = PredictionRow | NerPredictionRow;

function isNerPrediction(v: unknown): v is NerPredictionRow {
  const o = v as Record<string, unknown>;
  const tags = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  const src = o?.source as Record<string, unknown> | null | undefined;
  return !!o && typeof o === 'object' && Number.isInteger(o.index) && typeof o.text === 'string' && tags(o.tokens) && tags(o.gold) && tags(o.pred)
    && o.gold.length === o.tokens.length && o.pred.length === o.tokens.length && typeof o.correct === 'boolean'
    && (src === null || src === undefined || (typeof src === 'object' && typeof src.file === 'string' && Number.isInteger(src.line)));
}

function isPrediction(v: unknown): v is PredictionRow {
  const o = v as Record<string, unknown>;
  const label = (x: unknown): boolean => typeof x === 'string' || (Array.isArray(x) && x.every((s) => typeof s === 'string'));
  const src = o?.source as Record<string, unknown> | null | undefined;
  return !!o && typeof o === 'object' && Number.isInteger(o.index) && typeof o.text === 'string' && (o.text_pair === undefined || o.text_pair === null || typeof o.text_pair === 'string')
    && label(o.gold) && label(o.pred) && typeof o.correct === 'boolean'
    && (src === null || src === undefined || (typeof src === 'object' && typeof src.file === 'string' && Number.isInteger(src.line)));
}

/** The rows of a predictions.jsonl text (a NER row has `tokens`); lines that are not predictions are counted, not kept. */
export function parsePredictions(text: string): { rows: SliceSourceRow[]; invalid: number } {
  const rows: SliceSourceRow[] = [];
  let invalid = 0;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === 'object' && 'tokens' in v) {
        if (isNerPrediction(v)) rows.push({ index: v.index, text: v.text, tokens: v.tokens, gold: v.gold, pred: v.pred, correct: v.correct, source: v.source ?? null });
        else invalid++;
      } else if (isPrediction(v)) rows.push({ index: v.index, text: v.text, ...(typeof v.text_pair === 'string' ? { text_pair: v.text_pair } : {}), gold: v.gold, pred: v.pred, correct: v.correct, source: v.source ?? null });
      else invalid++;
    } catch {
      invalid++;
    }
  }
  return { rows, invalid };
}

export interface EvaluationFile {
  /** The evaluation's name (its folder under evaluations/). */
  readonly name: string;
  readonly file: string;
  readonly mtimeMs: number;
}

/** The run's evaluations that have predictions.jsonl, newest first. */
export async function listPredictionFiles(runDir: string): Promise<EvaluationFile[]> {
  const dir = path.join(runDir, EVALUATIONS_DIR);
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const out: EvaluationFile[] = [];
  for (const name of names) {
    const file = path.join(dir, name, PREDICTIONS_FILE);
    try {
      const st = await fs.promises.stat(file);
      if (st.isFile()) out.push({ name, file, mtimeMs: st.mtimeMs });
    } catch {
      // No predictions (a task without per-example predictions, or an evaluation that failed): not a slice source.
    }
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs || a.name.localeCompare(b.name));
}

export type PatternMode = 'keyword' | 'regex';

export type PatternCheck = { readonly ok: true; readonly test: (text: string) => boolean } | { readonly ok: false; readonly message: string };

/**
 * A nested quantifier such as (a+)+ or (\w*)*: the shape whose backtracking can take exponential
 * time in JavaScript's regex engine, which would freeze the extension host.
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,\d*\})/;

/** The user's keyword (case-insensitive substring) or regular expression (case-insensitive), checked. */
export function checkPattern(input: string, mode: PatternMode): PatternCheck {
  const pattern = input.trim();
  if (!pattern) return { ok: false, message: `Type a ${mode === 'regex' ? 'regular expression' : 'keyword'} to slice by.` };
  if (pattern.length > MAX_PATTERN) return { ok: false, message: `The ${mode === 'regex' ? 'regular expression' : 'keyword'} is ${pattern.length} characters long; use at most ${MAX_PATTERN}.` };
  if (mode === 'keyword') {
    const needle = pattern.toLocaleLowerCase();
    return { ok: true, test: (text) => text.toLocaleLowerCase().includes(needle) };
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'iu');
  } catch (err) {
    const why = String((err as Error).message ?? err).replace(/^Invalid regular expression: /, '');
    return { ok: false, message: `"${pattern}" is not a valid regular expression (${why}). Escape special characters such as ( [ + * ? with \\, or choose Keyword to match the text as typed.` };
  }
  if (NESTED_QUANTIFIER.test(pattern)) {
    return { ok: false, message: `"${pattern}" repeats a group that itself repeats (like (a+)+), which can take exponential time. Remove the outer or the inner repetition.` };
  }
  return { ok: true, test: (text) => re.test(text.length > MAX_MATCH_TEXT ? text.slice(0, MAX_MATCH_TEXT) : text) };
}

/** Length buckets in words (runs of non-space characters, text and text pair together), upper bounds inclusive. */
export const LENGTH_BUCKETS = [5, 10, 20, 40, 80] as const;
export const LENGTH_UNIT = 'words';

export function wordCount(row: Pick<PredictionRow, 'text' | 'text_pair'>): number {
  const count = (s: string | undefined): number => (s ? (s.match(/\S+/gu)?.length ?? 0) : 0);
  return count(row.text) + count(row.text_pair);
}

export function lengthBucket(words: number): string {
  let lo = 0;
  for (const hi of LENGTH_BUCKETS) {
    if (words <= hi) return lo === 0 ? `≤ ${hi} ${LENGTH_UNIT}` : `${lo + 1}–${hi} ${LENGTH_UNIT}`;
    lo = hi;
  }
  return `> ${lo} ${LENGTH_UNIT}`;
}

/**
 * Token classification: a slice's entities (seqeval's: a predicted entity is right when a gold one
 * has its type, first and last word) and words. A figure whose denominator is 0 is null; F1 is 0
 * (as seqeval's) when there are entities but none is matched.
 */
export interface EntityFigures {
  readonly gold: number;
  readonly predicted: number;
  readonly matched: number;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly words: number;
  readonly correctWords: number;
  readonly tokenAccuracy: number | null;
}

export interface SliceRow {
  readonly name: string;
  /** Examples (NER: sentences). */
  readonly count: number;
  /** Examples predicted right (NER: sentences with every tag right). */
  readonly correct: number;
  /** correct / count; null for an empty slice. */
  readonly accuracy: number | null;
  /** Token classification: the slice's entity figures and token accuracy. */
  readonly entities?: EntityFigures;
}

export interface SliceReport {
  /** The evaluation the slices come from. */
  readonly evaluation: string;
  readonly examples: number;
  readonly accuracy: number | null;
  /** Token classification: the slices are of sentences, by entity type in the gold tags, with entity figures. */
  readonly task?: 'token_classification';
  /** Token classification: the whole evaluation's entity figures (seqeval's precision, recall and F1). */
  readonly entities?: EntityFigures;
  readonly lengthUnit: typeof LENGTH_UNIT;
  readonly byLength: SliceRow[];
  readonly byLabel: SliceRow[];
  readonly pattern?: { readonly input: string; readonly mode: PatternMode; readonly matching: SliceRow; readonly rest: SliceRow };
  /** With the run's label_issues.jsonl: its issues that are examples of this evaluation (by source line, else text and label). */
  readonly flagged?: { readonly issues: number; readonly flagged: SliceRow; readonly rest: SliceRow };
}

/** A sentence's entity and word counts. */
interface SentenceCounts {
  readonly gold: number;
  readonly predicted: number;
  readonly matched: number;
  readonly words: number;
  readonly correctWords: number;
}

export function sentenceCounts(row: Pick<NerPredictionRow, 'gold' | 'pred'>): SentenceCounts {
  const key = (c: { type: string; start: number; end: number }): string => `${c.type}\u0000${c.start}\u0000${c.end}`;
  const gold = new Set(entityChunks(row.gold).map(key));
  const predicted = entityChunks(row.pred).map(key);
  let correctWords = 0;
  row.gold.forEach((t, i) => {
    if (row.pred[i] === t) correctWords++;
  });
  return { gold: gold.size, predicted: predicted.length, matched: predicted.filter((k) => gold.has(k)).length, words: row.gold.length, correctWords };
}

function entityFigures(c: SentenceCounts): EntityFigures {
  const precision = c.predicted ? c.matched / c.predicted : null;
  const recall = c.gold ? c.matched / c.gold : null;
  const f1 = c.gold + c.predicted === 0 ? null : precision && recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { gold: c.gold, predicted: c.predicted, matched: c.matched, precision, recall, f1, words: c.words, correctWords: c.correctWords, tokenAccuracy: c.words ? c.correctWords / c.words : null };
}

class Tally {
  count = 0;
  correct = 0;
  private ner: { gold: number; predicted: number; matched: number; words: number; correctWords: number } | undefined;
  add(ok: boolean, counts?: SentenceCounts): void {
    this.count++;
    if (ok) this.correct++;
    if (counts) {
      const n = (this.ner ??= { gold: 0, predicted: 0, matched: 0, words: 0, correctWords: 0 });
      n.gold += counts.gold;
      n.predicted += counts.predicted;
      n.matched += counts.matched;
      n.words += counts.words;
      n.correctWords += counts.correctWords;
    }
  }
  row(name: string, ner = false): SliceRow {
    const counts = this.ner ?? (ner ? { gold: 0, predicted: 0, matched: 0, words: 0, correctWords: 0 } : undefined);
    return { name, count: this.count, correct: this.correct, accuracy: this.count ? this.correct / this.count : null, ...(counts ? { entities: entityFigures(counts) } : {}) };
  }
}

/** A NER sentence without gold entities, in the by-entity-type slice. */
export const NO_ENTITIES = '(no entities)';

function labelsOf(row: SliceSourceRow): readonly string[] {
  if ('tokens' in row) {
    const types = [...new Set(entityChunks(row.gold).map((c) => c.type))];
    return types.length ? types : [NO_ENTITIES];
  }
  const gold = row.gold;
  return typeof gold === 'string' ? [gold] : gold.length ? gold : ['(none)'];
}

function sourceKey(file: string, line: number): string {
  return `${path.resolve(file)}:${line}`;
}

/**
 * Which rows the label issues flag: the same source line, or (without sources) the same text and
 * given label. A NER sentence is flagged by an issue on one of its words: at the sentence's line
 * (JSONL: one sentence a line) or that line plus the word's index (CoNLL: one word a line), else
 * (without sources) by the same words with that word and its given tag.
 */
export function flaggedRows(rows: readonly SliceSourceRow[], issues: readonly LabelIssue[]): Set<number> {
  const bySource = new Set<string>();
  const byText = new Set<string>();
  const wordsBySource = new Map<string, number[]>();
  const wordsByText = new Set<string>();
  for (const i of issues) {
    if (i.word !== undefined && i.token !== undefined) {
      if (i.source) {
        const key = sourceKey(i.source.file, i.source.line);
        wordsBySource.set(key, [...(wordsBySource.get(key) ?? []), i.token]);
      } else wordsByText.add(`${i.token}\u0000${i.word}\u0000${i.given}\u0000${i.text}`);
    } else if (i.word === undefined) {
      if (i.source) bySource.add(sourceKey(i.source.file, i.source.line));
      else byText.add(`${i.given}\u0000${i.text}`);
    }
  }
  const out = new Set<number>();
  rows.forEach((r, k) => {
    if ('tokens' in r) {
      const src = r.source;
      const viaSource = !!src && wordsBySource.size > 0 && (wordsBySource.has(sourceKey(src.file, src.line))
        || r.tokens.some((_, w) => w > 0 && (wordsBySource.get(sourceKey(src.file, src.line + w)) ?? []).includes(w)));
      const viaText = wordsByText.size > 0 && r.tokens.some((word, w) => wordsByText.has(`${w}\u0000${word}\u0000${r.gold[w]}\u0000${r.text}`));
      if (viaSource || viaText) out.add(k);
      return;
    }
    const viaSource = r.source ? bySource.has(sourceKey(r.source.file, r.source.line)) : false;
    const viaText = typeof r.gold === 'string' && byText.has(`${r.gold}\u0000${r.text}`);
    if (viaSource || viaText) out.add(k);
  });
  return out;
}

export interface SliceOptions {
  readonly evaluation: string;
  readonly pattern?: { readonly input: string; readonly mode: PatternMode; readonly test: (text: string) => boolean };
  readonly issues?: readonly LabelIssue[];
}

/**
 * Accuracy per slice of the rows (NER: also entity figures and token accuracy, by entity type in the
 * gold tags instead of label); buckets and labels without examples are left out.
 */
export function computeSlices(rows: readonly SliceSourceRow[], opts: SliceOptions): SliceReport {
  const all = new Tally();
  const length = new Map<number, Tally>();
  const label = new Map<string, Tally>();
  const match = new Tally();
  const rest = new Tally();
  const flagged = opts.issues ? flaggedRows(rows, opts.issues) : undefined;
  const isFlagged = new Tally();
  const notFlagged = new Tally();
  const ner = rows.length > 0 && rows.every((r) => 'tokens' in r);
  rows.forEach((r, k) => {
    const counts = 'tokens' in r ? sentenceCounts(r) : undefined;
    all.add(r.correct, counts);
    const words = 'tokens' in r ? r.tokens.length : wordCount(r);
    const b = LENGTH_BUCKETS.findIndex((hi) => words <= hi);
    const bucket = b < 0 ? LENGTH_BUCKETS.length : b;
    if (!length.has(bucket)) length.set(bucket, new Tally());
    length.get(bucket)?.add(r.correct, counts);
    for (const l of labelsOf(r)) {
      if (!label.has(l)) label.set(l, new Tally());
      label.get(l)?.add(r.correct, counts);
    }
    if (opts.pattern) {
      const text = 'text_pair' in r && r.text_pair ? `${r.text}\n${r.text_pair}` : r.text;
      (opts.pattern.test(text) ? match : rest).add(r.correct, counts);
    }
    if (flagged) (flagged.has(k) ? isFlagged : notFlagged).add(r.correct, counts);
  });
  const bucketName = (i: number): string => lengthBucket(i < LENGTH_BUCKETS.length ? LENGTH_BUCKETS[i] : LENGTH_BUCKETS[LENGTH_BUCKETS.length - 1] + 1);
  return {
    evaluation: opts.evaluation,
    examples: all.count,
    accuracy: all.row('all').accuracy,
    ...(ner ? { task: 'token_classification' as const, entities: all.row('all', true).entities } : {}),
    lengthUnit: LENGTH_UNIT,
    byLength: [...length.entries()].sort((a, b) => a[0] - b[0]).map(([i, t]) => t.row(bucketName(i))),
    byLabel: [...label.entries()].sort((a, b) => (a[0] === NO_ENTITIES ? 1 : 0) - (b[0] === NO_ENTITIES ? 1 : 0) || a[0].localeCompare(b[0])).map(([l, t]) => t.row(l)),
    ...(opts.pattern ? { pattern: { input: opts.pattern.input, mode: opts.pattern.mode, matching: match.row(`matching ${opts.pattern.mode === 'regex' ? `/${opts.pattern.input}/i` : `"${opts.pattern.input}"`}`, ner), rest: rest.row('not matching', ner) } } : {}),
    ...(flagged && opts.issues ? { flagged: { issues: opts.issues.length, flagged: isFlagged.row(ner ? 'with a flagged word' : 'flagged as likely label errors', ner), rest: notFlagged.row('not flagged', ner) } } : {}),
  };
}

/** The by-label slice of an evaluation from its confusion matrix (rows gold, columns predicted): exact without per-example predictions. */
export function labelSlicesFromConfusion(confusion: { readonly labels: readonly string[]; readonly matrix: readonly (readonly number[])[] }): SliceRow[] {
  return confusion.labels.map((name, i) => {
    const row = confusion.matrix[i] ?? [];
    const count = row.reduce((a, b) => a + b, 0);
    const correct = row[i] ?? 0;
    return { name, count, correct, accuracy: count ? correct / count : null };
  });
}
