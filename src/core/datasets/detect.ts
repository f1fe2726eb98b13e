// Guesses a file's format, task and column mapping from its name and first bytes. The guess is
// only a default: the vscode layer shows it and asks when `confident` is false; the core readers
// always take an explicit request.

import * as path from 'node:path';
import { columnarHead, COLUMNAR_EXTENSIONS, type ColumnarFormat } from './columnar';
import { nodeEncoding, readHead, sniffEncoding, type SniffResult } from './lineReader';
import { parseQuoted } from './delimited';
import { detectTextMode } from './text';
import type { ColumnMapping, Format, FormatOptions, SplitSources, Task, TextMode } from './types';

export interface DatasetGuess {
  readonly format: Format;
  readonly task?: Task;
  readonly mapping: ColumnMapping;
  /** CSV/TSV header (indexes "0", "1"… without one), JSONL keys of the first object, CoNLL cells. */
  readonly columns?: string[];
  /** CSV/TSV and CoNLL: the cells of the first row, to show beside column choices. */
  readonly sample?: string[];
  readonly textMode?: TextMode;
  /** CSV/TSV: whether the first line is a header and whether `"` quotes fields, as detected. */
  readonly options?: Pick<FormatOptions, 'header' | 'quoting'>;
  /** JSONL classification whose first label is a list: a set of labels per example. */
  readonly multiLabel?: boolean;
  /** Plain text whose lines are `LABEL text` (e.g. TREC's `DESC:manner How …`): see labelPrefixedAdvice. */
  readonly labelPrefixed?: LabelPrefixed;
  /** True when the guess needs no question (e.g. SST-2's sentence/label). */
  readonly confident: boolean;
  readonly reason: string;
}

const TEXT_NAMES = ['sentence', 'text', 'sentence1', '#1 string', 'question1', 'premise', 'review', 'content', 'document', 'tweet', 'comment', 'text_a'];
const PAIR_NAMES = ['sentence2', '#2 string', 'question2', 'hypothesis', 'text_pair', 'text_b'];
const LABEL_NAMES = ['label', 'labels', 'quality', 'gold_label', 'class', 'category', 'target', 'sentiment', 'y'];

function pick(columns: readonly string[], names: readonly string[]): string | undefined {
  const lower = columns.map((c) => c.trim().toLowerCase());
  for (const n of names) {
    const i = lower.indexOf(n);
    if (i >= 0) return columns[i];
  }
  return undefined;
}

const TAG = /^(O|[BIES]-\S+)$/;

/**
 * The tag column of a CoNLL-like sample (counted from the end: -1 is the last), where over 90% of
 * the lines hold a tag; `last` when it is the conventional last column. Undefined if not CoNLL.
 */
function conllTagColumn(lines: readonly string[]): { column: number; last: boolean } | undefined {
  let tokenLines = 0;
  let docstart = false;
  let width = 0;
  const tagged: number[] = [];
  for (const l of lines) {
    const t = l.trim();
    if (!t) continue;
    if (t.startsWith('-DOCSTART-')) {
      docstart = true;
      continue;
    }
    tokenLines++;
    const cols = t.split(/\s+/);
    if (cols.length < 2 || cols.length > 12) continue;
    width = Math.max(width, cols.length);
    // Counted from the end, so files whose rows vary in width still line up on the tag column.
    for (let k = 0; k < cols.length - 1; k++) {
      const cell = cols[cols.length - 1 - k];
      if (TAG.test(cell)) tagged[k] = (tagged[k] ?? 0) + 1;
    }
  }
  if (tokenLines === 0) return docstart ? { column: -1, last: true } : undefined;
  // The last column is the convention (CoNLL-2003: token POS chunk NER, where chunks look like tags too).
  if ((tagged[0] ?? 0) / tokenLines > 0.9) return { column: -1, last: true };
  let best = -1;
  for (let k = 1; k < width - 1; k++) if ((tagged[k] ?? 0) / tokenLines > 0.9 && (best < 0 || (tagged[k] ?? 0) > (tagged[best] ?? 0))) best = k;
  if (best >= 0) return { column: -1 - best, last: false };
  return docstart ? { column: -1, last: true } : undefined;
}

