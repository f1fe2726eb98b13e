// Batch prediction over a whole file (`bert-studio predict --input FILE --output OUT`, the extension's
// "Predict File…"): the input is streamed line by line in any text format the importer reads (plain
// text one example per line, JSONL, CSV/TSV with the columns the importer would pick, a pair column
// included), each output row keeps the 1-based source line of its example, and results are written
// as each group is done, so memory stays flat whatever the file's size.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { guessDataset } from '../datasets/detect';
import { columnIndex, parseQuoted } from '../datasets/delimited';
import { splitLabelPrefixed } from '../datasets/labelPrefixed';
import type { ColumnMapping } from '../datasets/types';
import type { InferenceEngine } from './engine';
import type { Classification, EntitySpan } from './types';

export interface PredictInputRow {
  /** 1-based line of the example in the input file. */
  readonly line: number;
  readonly text: string;
  readonly pair?: string;
  /** The file's label, when it has one (kept beside the prediction). */
  readonly gold?: string;
}

export interface PredictFileOptions {
  /** Column (name or 0-based index) or JSONL field of the text, of the second segment, of a gold label. */
  readonly text?: string | number;
  readonly pair?: string | number;
  readonly label?: string | number;
  readonly signal?: AbortSignal;
  /** Called after each group: examples done and bytes of the input read so far (of `bytes`). */
  readonly onProgress?: (done: number, bytesRead: number, bytes: number) => void;
  /** Examples per engine call (default 64). */
  readonly group?: number;
}

export interface PredictFileResult {
  readonly examples: number;
  readonly output: string;
  readonly seconds: number;
}

/** A file's problem, with the line and the fix (the CLI shows it as one line). */
export class PredictInputError extends Error {}

const OUTPUT_KINDS = ['.jsonl', '.csv'] as const;

/** `--output`'s kind from its extension, or an error that says which extensions work. */
export function outputKind(file: string): 'jsonl' | 'csv' {
  const ext = path.extname(file).toLowerCase();
  if (!(OUTPUT_KINDS as readonly string[]).includes(ext)) throw new PredictInputError(`${file}: the output must end in ${OUTPUT_KINDS.join(' or ')}.`);
  return ext === '.csv' ? 'csv' : 'jsonl';
}

/** Where "Predict File…" writes: beside the input, `<name>.predictions.jsonl`. */
export function besideInput(input: string): string {
  const ext = path.extname(input);
  return path.join(path.dirname(input), `${path.basename(input, ext)}.predictions.jsonl`);
}

