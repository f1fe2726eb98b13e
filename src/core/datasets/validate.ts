// Reads every split of a dataset request once, streaming: diagnostics, counts and (for an import)
// the canonical records. Held-out splits are read before train so that train rows can be checked
// against them for leaks.

import { stat } from 'node:fs/promises';
import { SharedState, SplitContext, type RecordSink } from './context';
import { readConll } from './conll';
import { readDelimited } from './delimited';
import { ColumnarError, columnarToJsonl, isColumnar } from './columnar';
import { DiagnosticBag } from './diagnostics';
import { readJsonl } from './jsonl';
import { readLabelPrefixed } from './labelPrefixed';
import { delimitedConsistent, labelPrefixedAdvice, labelPrefixedLines, sampleLines, sniffLayout } from './detect';
import { DEFAULT_MAX_LINE_BYTES, FatalFileError, hashFile, LineReader } from './lineReader';
import { readSquad } from './squad';
import { detectTextMode, readText } from './text';
import { AbortError, type DatasetRequest, type FileFacts, type FileReport, type Format, type RunOptions, type SplitName, type Task, type ValidationReport } from './types';

const ORDER: SplitName[] = ['validation', 'test', 'train'];
const REPORT_ORDER: SplitName[] = ['train', 'validation', 'test'];

/** The tasks each format can hold (JSONL holds any). */
const FORMAT_TASKS: Record<Format, readonly Task[]> = {
  csv: ['sequence_classification'],
  tsv: ['sequence_classification'],
  jsonl: ['sequence_classification', 'token_classification', 'question_answering', 'mlm', 'mlm_nsp'],
  conll: ['token_classification'],
  squad: ['question_answering'],
  text: ['mlm', 'mlm_nsp'],
  parquet: ['sequence_classification', 'token_classification', 'question_answering', 'mlm', 'mlm_nsp'],
  arrow: ['sequence_classification', 'token_classification', 'question_answering', 'mlm', 'mlm_nsp'],
};
const FORMAT_NAMES: Record<Format | 'label-prefixed', string> = {
  csv: 'CSV (comma-separated rows)',
  tsv: 'TSV (tab-separated rows)',
  jsonl: 'JSON Lines (one JSON object per line)',
  conll: 'CoNLL (one token and its tag per line)',
  squad: 'a SQuAD JSON document',
  text: 'plain text',
  parquet: 'Parquet (one row an example)',
  arrow: 'Arrow IPC (one row an example)',
  'label-prefixed': 'label-prefixed lines',
};

/**
 * Before reading: the format must hold the task, and the content must look like the format
 * (`--format tsv` on a JSONL file, `--format conll` on a CSV). Throws FatalFileError after
 * reporting; a plain-text corpus that looks like something else only gets a warning.
 */
async function checkLayout(ctx: SplitContext, request: DatasetRequest): Promise<void> {
  const { bag, file } = ctx;
  if (isColumnar(request.format)) return;
  const { text, lines, sniff } = await sampleLines(file);
  if (sniff.binary || sniff.foreign) return;
  const seen = sniffLayout(text, lines);
  const at = lines.findIndex((l) => l.trim()) + 1 || 1;
  const lp = seen === 'label-prefixed' ? labelPrefixedLines(lines.slice(0, 200)) : undefined;
  const { format, task } = request;
  if (format === 'text' && request.options?.labelPrefix) {
    if (task === 'sequence_classification') return;
    bag.add('error', 'format.mismatch', at, 1, `Label-prefixed lines hold sequence_classification examples, not ${task}: import with --task sequence_classification, or without the label-prefix options.`);
    throw new FatalFileError('label-prefixed lines for another task');
  }
  if (!FORMAT_TASKS[format].includes(task)) {
    const fits = (Object.keys(FORMAT_TASKS) as Format[]).filter((f) => FORMAT_TASKS[f].includes(task) && f !== 'jsonl');
    bag.add('error', 'format.mismatch', at, 1, `Format ${format} (${FORMAT_NAMES[format]}) cannot hold ${task} examples. ${lp ? labelPrefixedAdvice(lp, file) : `Use --format ${[...fits, 'jsonl'].join(' or ')}, or another task.`}`);
    throw new FatalFileError('format does not hold the task');
  }
  if (!seen || seen === format) return;
  const snippet = (lines[at - 1] ?? '').slice(0, 60);
  if (format === 'text') {
    if (seen === 'csv' || seen === 'tsv') return;
    bag.add('warning', 'format.mismatch', at, 1, `This plain-text corpus looks like ${FORMAT_NAMES[seen]}: as ${task} text, its ${seen === 'label-prefixed' ? 'labels' : 'markup'} would be trained on as words. ${lp ? labelPrefixedAdvice(lp, file) : `Import it with --format ${seen} and its own task instead.`}`);
    return;
  }
  // A TSV whose text holds commas, or a CSV cell holding a tab, is still what it says.
  if ((format === 'tsv' && seen === 'csv' && delimitedConsistent(lines, '\t')) || (format === 'csv' && seen === 'tsv' && delimitedConsistent(lines, ','))) return;
  bag.add('error', 'format.mismatch', at, 1, `The format is ${format}, but this file looks like ${FORMAT_NAMES[seen]} (line ${at}: ${JSON.stringify(snippet)}). ${lp ? labelPrefixedAdvice(lp, file) : `Use --format ${seen}, or leave --format out to detect it.`}`);
  throw new FatalFileError('format does not match the file');
}