/** Parses sample lines as CSV/TSV rows (quoted fields may span lines); the column count of each. */
function rowWidths(lines: readonly string[], delimiter: string, quoting: boolean): number[] {
  const widths: number[] = [];
  let pending: string | undefined;
  for (const l of lines) {
    if (!quoting) {
      if (l.trim()) widths.push(l.split(delimiter).length);
      continue;
    }
    const text = pending === undefined ? l : `${pending}\n${l}`;
    if (pending === undefined && !l.trim()) continue;
    const p = parseQuoted(text, delimiter);
    if (p.open) {
      pending = text;
      continue;
    }
    pending = undefined;
    widths.push(p.fields.length);
  }
  if (pending !== undefined) widths.push(-1);
  return widths;
}

/**
 * Whether `"` quotes fields: the reading under which more rows have the first row's width. GLUE
 * TSVs hold bare `"` in sentences (quoting off); a CSV with `"a, b"` fields needs it on. When both
 * read alike, quoting is on only if fields are wrapped in quotes and no quote is bare.
 */
export function guessQuoting(lines: readonly string[], delimiter: ',' | '\t'): boolean {
  const byDefault = delimiter === ',';
  if (!lines.some((l) => l.includes('"'))) return byDefault;
  const score = (q: boolean): number => {
    const w = rowWidths(lines, delimiter, q);
    return w.filter((x) => x === w[0]).length / Math.max(1, w.length);
  };
  const on = score(true);
  const off = score(false);
  if (on !== off) return on > off;
  let wrapped = 0;
  let bare = 0;
  for (const l of lines) {
    for (const f of l.split(delimiter)) {
      if (!f.includes('"')) continue;
      if (/^\s*"([^"]|"")*"\s*$/.test(f)) wrapped++;
      else bare++;
    }
  }
  return wrapped > 0 && bare === 0 ? true : bare > 0 ? false : byDefault;
}

const NUMBER = /^\s*-?\d+(\.\d+)?\s*$/;

/**
 * Whether the first row names the columns: a known column name, or a first row whose cells are
 * all short non-numbers while some column below holds numbers or much longer text.
 */
export function guessHeader(rows: readonly (readonly string[])[]): boolean {
  const [first, ...rest] = rows;
  if (!first || rest.length === 0) return true;
  const known = classificationMapping(first).mapping;
  if (known.text !== undefined || known.label !== undefined) return true;
  if (first.some((c) => NUMBER.test(c) || c.trim().length > 40 || !c.trim())) return false;
  for (let i = 0; i < first.length; i++) {
    const below = rest.map((r) => r[i] ?? '');
    if (below.length && below.every((c) => NUMBER.test(c))) return true;
    const mean = below.reduce((n, c) => n + c.length, 0) / below.length;
    if (mean > 3 * Math.max(8, first[i].length)) return true;
  }
  return false;
}

export function classificationMapping(columns: readonly string[]): { mapping: ColumnMapping; confident: boolean } {
  const text = pick(columns, TEXT_NAMES);
  const pair = pick(columns, PAIR_NAMES);
  const label = pick(columns, LABEL_NAMES);
  return { mapping: { text, textPair: pair, label }, confident: text !== undefined && label !== undefined };
}

/** The decoded first 64 KiB of a file, split into lines (a line cut by the sample's end dropped). */
export async function sampleLines(file: string): Promise<{ text: string; lines: string[]; sniff: SniffResult }> {
  const head = await readHead(file);
  const sniff = sniffEncoding(head);
  let text = head.toString(nodeEncoding(sniff.encoding));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\n|\r/);
  if (head.length >= 64 * 1024) lines.pop();
  return { text, lines, sniff };
}

/** Where a `LABEL text` line layout was seen: the first such line and its label. */
export interface LabelPrefixed {
  readonly line: number;
  readonly label: string;
  readonly example: string;
  /** TREC-style `COARSE:fine` labels. */
  readonly fine: boolean;
}

const PREFIX_LABEL = /^(__label__\S+|[A-Za-z][\w-]*:[\w-]+)[ \t]+\S/;
const UPPER_LABEL = /^([A-Z][A-Z0-9_-]*|[-+]?\d+)[ \t]+\S/;

/**
 * Lines that are a label, a space, then the text: `DESC:manner How did …` (TREC), `__label__pos
 * great film` (fastText), or a small set of upper-case or numeric first words (`POS great film`).
 */