/** The examples of `file`, streamed: format and columns as the importer guesses them, or as given. */
export async function* readPredictInput(file: string, opts: Pick<PredictFileOptions, 'text' | 'pair' | 'label'> = {}): AsyncGenerator<PredictInputRow> {
  const guess = await guessDataset(file);
  const format = guess.format;
  if (format === 'conll' || format === 'squad') {
    throw new PredictInputError(`${file}: ${format === 'conll' ? 'a CoNLL file' : 'a SQuAD JSON'} is not a list of texts; give plain text (one text per line), JSONL, CSV or TSV.`);
  }
  const given: ColumnMapping = { text: opts.text, textPair: opts.pair, label: opts.label };
  const mapping: ColumnMapping = { ...guess.mapping, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  const rl = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  let header: string[] | undefined;
  const delimiter = format === 'tsv' ? '\t' : ',';
  const quoting = guess.options?.quoting ?? format === 'csv';
  const hasHeader = guess.options?.header ?? true;
  try {
    for await (const raw of rl) {
      n++;
      const line = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (!line.trim()) continue;
      if (format === 'jsonl') {
        let o: unknown;
        try {
          o = JSON.parse(line);
        } catch (err) {
          throw new PredictInputError(`${file}:${n}: not valid JSON (${(err as Error).message}); fix the line or remove it.`);
        }
        if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new PredictInputError(`${file}:${n}: expected a JSON object such as {"text": "…"}.`);
        const r = o as Record<string, unknown>;
        const key = String(mapping.text ?? 'text');
        const text = r[key];
        if (typeof text !== 'string') throw new PredictInputError(`${file}:${n}: no text field "${key}"; name the field with --text.`);
        const pair = mapping.textPair !== undefined ? r[String(mapping.textPair)] : undefined;
        const gold = mapping.label !== undefined ? r[String(mapping.label)] : undefined;
        yield { line: n, text, ...(typeof pair === 'string' ? { pair } : {}), ...(typeof gold === 'string' || typeof gold === 'number' ? { gold: String(gold) } : {}) };
      } else if (format === 'csv' || format === 'tsv') {
        const fields = quoting ? parseQuoted(line, delimiter).fields : line.split(delimiter);
        if (n === 1 && hasHeader) {
          header = fields;
          continue;
        }
        const ti = columnIndex(mapping.text ?? 0, header, fields.length);
        if (ti < 0) throw new PredictInputError(`${file}:${n}: no text column ${JSON.stringify(mapping.text)}${header ? ` (columns: ${header.join(', ')})` : ''}; name it with --text.`);
        const pi = columnIndex(mapping.textPair, header, fields.length);
        const li = columnIndex(mapping.label, header, fields.length);
        yield { line: n, text: fields[ti], ...(pi >= 0 ? { pair: fields[pi] } : {}), ...(li >= 0 ? { gold: fields[li] } : {}) };
      } else if (guess.labelPrefixed) {
        // `LABEL text` lines (fastText, TREC): the label is the gold, only the text is predicted.
        const parts = splitLabelPrefixed(line);
        yield parts ? { line: n, text: parts.text, gold: parts.labels.map((l) => l.value).join(' ') } : { line: n, text: line };
      } else {
        yield { line: n, text: line };
      }
    }
  } finally {
    rl.close();
  }
}

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const CSV_COLUMNS = ['line', 'text', 'text_pair', 'gold', 'label', 'probability', 'labels', 'entities', 'truncated'] as const;

/** Predicts every example of `input` into `output` (.jsonl or .csv), written through a temporary file. */
export async function predictFile(engine: InferenceEngine, model: string, input: string, output: string, opts: PredictFileOptions = {}): Promise<PredictFileResult> {
  const kind = outputKind(output);
  const info = await engine.info(model);
  if (info.task !== 'sequence-classification' && info.task !== 'token-classification') {
    throw new PredictInputError(`This is a ${info.task} model: batch prediction labels texts with a classifier or a token classifier.`);
  }
  const bytes = fs.statSync(input).size;
  const t0 = Date.now();
  const tmp = path.join(path.dirname(output), `.${path.basename(output)}.${process.pid}.tmp`);
  const out = fs.createWriteStream(tmp, { encoding: 'utf8' });
  const write = (s: string): Promise<void> => new Promise((resolve, reject) => (out.write(s, (err) => (err ? reject(err) : resolve()))));
  let done = 0;
  let group: PredictInputRow[] = [];
  const flush = async (): Promise<void> => {
    if (!group.length) return;
    const rows = group;
    group = [];
    let results: (Classification | { entities: EntitySpan[] })[];
    if (info.task === 'sequence-classification') {
      const pairs = rows.some((r) => r.pair !== undefined) ? rows.map((r) => r.pair) : undefined;
      results = await engine.classify(model, rows.map((r) => r.text), { signal: opts.signal, ...(pairs ? { pairs } : {}) });
    } else {
      results = [];
      for (const r of rows) results.push({ entities: await engine.tokenClassify(model, r.text, { signal: opts.signal }) });
    }
    let chunk = '';
    rows.forEach((r, i) => {
      const res = results[i] as Partial<Classification> & { entities?: EntitySpan[] };
      const record = {
        line: r.line,
        text: r.text,
        ...(r.pair !== undefined ? { text_pair: r.pair } : {}),
        ...(r.gold !== undefined ? { gold: r.gold } : {}),
        ...(res.label !== undefined ? { label: res.label, probability: res.probability } : {}),
        ...(res.labels ? { labels: res.labels } : {}),
        ...(res.entities ? { entities: res.entities } : {}),
        ...(res.truncated ? { truncated: true } : {}),
      };
      chunk += kind === 'jsonl' ? `${JSON.stringify(record)}\n` : `${CSV_COLUMNS.map((c) => csvCell((record as Record<string, unknown>)[c])).join(',')}\n`;
    });
    await write(chunk);
    done += rows.length;
  };
  try {
    if (kind === 'csv') await write(`${CSV_COLUMNS.join(',')}\n`);
    const input$ = readPredictInput(input, opts);
    const size = opts.group ?? 64;
    let read = 0;
    for await (const row of input$) {
      read += Buffer.byteLength(row.text) + (row.pair ? Buffer.byteLength(row.pair) : 0) + 1;
      group.push(row);
      if (group.length >= size) {
        await flush();
        opts.onProgress?.(done, Math.min(bytes, read), bytes);
      }
    }
    await flush();
    opts.onProgress?.(done, bytes, bytes);
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    fs.renameSync(tmp, output);
  } catch (err) {
    out.destroy();
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { examples: done, output, seconds: (Date.now() - t0) / 1000 };
}
