// bert-studio dataset import|validate|stats|list: the same core code the extension runs.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColumnarError, saveToDiskSplits } from '../../core/datasets/columnar';
import { guessDataset, labelPrefixedAdvice } from '../../core/datasets/detect';
import { checkDatasetId, datasetDir, importDataset, InvalidDatasetIdError, listDatasets, readManifest } from '../../core/datasets/snapshot';
import { LabelNamesError, parseLabelNames } from '../../core/datasets/labelNames';
import type { LabelPrefixOptions } from '../../core/datasets/labelPrefixed';
import { snapshotStatistics, StatisticsBuilder, type DatasetStatistics } from '../../core/datasets/stats';
import { findDefaultModel, loadTokenCounter, tokenizerFolder, type CounterKind } from '../../core/datasets/tokenCount';
import { FORMATS, type ColumnMapping, type DatasetRequest, type Format, type FormatOptions, type ProgressInfo, type TagScheme, type TextMode, type ValidationReport } from '../../core/datasets/types';
import { readDataset, validateDataset } from '../../core/datasets/validate';
import { packageRoot, studioLayout } from '../../core/paths';
import { TASKS, type Task } from '../../core/runs/protocol';
import { flag, parseArgs, ProgressBar, UsageError, type CliIo, type ParsedArgs } from '../io';

export const DATASET_USAGE = `bert-studio dataset import FILE [options]     validate and snapshot into .bert-studio/datasets/<id>
bert-studio dataset validate FILE [options]   report problems (exit 1 on errors)
bert-studio dataset stats FILE|--dataset ID   statistics with the model's tokenizer
bert-studio dataset list                      imported datasets

  --validation FILE --test FILE   other splits (else --split 0.1 [--seed 42] carves one from train)
  --task T            ${TASKS.join(', ')}
  --format F          ${FORMATS.join(', ')} (default: from the file)
  --text C --text-pair C --label C   CSV/TSV columns (names or 0-based indexes), JSONL fields or
                      Parquet/Arrow columns (FILE may be a datasets save_to_disk folder: its splits)
  --tokens N --tags N CoNLL token and tag columns (default 0 and -1, the last)
  --no-header --quoting on|off --text-mode sentences|documents|wikitext --tag-scheme iob2|iob1
  --labels a,b,c      the label set (others are reported)
  --label-names 0=negative,1=positive|FILE   names for coded labels: the snapshot, the model's
                      id2label and predictions show the names (a FILE: label=name lines, or one
                      name per line for 0, 1, 2…)
  --label-prefixed    plain-text lines "LABEL text": fastText (__label__pos great film; several
                      __label__ words with --multi-label) or TREC (DESC:manner How did …)
  --label-separator S   between label and text (default: the first space or tab; "tab" for a tab)
  --coarse-labels     keep the part of each label before ":" (TREC's 6 coarse classes)
  --multi-label       a set of labels per example (JSONL label lists: detected); CSV/TSV cells
  --label-delimiter D   hold labels separated by D (default "|"; implies --multi-label)
  --id ID --name N --replace --workspace DIR
  --skip-bad-rows     import even when rows have errors, leaving those rows out (else: exit 1, nothing written)
  --model DIR --max-seq-length N --tokenizer transformers|wordpiece   (stats)
  --json              machine-readable output; progress goes to stderr`;

const BOOLEANS = ['json', 'no-header', 'replace', 'progress-json', 'help', 'multi-label', 'skip-bad-rows', 'label-prefixed', 'coarse-labels'];

/** A dataset id from a flag, checked against the ids the store creates (no paths). */
function datasetIdFlag(args: ParsedArgs, name: 'dataset' | 'id'): string | undefined {
  const id = flag(args, name);
  if (id === undefined) return undefined;
  try {
    checkDatasetId(id);
  } catch (err) {
    if (err instanceof InvalidDatasetIdError) throw new UsageError(`--${name}: ${err.message}`);
    throw err;
  }
  return id;
}

