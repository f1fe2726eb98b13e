// Shapes shared by the dataset readers, the snapshot writer, the statistics and the vscode layer.
// The canonical records mirror DESIGN.md ("Dataset snapshot"); the Python worker reads them.

import type { Task } from '../runs/protocol';

export type { Task };

import type { LabelPrefixOptions } from './labelPrefixed';

export const FORMATS = ['csv', 'tsv', 'jsonl', 'conll', 'squad', 'text', 'parquet', 'arrow'] as const;
export type Format = (typeof FORMATS)[number];

import { SPLITS, type SplitName } from '../../shared/datasetStats';

export { SPLITS, type SplitName };

export interface SourceRef {
  readonly file: string;
  readonly line: number;
}

export interface ClassificationRecord {
  readonly text: string;
  readonly text_pair?: string;
  /** Absent only in an unlabelled test split; a list of labels (possibly empty) when multi-label. */
  readonly label?: string | string[];
  readonly source: SourceRef;
}
export interface TokenRecord {
  readonly tokens: string[];
  readonly tags: string[];
  readonly source: SourceRef;
}
export interface QaAnswer {
  readonly text: string;
  readonly answer_start: number;
}
export interface QaRecord {
  readonly id: string;
  readonly title?: string;
  readonly context: string;
  readonly question: string;
  readonly answers: QaAnswer[];
  readonly source: SourceRef;
}
export interface PretrainRecord {
  readonly sentences: string[];
  readonly source: SourceRef;
}
export type CanonicalRecord = ClassificationRecord | TokenRecord | QaRecord | PretrainRecord;

/**
 * Which columns or fields hold what. Columns are header names or 0-based indexes (a negative
 * index counts from the end, for CoNLL's "tag is the last column").
 */
export interface ColumnMapping {
  readonly text?: string | number;
  readonly textPair?: string | number;
  readonly label?: string | number;
  /** CoNLL / JSONL token classification. */
  readonly tokens?: string | number;
  readonly tags?: string | number;
  /** JSONL question answering. */
  readonly context?: string;
  readonly question?: string;
  readonly answers?: string;
  readonly id?: string;
  readonly title?: string;
}

export type TextMode = 'sentences' | 'documents' | 'wikitext';
export type TagScheme = 'iob2' | 'iob1';

export interface FormatOptions {
  /** CSV/TSV: first line names the columns (default true). */
  readonly header?: boolean;
  /** CSV/TSV: honour `"` quoting (default: on for CSV, off for TSV, as GLUE needs). */
  readonly quoting?: boolean;
  /** Plain text: how documents are delimited (default: detected). */
  readonly textMode?: TextMode;
  /** CoNLL: IOB2 (every entity starts with B-, the default) or IOB1. */
  readonly tagScheme?: TagScheme;
  /** Longest line accepted, in bytes; longer lines are reported and skipped (default 4 MiB). */
  readonly maxLineBytes?: number;
  /** Plain text as `LABEL text` lines for sequence classification (fastText, TREC): see labelPrefixed.ts. */
  readonly labelPrefix?: LabelPrefixOptions;
}

export interface SplitSources {
  readonly train: string;
  readonly validation?: string;
  readonly test?: string;
}

/** What to read and how: the core API always takes an explicit, complete request. */
export interface DatasetRequest {
  readonly task: Task;
  readonly format: Format;
  readonly files: SplitSources;
  readonly mapping: ColumnMapping;
  readonly options?: FormatOptions;
  /** Known labels (classification) or tags (NER); others are reported. */
  readonly labels?: readonly string[];
  /**
   * Sequence classification with a set of labels per example: a JSONL label is a list of strings,
   * a CSV/TSV label cell holds labels separated by `labelDelimiter`.
   */
  readonly multiLabel?: boolean;
  /** CSV/TSV multi-label cells: what separates the labels (default "|"). */
  readonly labelDelimiter?: string;
  /** Classification: label as written in the file → the name the snapshot (and the model's id2label) uses. */
  readonly labelNames?: Readonly<Record<string, string>>;
  /** Without a validation file: carve one out of train with this seeded split. */
  readonly seededSplit?: { readonly validationFraction: number; readonly testFraction?: number; readonly seed: number };
}

