// Reads every split of a dataset request once, streaming: diagnostics, counts and (for an import)
// the canonical records. Held-out splits are read before train so that train rows can be checked
// against them for leaks.

import { stat } from 'node:fs/promises';
import { SharedState, SplitContext, type RecordSink } from './context';
import { readConll } from './conll';
import { readDelimited } from './delimited';
import { DiagnosticBag } from './diagnostics';
import { readJsonl } from './jsonl';
import { DEFAULT_MAX_LINE_BYTES, FatalFileError, LineReader, readHead } from './lineReader';
import { readSquad } from './squad';
import { detectTextMode, readText } from './text';
import { AbortError, type DatasetRequest, type FileReport, type RunOptions, type SplitName, type ValidationReport } from './types';

const ORDER: SplitName[] = ['validation', 'test', 'train'];
const REPORT_ORDER: SplitName[] = ['train', 'validation', 'test'];

async function readOne(ctx: SplitContext, request: DatasetRequest, opts: RunOptions): Promise<FileReport> {
  const { bag, file, split } = ctx;
  const report: FileReport = { split, file, counts: ctx.counts, diagnostics: bag.diagnostics, problems: bag.problems, errors: 0, warnings: 0 };
  try {
    const st = await stat(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (st.size === 0) {
      bag.add('error', 'file.empty', 1, 1, 'The file is empty. Pick the file that holds the data, or remove this split.');
      throw new FatalFileError('empty file');
    }
    const o = request.options ?? {};
    const scheme = o.tagScheme ?? 'iob2';
    if (request.format === 'squad') {
      report.facts = await readSquad(ctx, opts);
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
          const mode = o.textMode ?? detectTextMode((await readHead(file)).toString('utf8'));
          await readText(reader, ctx, mode);
          break;
        }
      }
      report.facts = reader.facts;
    }
    if (ctx.counts.examples === 0 && !report.fatal) {
      bag.add('error', 'split.empty', 1, 1, `No usable examples in this file${ctx.counts.skipped ? ` (${ctx.counts.skipped} skipped because of the errors above)` : ''}. Check the format and the column mapping.`);
    }
  } catch (err) {
    if (err instanceof FatalFileError) report.fatal = err.message;
    else if (err instanceof AbortError || (err as Error).name === 'AbortError') throw err;
    else {
      const e = err as NodeJS.ErrnoException;
      bag.add('error', 'file.unreadable', 1, 1, `Cannot read the file: ${e.code === 'ENOENT' ? 'it does not exist' : e.code === 'EISDIR' ? 'it is a folder' : e.message}.`);
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