function column(v: string | undefined): string | number | undefined {
  if (v === undefined) return undefined;
  return /^-?\d+$/.test(v) ? Number(v) : v;
}

/** A flag's value checked against its allowed values (the flag named in the error). */
function choice<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const v = flag(args, name);
  if (v !== undefined && !(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} ${JSON.stringify(v)}: use one of ${allowed.join(', ')}.`, `--${name}`);
  return v as T | undefined;
}

/** A numeric flag in [min, max] (an integer when `integer`). */
function numberFlag(args: ParsedArgs, name: string, min: number, max: number, integer: boolean, example: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} ${JSON.stringify(v)}: give ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, e.g. --${name} ${example}.`, `--${name}`);
  }
  return n;
}

/** A data file given on the command line: it must exist and be a regular file (named in the error). */
function dataFile(file: string, what: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UsageError(`${what} ${file}: no such file. Check the path.`, what);
  }
  if (st.isDirectory()) throw new UsageError(`${what} ${file}: is a folder, not a data file. Pass the file itself (e.g. ${path.join(file, 'train.tsv')}), or a datasets save_to_disk folder (with state.json or dataset_dict.json).`, what);
  if (!st.isFile()) throw new UsageError(`${what} ${file}: not a regular file (a device, pipe or socket). Pass a CSV, TSV, JSONL, CoNLL, SQuAD JSON, Parquet, Arrow or text file.`, what);
  return path.resolve(file);
}

/** A columnar file or folder that cannot be read becomes a usage error naming the argument. */
function columnarUsage(what: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof ColumnarError) throw new UsageError(`${what}: ${e.message}`, what);
    throw e;
  };
}

/** --label-prefixed [--label-separator S] [--coarse-labels]; the separator and transform alone imply it. */
function labelPrefixFlags(args: ParsedArgs): LabelPrefixOptions | undefined {
  const sep = flag(args, 'label-separator');
  const coarse = args.flags.has('coarse-labels');
  if (!args.flags.has('label-prefixed') && sep === undefined && !coarse) return undefined;
  if (sep === '') throw new UsageError('--label-separator needs a separator, e.g. --label-separator tab or --label-separator " ||| ".', '--label-separator');
  const separator = sep === 'tab' ? '\t' : sep === 'space' ? ' ' : sep;
  return { ...(separator !== undefined ? { separator } : {}), ...(coarse ? { coarse } : {}) };
}

/** --label-names 0=negative,1=positive or a FILE of such lines (or one name per line). */
function labelNamesFlag(args: ParsedArgs, task: Task): Record<string, string> | undefined {
  const v = flag(args, 'label-names');
  if (v === undefined) return undefined;
  if (task !== 'sequence_classification') throw new UsageError('--label-names names classification labels; this is a ' + task + ' dataset.', '--label-names');
  let text = v;
  let where = '--label-names';
  if (!v.includes('=') && !v.includes(',') && fs.existsSync(v)) {
    if (!fs.statSync(v).isFile()) throw new UsageError(`--label-names ${v}: is not a file; give 0=negative,1=positive or a file of label=name lines.`, '--label-names');
    text = fs.readFileSync(v, 'utf8');
    where = `--label-names ${v}`;
  }
  try {
    return parseLabelNames(text, where);
  } catch (err) {
    if (err instanceof LabelNamesError) throw new UsageError(err.message, '--label-names');
    throw err;
  }
}