export type Severity = 'error' | 'warning' | 'info';

export interface TextEdit {
  /** 1-based lines and columns (UTF-16 code units), end exclusive. */
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly newText: string;
}

export interface QuickFix {
  readonly title: string;
  readonly edits: readonly TextEdit[];
}

export interface DatasetDiagnostic {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
  readonly endLine?: number;
  readonly endColumn?: number;
  readonly severity: Severity;
  readonly code: ProblemCode;
  /** Says what is wrong and how to fix it. */
  readonly message: string;
  readonly fix?: QuickFix;
}

export const PROBLEM_CODES = [
  'file.empty',
  'file.binary',
  'file.unreadable',
  'encoding.latin1',
  'encoding.invalidUtf8',
  'encoding.utf16',
  'encoding.gb18030',
  'newline.mixed',
  'newline.cr',
  'text.nul',
  'format.mismatch',
  'line.tooLong',
  'row.columnCount',
  'row.unterminatedQuote',
  'header.missingColumn',
  'text.empty',
  'label.missing',
  'label.prefix',
  'label.several',
  'label.unknown',
  'label.tooMany',
  'label.emptyItem',
  'label.duplicate',
  'label.list',
  'label.nearDuplicate',
  'tag.invalid',
  'tag.iobStart',
  'tag.unknown',
  'tokens.mismatch',
  'sentence.tooLong',
  'json.syntax',
  'json.truncated',
  'json.shape',
  'squad.answerStart',
  'squad.answerMissing',
  'squad.duplicateId',
  'question.empty',
  'document.tooLong',
  'example.duplicate',
  'qa.sharedContext',
  'nsp.fewDocuments',
  'split.empty',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

export type Encoding = 'utf-8' | 'utf-8-bom' | 'latin-1';
export type Newline = 'lf' | 'crlf' | 'cr' | 'mixed' | 'none';

export interface FileFacts {
  readonly bytes: number;
  readonly sha256: string;
  readonly encoding: Encoding;
  readonly newline: Newline;
  readonly lines: number;
}

export interface SplitCounts {
  /** Examples kept: rows, sentences, questions or documents. */
  examples: number;
  /** Examples dropped because of errors. */
  skipped: number;
  /** CoNLL: tokens; text corpora: sentences or lines. */
  tokens?: number;
  /** CoNLL -DOCSTART- documents, SQuAD articles, text-corpus documents. */
  documents?: number;
  /** SQuAD: paragraphs and answer annotations. */
  paragraphs?: number;
  answers?: number;
  /** Label (classification) or tag (NER) distribution; entity types for NER. */
  labels?: Record<string, number>;
  entities?: Record<string, number>;
  /** Multi-label: examples by how many labels they have ("0", "1", "2", …). */
  labelsPerExample?: Record<string, number>;
}

export interface FileReport {
  readonly split: SplitName;
  readonly file: string;
  facts?: FileFacts;
  readonly counts: SplitCounts;
  /** Diagnostics kept (capped); `problems` counts every one by code. */
  readonly diagnostics: DatasetDiagnostic[];
  readonly problems: Partial<Record<ProblemCode, number>>;
  errors: number;
  warnings: number;
  /** A problem that stopped reading (binary file, JSON syntax): no snapshot is written. */
  fatal?: string;
}

export interface ValidationReport {
  readonly task: Task;
  readonly format: Format;
  readonly files: FileReport[];
  /** Examples per split after any seeded split. */
  readonly splits: Partial<Record<SplitName, SplitCounts>>;
  readonly labels?: string[];
  readonly errors: number;
  readonly warnings: number;
}

export interface ProgressInfo {
  readonly file: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ProgressInfo) => void;
  /** Diagnostics kept per file (default 1000); the counts are always complete. */
  readonly maxDiagnosticsPerFile?: number;
}

export class AbortError extends Error {
  constructor(message = 'The operation was cancelled.') {
    super(message);
    this.name = 'AbortError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError();
}