export function labelPrefixedLines(lines: readonly string[]): LabelPrefixed | undefined {
  const rows = lines.map((l, i) => ({ l, i })).filter((r) => r.l.trim());
  if (rows.length < 3 || rows.some((r) => r.l.includes('\t'))) return undefined;
  const found = (re: RegExp): LabelPrefixed => {
    const r = rows[0];
    const label = re.exec(r.l)?.[1] ?? '';
    return { line: r.i + 1, label, example: r.l.length > 70 ? `${r.l.slice(0, 67)}…` : r.l, fine: /^[A-Za-z][\w-]*:/.test(label) && !label.startsWith('__label__') };
  };
  if (rows.filter((r) => PREFIX_LABEL.test(r.l)).length >= 0.9 * rows.length && PREFIX_LABEL.test(rows[0].l)) return found(PREFIX_LABEL);
  const firsts = rows.map((r) => UPPER_LABEL.exec(r.l)?.[1]);
  if (firsts.every((f) => f !== undefined)) {
    const distinct = new Set(firsts);
    if (distinct.size >= 2 && distinct.size <= Math.min(50, rows.length / 3)) return found(UPPER_LABEL);
  }
  return undefined;
}

/** What to do with a label-prefixed file: the same words wherever it is met (validate, import, a wrong --format). */
export function labelPrefixedAdvice(lp: LabelPrefixed, file: string): string {
  const base = path.basename(file);
  return (
    `Each line is a label, a space, then the text (line ${lp.line}: "${lp.example}", label "${lp.label}"). ` +
    `Import it as label-prefixed lines: bert-studio dataset import "${base}" --label-prefixed (in the editor: "Label-prefixed lines" when the import asks).` +
    (lp.fine ? ` For the coarse class only, add --coarse-labels to keep "${lp.label.split(':')[0]}" of "${lp.label}".` : '')
  );
}

/**
 * What a file's content looks like, whatever its name says: a SQuAD document, JSON Lines, CoNLL
 * token lines, label-prefixed lines, TSV or CSV rows; undefined for free text (or too little to tell).
 */