async function buildRequest(args: ParsedArgs): Promise<{ request: DatasetRequest; guessed: string }> {
  const source = args.positional[0];
  if (!source) throw new UsageError(`a data FILE is required.\n${DATASET_USAGE}`);
  // A `datasets` save_to_disk folder stands for its split files.
  const disk = fs.statSync(source, { throwIfNoEntry: false })?.isDirectory() ? await saveToDiskSplits(source).catch(columnarUsage('FILE')) : undefined;
  const train = disk?.train ?? source;
  dataFile(train, 'FILE');
  const validation = flag(args, 'validation') !== undefined ? dataFile(flag(args, 'validation') as string, '--validation') : disk?.validation;
  const test = flag(args, 'test') !== undefined ? dataFile(flag(args, 'test') as string, '--test') : disk?.test;
  const quoting = choice(args, 'quoting', ['on', 'off', 'true', 'false']);
  const textMode = choice<TextMode>(args, 'text-mode', ['sentences', 'documents', 'wikitext']);
  const tagScheme = choice<TagScheme>(args, 'tag-scheme', ['iob2', 'iob1']);
  const split = numberFlag(args, 'split', 0.001, 0.9, false, '0.1');
  const seed = numberFlag(args, 'seed', 0, 2 ** 31 - 1, true, '42');
  const guess = await guessDataset(train).catch(columnarUsage('FILE'));
  const labelPrefix = labelPrefixFlags(args);
  const task = (flag(args, 'task') ?? (labelPrefix ? 'sequence_classification' : guess.task)) as Task | undefined;
  if (!task || !(TASKS as readonly string[]).includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}.`);
  if (labelPrefix && task !== 'sequence_classification') throw new UsageError(`--label-prefixed lines hold sequence_classification examples: leave --task out or use --task sequence_classification.`, '--task');
  if (labelPrefix && flag(args, 'format') !== undefined && flag(args, 'format') !== 'text') throw new UsageError('--label-prefixed reads plain-text lines: leave --format out.', '--format');
  const format = (labelPrefix ? 'text' : (flag(args, 'format') ?? guess.format)) as Format;
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}.`);
  const given: ColumnMapping = {
    text: column(flag(args, 'text')),
    textPair: column(flag(args, 'text-pair')),
    label: column(flag(args, 'label')),
    tokens: column(flag(args, 'tokens')),
    tags: column(flag(args, 'tags')),
  };
  // `LABEL text` lines (TREC): one answer whichever way classification is asked for.
  const asClassification = task === 'sequence_classification' || format === 'csv' || format === 'tsv' || given.text !== undefined || given.label !== undefined;
  if (guess.labelPrefixed && asClassification && format !== 'jsonl' && !labelPrefix) {
    throw new UsageError(`${path.basename(train)} line ${guess.labelPrefixed.line}: ${labelPrefixedAdvice(guess.labelPrefixed, train)}`);
  }
  const explicit = Object.values(given).some((v) => v !== undefined);
  const mapping: ColumnMapping = labelPrefix ? {} : explicit ? { ...(format === guess.format && task === guess.task ? guess.mapping : {}), ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } : guess.mapping;
  if (task === 'sequence_classification' && !labelPrefix && mapping.text === undefined && (format === 'csv' || format === 'tsv' || format === 'jsonl')) {
    throw new UsageError(`cannot tell which column holds the text${guess.columns ? ` (columns: ${guess.columns.join(', ')})` : ''}: pass --text and --label.`);
  }
  const options: FormatOptions = {
    ...(format === guess.format ? guess.options : {}),
    ...(args.flags.has('no-header') ? { header: false } : {}),
    ...(quoting ? { quoting: quoting === 'on' || quoting === 'true' } : {}),
    ...(textMode ? { textMode } : guess.textMode ? { textMode: guess.textMode } : {}),
    ...(tagScheme ? { tagScheme } : {}),
    ...(labelPrefix ? { labelPrefix } : {}),
  };
  const labelNames = labelNamesFlag(args, task);
  const labels = flag(args, 'labels');
  const labelDelimiter = flag(args, 'label-delimiter');
  if (labelDelimiter === '') throw new UsageError('--label-delimiter needs a separator such as "|".');
  const multiLabel = task === 'sequence_classification' && (args.flags.has('multi-label') || labelDelimiter !== undefined || (guess.multiLabel === true && format === guess.format));
  const request: DatasetRequest = {
    task,
    format,
    mapping,
    options,
    files: { train: path.resolve(train), validation, test },
    ...(labels ? { labels: labels.split(',') } : {}),
    ...(labelNames ? { labelNames } : {}),
    ...(multiLabel ? { multiLabel, ...(labelDelimiter ? { labelDelimiter } : {}) } : {}),
    ...(split !== undefined ? { seededSplit: { validationFraction: split, seed: seed ?? 42 } } : {}),
  };
  return { request, guessed: guess.reason };
}