/**
 * Parquet / Arrow: the rows go through the JSON Lines reader (see columnar.ts), so a diagnostic's
 * line is the row number. Its column and quick fix point into the JSON text, which is not the
 * file's: both are dropped. The facts are the source file's (its sha256 and size).
 */
async function readColumnar(ctx: SplitContext, request: DatasetRequest, opts: RunOptions): Promise<FileFacts> {
  const { bag, file } = ctx;
  let rows;
  try {
    rows = await columnarToJsonl(file, request.format as 'parquet' | 'arrow', opts.signal);
  } catch (e) {
    if (e instanceof ColumnarError) {
      bag.add('error', 'file.unreadable', 1, 1, e.message);
      throw new FatalFileError('unreadable columnar file');
    }
    throw e;
  }
  if (rows.rows === 0) {
    await rows.dispose();
    bag.add('error', 'file.empty', 1, 1, `The ${request.format === 'parquet' ? 'Parquet' : 'Arrow'} file holds no rows. Pick the file that holds the data, or remove this split.`);
    throw new FatalFileError('no rows');
  }
  try {
    const reader = new LineReader(rows.path, bag, { maxLineBytes: request.options?.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, signal: opts.signal });
    await readJsonl(reader, ctx, request.mapping, request.options?.tagScheme ?? 'iob2');
  } finally {
    await rows.dispose();
    bag.diagnostics.forEach((d, i) => {
      bag.diagnostics[i] = { file: d.file, line: d.line, column: 1, severity: d.severity, code: d.code, message: `Row ${d.line}: ${d.message}` };
    });
  }
  const { sha256, bytes } = await hashFile(file);
  return { bytes, sha256, encoding: 'utf-8', newline: 'none', lines: rows.rows };
}