export function sniffLayout(text: string, lines: readonly string[]): Format | 'label-prefixed' | undefined {
  const rows = lines.filter((l) => l.trim());
  if (rows.length === 0) return undefined;
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && /"data"\s*:/.test(trimmed.slice(0, 4096)) && /"paragraphs"|"qas"/.test(trimmed) && !/^\{.*\}\s*$/.test(rows[0])) return 'squad';
  // Broken JSON lines still start with `{`.
  if (rows.filter((l) => /^\s*[{[]/.test(l)).length >= 0.9 * rows.length && rows.some((l) => /^\s*\{.*\}\s*$/.test(l))) return 'jsonl';
  if (rows.length >= 2 && conllTagColumn(lines.slice(0, 200))) return 'conll';
  if (labelPrefixedLines(lines.slice(0, 200))) return 'label-prefixed';
  if (delimitedConsistent(lines, '\t')) return 'tsv';
  if (delimitedConsistent(lines, ',')) return 'csv';
  return undefined;
}

/** Whether most sample lines split on `delimiter` into the first row's width (more than one column). */
export function delimitedConsistent(lines: readonly string[], delimiter: ',' | '\t'): boolean {
  const rows = lines.filter((l) => l.trim());
  if (rows.length === 0 || rows.filter((l) => l.includes(delimiter)).length < 0.9 * rows.length) return false;
  const sample = lines.slice(0, 200);
  const w = rowWidths(sample, delimiter, guessQuoting(sample, delimiter));
  return w.length > 0 && w[0] > 1 && w.filter((x) => x === w[0]).length >= 0.8 * w.length;
}

/** JSON Lines objects and Parquet/Arrow rows: the task and mapping from the first example's keys. */
function objectGuess(first: Record<string, unknown>, format: 'jsonl' | ColumnarFormat): DatasetGuess {
  const keys = Object.keys(first);
  const has = (k: string): boolean => keys.includes(k);
  if ((has('tokens') || has('words')) && (has('tags') || has('ner_tags'))) {
    return { format, task: 'token_classification', mapping: { tokens: has('tokens') ? 'tokens' : 'words', tags: has('tags') ? 'tags' : 'ner_tags' }, columns: keys, confident: true, reason: 'tokens and tags fields' };
  }
  if (has('context') && has('question')) {
    return { format, task: 'question_answering', mapping: { context: 'context', question: 'question', answers: 'answers' }, columns: keys, confident: true, reason: 'context and question fields' };
  }
  if (has('sentences')) return { format, task: 'mlm', mapping: {}, columns: keys, confident: false, reason: 'a sentences field (pretraining)' };
  const { mapping, confident } = classificationMapping(keys);
  const multiLabel = mapping.label !== undefined && Array.isArray(first[String(mapping.label)]);
  return {
    format,
    task: 'sequence_classification',
    mapping,
    columns: keys,
    ...(multiLabel ? { multiLabel } : {}),
    confident,
    reason: confident ? `text and ${multiLabel ? 'label-list (multi-label)' : 'label'} fields` : 'no obvious text/label fields',
  };
}

export async function guessDataset(file: string): Promise<DatasetGuess> {
  const columnar = COLUMNAR_EXTENSIONS[path.extname(file).toLowerCase()];
  if (columnar) return objectGuess((await columnarHead(file, columnar)).first, columnar);
  const { text, lines } = await sampleLines(file);
  const ext = path.extname(file).toLowerCase();
  const firstLine = lines.find((l) => l.trim()) ?? '';

  if (ext === '.csv' || ext === '.tsv') {
    const delimiter = ext === '.csv' ? ',' : '\t';
    const quoting = guessQuoting(lines.slice(0, 200), delimiter);
    const rows = lines.slice(0, 50).filter((l) => l.trim()).map((l) => (quoting ? parseQuoted(l, delimiter).fields : l.split(delimiter)).map((c) => c.trim()));
    const header = guessHeader(rows);
    const first = rows[0] ?? [];
    // Without a header the columns are named by index (sample text shown in the picker).
    const columns = header ? first : first.map((_, i) => String(i));
    const { mapping, confident } = classificationMapping(header ? columns : []);
    const isTestLike = mapping.text !== undefined && mapping.label === undefined;
    return {
      format: ext === '.csv' ? 'csv' : 'tsv',
      task: 'sequence_classification',
      mapping,
      columns,
      sample: first,
      options: { header, quoting },
      confident: confident || isTestLike,
      reason: confident
        ? `columns ${JSON.stringify(mapping.text)}${mapping.textPair ? ` + ${JSON.stringify(mapping.textPair)}` : ''} → ${JSON.stringify(mapping.label)}`
        : header ? 'no obvious text/label columns' : 'no header row',
    };
  }
  const trimmed = text.trimStart();
  if (ext === '.json' && trimmed.startsWith('{') && /"data"\s*:/.test(trimmed.slice(0, 4096)) && /"paragraphs"|"qas"/.test(trimmed)) {
    return { format: 'squad', task: 'question_answering', mapping: {}, confident: true, reason: 'SQuAD layout (data → paragraphs → qas)' };
  }
  if (ext === '.jsonl' || ext === '.ndjson' || (ext === '.json' && trimmed.startsWith('{'))) {
    let first: Record<string, unknown> = {};
    try {
      first = JSON.parse(firstLine) as Record<string, unknown>;
    } catch {
      // An unparsable first line: validation will say where.
    }
    return objectGuess(first, 'jsonl');
  }
  const conll = conllTagColumn(lines.slice(0, 200));
  if (conll || ext === '.conll' || ext === '.iob' || ext === '.bio') {
    const tags = conll?.column ?? -1;
    const where = tags === -1 ? 'the last column' : `column ${tags} from the end`;
    const sample = lines.find((l) => l.trim() && !l.startsWith('-DOCSTART-'))?.trim().split(/\s+/) ?? [];
    return { format: 'conll', task: 'token_classification', mapping: { tokens: 0, tags }, columns: sample.map((_, i) => String(i)), sample, confident: conll?.last ?? false, reason: `token-per-line with tags in ${where}` };
  }
  const textMode = detectTextMode(lines.slice(0, 2000).join('\n'));
  const labelPrefixed = labelPrefixedLines(lines.slice(0, 200));
  if (labelPrefixed) {
    return { format: 'text', task: 'mlm', mapping: {}, textMode, labelPrefixed, confident: false, reason: `plain text whose lines start with a label ("${labelPrefixed.label}"): classification data, see the warning` };
  }
  return { format: 'text', task: 'mlm', mapping: {}, textMode, confident: false, reason: `plain text (${textMode})` };
}

const DEV_NAME = /(^|[-_.])(dev|valid|validation|val|testa)([-_.]|$)/i;
const TEST_NAME = /(^|[-_.])(test|testb)([-_.]|$)/i;

/** Sorts selected files into splits by name: dev/valid → validation, test → test, the rest train. */
export function splitsFromNames(files: readonly string[]): Partial<SplitSources> {
  const out: { train?: string; validation?: string; test?: string } = {};
  for (const f of files) {
    const b = path.basename(f, path.extname(f));
    if (DEV_NAME.test(b) && !out.validation) out.validation = f;
    else if (TEST_NAME.test(b) && !out.test) out.test = f;
    else if (!out.train) out.train = f;
  }
  return out;
}

