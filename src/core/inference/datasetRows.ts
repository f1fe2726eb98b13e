/** Rows of a dataset file as (line, text, gold label), for predicted-vs-gold CodeLens. */
import { parseQuoted } from '../datasets/delimited';

export interface DatasetRow {
  /** 0-based line in the file. */
  readonly line: number;
  readonly text: string;
  readonly gold: string | undefined;
}

const TEXT_NAMES = ['sentence', 'text', 'content', 'review', 'sentence1', 'question'];
const LABEL_NAMES = ['label', 'gold', 'class', 'category', 'sentiment', 'target'];

function pick(names: readonly string[], header: readonly string[]): number {
  const lower = header.map((h) => h.trim().toLowerCase());
  for (const n of names) {
    const i = lower.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

/** Rows of a .tsv/.csv (header row required) or .jsonl file; at most `limit`. */
export function datasetRows(lines: readonly string[], kind: 'tsv' | 'csv' | 'jsonl', limit = 500): DatasetRow[] {
  const rows: DatasetRow[] = [];
  if (kind === 'jsonl') {
    for (let i = 0; i < lines.length && rows.length < limit; i++) {
      if (!lines[i].trim()) continue;
      try {
        const o: unknown = JSON.parse(lines[i]);
        if (typeof o !== 'object' || o === null) continue;
        const r = o as Record<string, unknown>;
        const text = TEXT_NAMES.map((k) => r[k]).find((v): v is string => typeof v === 'string');
        const gold = LABEL_NAMES.map((k) => r[k]).find((v) => typeof v === 'string' || typeof v === 'number');
        if (text !== undefined) rows.push({ line: i, text, gold: gold === undefined ? undefined : String(gold) });
      } catch {
        // not a JSON line: no lens
      }
    }
    return rows;
  }
  const delimiter = kind === 'tsv' ? '\t' : ',';
  const header = lines.length ? parseQuoted(lines[0], delimiter).fields : [];
  let textCol = pick(TEXT_NAMES, header);
  const labelCol = pick(LABEL_NAMES, header);
  if (textCol < 0) textCol = header.findIndex((_, i) => i !== labelCol);
  if (textCol < 0) return rows;
  for (let i = 1; i < lines.length && rows.length < limit; i++) {
    if (!lines[i].trim()) continue;
    const { fields } = parseQuoted(lines[i], delimiter);
    const text = fields[textCol]?.trim();
    if (!text) continue;
    rows.push({ line: i, text, gold: labelCol >= 0 ? fields[labelCol]?.trim() : undefined });
  }
  return rows;
}

/** A gold label as the model names it: numeric ids map through the model's labels. */
export function goldName(gold: string | undefined, labels: readonly string[]): string | undefined {
  if (gold === undefined) return undefined;
  if (labels.includes(gold)) return gold;
  if (/^\d+$/.test(gold) && labels[Number(gold)] !== undefined) return labels[Number(gold)];
  return gold;
}