async function readOne(ctx: SplitContext, request: DatasetRequest, opts: RunOptions): Promise<FileReport> {
  const { bag, file, split } = ctx;
  const report: FileReport = { split, file, counts: ctx.counts, diagnostics: bag.diagnostics, problems: bag.problems, errors: 0, warnings: 0 };
  try {
    const st = await stat(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: st.isDirectory() ? 'EISDIR' : 'ENOTREG' });
    if (st.size === 0) {
      bag.add('error', 'file.empty', 1, 1, 'The file is empty. Pick the file that holds the data, or remove this split.');
      throw new FatalFileError('empty file');
    }
    await checkLayout(ctx, request);
    const o = request.options ?? {};
    const scheme = o.tagScheme ?? 'iob2';
    if (request.format === 'squad') {
      report.facts = await readSquad(ctx, opts);
    } else if (isColumnar(request.format)) {
      report.facts = await readColumnar(ctx, request, opts);
    } else {
      const reader = new LineReader(file, bag, { maxLineBytes: o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, signal: opts.signal, onProgress: opts.onProgress });
      switch (request.format) {
        case 'csv':
        case 'tsv':
          await readDelimited(reader, ctx, request.mapping, {
            delimiter: request.format === 'csv' ? ',' : '\t',
            quoting: o.quoting ?? request.format === 'csv',
            header: o.header ?? true,
          });
          break;
        case 'conll':
          await readConll(reader, ctx, request.mapping, scheme);
          break;
        case 'jsonl':
          await readJsonl(reader, ctx, request.mapping, scheme);
          break;
        case 'text': {
          if (o.labelPrefix) {
            await readLabelPrefixed(reader, ctx, o.labelPrefix);
            break;
          }
          const mode = o.textMode ?? detectTextMode((await sampleLines(file)).text);
          await readText(reader, ctx, mode);
          break;
        }
      }
      report.facts = reader.facts;
    }
    if (ctx.counts.examples === 0 && !report.fatal) {
      const headerOnly = (request.format === 'csv' || request.format === 'tsv') && (o.header ?? true) && !ctx.counts.skipped && (report.facts?.lines ?? 0) <= 2;
      bag.add(
        'error',
        'split.empty',
        1,
        1,
        headerOnly
          ? 'The file holds only its header row (line 1), no examples. Add rows below the header, or pick the file that holds the data.'
          : `No usable examples in this file${ctx.counts.skipped ? ` (${ctx.counts.skipped} skipped because of the errors above)` : ''}. Check the format and the column mapping.`,
      );
    } else if (request.task === 'mlm_nsp' && (ctx.counts.documents ?? 0) < 2) {
      bag.add('error', 'nsp.fewDocuments', ctx.firstExampleLine || 1, 1, `Next-sentence prediction needs at least two documents (a random "next sentence" comes from another document), and this file has ${ctx.counts.documents ?? 0}. Separate documents with a blank line (one sentence per line inside a document), or train with the mlm task.`);
      throw new FatalFileError('too few documents for next-sentence prediction');
    }
  } catch (err) {
    if (err instanceof FatalFileError) report.fatal = err.message;
    else if (err instanceof AbortError || (err as Error).name === 'AbortError') throw err;
    else {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'it does not exist' : e.code === 'EISDIR' ? 'it is a folder' : e.code === 'ENOTREG' ? 'it is not a regular file (a device, pipe or socket)' : e.message;
      bag.add('error', 'file.unreadable', 1, 1, `Cannot read the file: ${why}. Pick the data file itself.`);
      report.fatal = e.message;
    }
  }
  return report;
}

/** Reads and checks all splits; with a sink, every kept record is passed on. */
export async function readDataset(request: DatasetRequest, sink: RecordSink | undefined, opts: RunOptions = {}): Promise<ValidationReport> {
  const shared = new SharedState(request);
  const files: FileReport[] = [];
  const bags: DiagnosticBag[] = [];
  for (const split of ORDER) {
    const file = request.files[split];
    if (!file) continue;
    const bag = new DiagnosticBag(file, opts.maxDiagnosticsPerFile ?? 1000);
    const ctx = new SplitContext(file, split, shared, bag, sink);
    files.push(await readOne(ctx, request, opts));
    bags.push(bag);
  }
  // Unknown dev/test labels are reported into their files' bags now that train is read.
  shared.labels.finish();
  shared.tags.finish();
  files.forEach((f, i) => {
    f.errors = bags[i].errors;
    f.warnings = bags[i].warnings;
  });
  // Train first in reports, as users think of it.
  files.sort((a, b) => REPORT_ORDER.indexOf(a.split) - REPORT_ORDER.indexOf(b.split));
  const errors = files.reduce((n, f) => n + f.errors, 0);
  const warnings = files.reduce((n, f) => n + f.warnings, 0);
  const labels =
    request.task === 'sequence_classification' ? shared.labels.labels() : request.task === 'token_classification' ? shared.tags.labels() : undefined;
  return { task: request.task, format: request.format, files, splits: shared.splitCounts, labels, errors, warnings };
}

export function validateDataset(request: DatasetRequest, opts: RunOptions = {}): Promise<ValidationReport> {
  return readDataset(request, undefined, opts);
}
