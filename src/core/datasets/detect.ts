// Guesses a file's format, task and column mapping from its name and first bytes. The guess is
// only a default: the vscode layer shows it and asks when `confident` is false; the core readers
// always take an explicit request.

import * as path from 'node:path';
import { nodeEncoding, readHead, sniffEncoding } from './lineReader';
import { parseQuoted } from './delimited';
import { detectTextMode } from './text';
import type { ColumnMapping, Format, SplitSources, Task, TextMode } from './types';

export interface DatasetGuess {
  readonly format: Format;
  readonly task?: Task;
  readonly mapping: ColumnMapping;
  /** CSV/TSV header, or JSONL keys of the first object. */
  readonly columns?: string[];
  readonly textMode?: TextMode;
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

function looksLikeConll(lines: readonly string[]): boolean {
  let tokenLines = 0;
  let tagged = 0;
  for (const l of lines) {
    const t = l.trim();
    if (!t) continue;
    if (t.startsWith('-DOCSTART-')) return true;
    const cols = t.split(/\s+/);
    tokenLines++;
    if (cols.length >= 2 && cols.length <= 12 && TAG.test(cols[cols.length - 1])) tagged++;
  }
  return tokenLines > 0 && tagged / tokenLines > 0.9;
}

export function classificationMapping(columns: readonly string[]): { mapping: ColumnMapping; confident: boolean } {
  const text = pick(columns, TEXT_NAMES);
  const pair = pick(columns, PAIR_NAMES);
  const label = pick(columns, LABEL_NAMES);
  return { mapping: { text, textPair: pair, label }, confident: text !== undefined && label !== undefined };
}

export async function guessDataset(file: string): Promise<DatasetGuess> {
  const head = await readHead(file);
  const sniff = sniffEncoding(head);
  let text = head.toString(nodeEncoding(sniff.encoding));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Drop a line cut off by the sample's end.
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (head.length >= 64 * 1024) lines.pop();
  const ext = path.extname(file).toLowerCase();
  const firstLine = lines.find((l) => l.trim()) ?? '';

  if (ext === '.csv' || ext === '.tsv') {
    const delimiter = ext === '.csv' ? ',' : '\t';
    const columns = ext === '.csv' ? parseQuoted(firstLine, ',').fields.map((c) => c.trim()) : firstLine.split(delimiter).map((c) => c.trim());
    const { mapping, confident } = classificationMapping(columns);
    const isTestLike = mapping.text !== undefined && mapping.label === undefined;
    return {
      format: ext === '.csv' ? 'csv' : 'tsv',
      task: 'sequence_classification',
      mapping,
      columns,
      confident: confident || isTestLike,
      reason: confident ? `columns ${JSON.stringify(mapping.text)}${mapping.textPair ? ` + ${JSON.stringify(mapping.textPair)}` : ''} → ${JSON.stringify(mapping.label)}` : 'no obvious text/label columns',
    };
  }
  const trimmed = text.trimStart();
  if (ext === '.json' && trimmed.startsWith('{') && /"data"\s*:/.test(trimmed.slice(0, 4096)) && /"paragraphs"|"qas"/.test(trimmed)) {
    return { format: 'squad', task: 'question_answering', mapping: {}, confident: true, reason: 'SQuAD layout (data → paragraphs → qas)' };
  }
  if (ext === '.jsonl' || ext === '.ndjson' || (ext === '.json' && trimmed.startsWith('{'))) {
    let keys: string[] = [];
    try {
      keys = Object.keys(JSON.parse(firstLine) as object);
    } catch {
      // An unparsable first line: validation will say where.
    }
    const has = (k: string): boolean => keys.includes(k);
    if ((has('tokens') || has('words')) && (has('tags') || has('ner_tags'))) {
      return { format: 'jsonl', task: 'token_classification', mapping: { tokens: has('tokens') ? 'tokens' : 'words', tags: has('tags') ? 'tags' : 'ner_tags' }, columns: keys, confident: true, reason: 'tokens and tags fields' };
    }
    if (has('context') && has('question')) {
      return { format: 'jsonl', task: 'question_answering', mapping: { context: 'context', question: 'question', answers: 'answers' }, columns: keys, confident: true, reason: 'context and question fields' };
    }
    if (has('sentences')) return { format: 'jsonl', task: 'mlm', mapping: {}, columns: keys, confident: false, reason: 'a sentences field (pretraining)' };
    const { mapping, confident } = classificationMapping(keys);
    return { format: 'jsonl', task: 'sequence_classification', mapping, columns: keys, confident, reason: confident ? 'text and label fields' : 'no obvious text/label fields' };
  }
  if (ext === '.conll' || ext === '.iob' || ext === '.bio' || looksLikeConll(lines.slice(0, 200))) {
    return { format: 'conll', task: 'token_classification', mapping: { tokens: 0, tags: -1 }, confident: true, reason: 'token-per-line with tags in the last column' };
  }
  const textMode = detectTextMode(lines.slice(0, 2000).join('\n'));
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