function progress(io: CliIo, json: boolean): { onProgress: (p: ProgressInfo) => void; done: () => void } {
  const bar = new ProgressBar(io.stderr);
  return {
    onProgress: (p) => {
      if (json) return;
      bar.update(Math.round(p.bytesDone / 1048576), Math.max(1, Math.round(p.bytesTotal / 1048576)), `MB ${path.basename(p.file)}`);
    },
    done: () => (json ? undefined : bar.done()),
  };
}

function printReport(io: CliIo, r: ValidationReport): void {
  for (const f of r.files) {
    const c = f.counts;
    io.stdout.write(`${f.split}: ${f.file}\n  ${c.examples} examples${c.skipped ? `, ${c.skipped} skipped` : ''}${c.tokens !== undefined ? `, ${c.tokens} tokens` : ''}${c.documents !== undefined ? `, ${c.documents} documents` : ''}\n`);
    if (c.labels) io.stdout.write(`  labels: ${Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    for (const d of f.diagnostics.slice(0, 20)) io.stdout.write(`  ${path.basename(d.file)}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]\n`);
    if (f.diagnostics.length > 20) io.stdout.write(`  … ${Object.entries(f.problems).map(([k, v]) => `${k}: ${v}`).join(', ')}\n`);
  }
  io.stdout.write(`${r.errors} errors, ${r.warnings} warnings\n`);
}

async function statsCommand(args: ParsedArgs, io: CliIo, ws: string): Promise<number> {
  const json = args.flags.has('json');
  const maxSeqLength = numberFlag(args, 'max-seq-length', 8, 1_000_000, true, '128') ?? 128;
  const tokenizer = choice<CounterKind>(args, 'tokenizer', ['transformers', 'wordpiece', 'whitespace']);
  const modelFlag = flag(args, 'model');
  let model = findDefaultModel([ws, packageRoot()]);
  if (modelFlag && modelFlag !== 'default') {
    // A model folder, a training run (its model/ or newest checkpoint) or an ONNX export.
    model = tokenizerFolder(path.resolve(modelFlag));
    if (!model) throw new UsageError(`--model ${modelFlag}: no tokenizer.json or vocab.txt there (nor in its model/, best/, onnx/ or checkpoints). Pass a model folder or a training run.`);
  }
  const counter = await loadTokenCounter(model, tokenizer ?? 'transformers');
  const onProgress = args.flags.has('progress-json')
    ? (done: number, total: number | undefined) => io.stderr.write(`${JSON.stringify({ progress: done, total })}\n`)
    : json
      ? undefined
      : (() => {
          const bar = new ProgressBar(io.stderr);
          return (done: number, total: number | undefined) => bar.update(done, total, 'examples');
        })();
  const opts = { counter, maxSeqLength, onProgress };
  let stats: DatasetStatistics;
  const id = datasetIdFlag(args, 'dataset');
  const snapshot = flag(args, 'snapshot') ?? (id !== undefined ? datasetDir(studioLayout(ws).datasetsDir, id) : undefined);
  if (snapshot && !fs.existsSync(path.join(snapshot, 'manifest.json'))) {
    const where = id !== undefined ? `--dataset ${id}: no such dataset in ${studioLayout(ws).datasetsDir}. See "bert-studio dataset list" for the ids` : `--snapshot ${snapshot}: no manifest.json there. Pass a dataset folder under .bert-studio/datasets`;
    throw new UsageError(`${where}.`, id !== undefined ? '--dataset' : '--snapshot');
  }
  if (snapshot) {
    stats = await snapshotStatistics(snapshot, await readManifest(snapshot), opts);
  } else {
    const { request } = await buildRequest(args);
    const builder = new StatisticsBuilder(request.task, opts);
    await readDataset(request, (split, record) => builder.add(split, record));
    stats = builder.result();
  }
  if (json) io.stdout.write(`${JSON.stringify(stats)}\n`);
  else {
    io.stderr.write('\n');
    io.stdout.write(`tokenizer: ${stats.tokenizer.kind} ${stats.tokenizer.model}\nmax_seq_length: ${stats.maxSeqLength}\n`);
    for (const s of stats.splits) {
      const t = s.tokens;
      io.stdout.write(`${s.split}: ${s.rows} rows; tokens mean ${t.mean.toFixed(1)}, p50 ${t.p50}, p95 ${t.p95}, max ${t.max}; truncated ${t.truncated} (${(t.truncatedShare * 100).toFixed(2)}%)\n`);
      if (s.labels) io.stdout.write(`  labels: ${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
      if (s.entities) io.stdout.write(`  entities: ${Object.entries(s.entities).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
      if (s.answers !== undefined) io.stdout.write(`  answers: ${s.answers}, past max_seq_length without doc stride: ${s.answersLost}, in no window with doc stride: ${s.answersInNoWindow ?? 0}\n`);
    }
  }
  return 0;
}

export async function runDatasetCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, BOOLEANS, ['validation', 'test', 'task', 'format', 'text', 'text-pair', 'label', 'tokens', 'tags', 'quoting', 'text-mode', 'tag-scheme', 'labels', 'label-delimiter', 'label-names', 'label-separator', 'split', 'seed', 'id', 'name', 'workspace', 'model', 'max-seq-length', 'tokenizer', 'snapshot', 'dataset']);
  if (!sub || sub === '--help' || args.flags.has('help')) {
    io.stdout.write(`${DATASET_USAGE}\n`);
    return sub ? 0 : 2;
  }
  const ws = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const json = args.flags.has('json');
  switch (sub) {
    case 'validate': {
      const { request, guessed } = await buildRequest(args);
      if (!json) io.stderr.write(`${request.format}, ${request.task} (${guessed})\n`);
      const p = progress(io, json);
      const report = await validateDataset(request, { onProgress: p.onProgress });
      p.done();
      if (json) io.stdout.write(`${JSON.stringify({ request, report })}\n`);
      else printReport(io, report);
      return report.errors > 0 ? 1 : 0;
    }
    case 'import': {
      const { request, guessed } = await buildRequest(args);
      if (!json) io.stderr.write(`${request.format}, ${request.task} (${guessed})\n`);
      const p = progress(io, json);
      const skipBadRows = args.flags.has('skip-bad-rows');
      const result = await importDataset(request, studioLayout(ws).datasetsDir, {
        id: datasetIdFlag(args, 'id'),
        name: flag(args, 'name'),
        replace: args.flags.has('replace'),
        skipBadRows,
        onProgress: p.onProgress,
      });
      p.done();
      if (json) io.stdout.write(`${JSON.stringify({ ok: result.ok, reason: result.reason, id: result.id, dir: result.dir, skipped: result.skipped, manifest: result.manifest, report: result.report })}\n`);
      else {
        printReport(io, result.report);
        const skipped = result.skipped ? `; ${result.skipped} row${result.skipped === 1 ? '' : 's'} with errors skipped (--skip-bad-rows)` : '';
        io.stdout.write(result.ok ? `imported as "${result.id}" in ${result.dir}${skipped}\n` : `not imported: ${result.reason}\n`);
      }
      return result.ok ? 0 : 1;
    }
    case 'stats':
      return statsCommand(args, io, ws);
    case 'list': {
      const list = await listDatasets(studioLayout(ws).datasetsDir);
      if (json) io.stdout.write(`${JSON.stringify(list.map((d) => ({ id: d.id, dir: d.dir, task: d.manifest.task, splits: d.manifest.splits })))}\n`);
      else for (const d of list) io.stdout.write(`${d.id}\t${d.manifest.task}\t${Object.entries(d.manifest.splits).map(([k, v]) => `${k}=${v?.count}`).join(' ')}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown dataset command "${sub}".\n${DATASET_USAGE}`);
  }
}
