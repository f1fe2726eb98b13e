// Dataset snapshots: <datasets>/<id>/manifest.json + train/validation/test.jsonl (DESIGN.md,
// "Dataset snapshot"). An import writes everything into a temporary folder beside the others and
// renames it into place at the end, so a failed or cancelled import leaves existing snapshots as
// they were. A run trains on the snapshot, never on the source, and the manifest's sha256 tells
// when a source changed since.

import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createWriteStream, type WriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { renameCounts, renameLabel, renameRecord } from './labelNames';
import { hashFile, hashOpenFile } from './lineReader';
import { readDataset } from './validate';
import {
  AbortError,
  SPLITS,
  type CanonicalRecord,
  type ColumnMapping,
  type DatasetRequest,
  type Encoding,
  type Format,
  type FormatOptions,
  type Newline,
  type ProblemCode,
  type RunOptions,
  type SplitCounts,
  type SplitName,
  type Task,
  type ValidationReport,
} from './types';

export const MANIFEST_VERSION = 1;
export const DATASET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface ManifestSource {
  readonly split: SplitName;
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly mtimeMs: number;
  readonly encoding?: Encoding;
  readonly newline?: Newline;
}

export interface ManifestSplit {
  /** Relative to the dataset folder. */
  readonly file: string;
  readonly count: number;
  /** The source file it came from (the train file for a seeded split). */
  readonly source: string;
  readonly labels?: Record<string, number>;
}

export interface DatasetManifest {
  readonly version: number;
  readonly id: string;
  readonly name: string;
  readonly created: string;
  readonly task: Task;
  readonly format: Format;
  readonly mapping: ColumnMapping;
  readonly options: FormatOptions;
  readonly sources: ManifestSource[];
  /** Label set (classification) or tag set (NER), in id order. */
  readonly labels?: string[];
  readonly label_map?: Record<string, number>;
  /** Sequence classification with a set of labels per example: every record's label is a list. */
  readonly multi_label?: boolean;
  /** The separator the source's CSV/TSV label cells used (the snapshot itself holds lists). */
  readonly label_delimiter?: string;
  /** Classification: label as written in the sources → its name in the snapshot (`--label-names`). */
  readonly label_names?: Record<string, string>;
  readonly splits: Partial<Record<SplitName, ManifestSplit>>;
  readonly seeded_split?: DatasetRequest['seededSplit'];
  /** Per source file: what was read and what was wrong. */
  readonly counts: Partial<Record<SplitName, SplitCounts>>;
  readonly problems: { readonly errors: number; readonly warnings: number; readonly byCode: Partial<Record<ProblemCode, number>> };
}

export interface ImportOptions extends RunOptions {
  /** Folder name under datasets/; default from the train file's name. */
  readonly id?: string;
  readonly name?: string;
  /** Replace a dataset with the same id (default: pick a free id). */
  readonly replace?: boolean;
  /**
   * Rows with errors are left out of the snapshot and counted (default true). False: any error
   * refuses the import, and nothing is written (the CLI without --skip-bad-rows).
   */
  readonly skipBadRows?: boolean;
}

export interface ImportResult {
  readonly ok: boolean;
  /** Why nothing was written, when !ok. */
  readonly reason?: string;
  readonly id?: string;
  readonly dir?: string;
  readonly manifest?: DatasetManifest;
  readonly report: ValidationReport;
  /** Examples left out because of their errors, over all files. */
  readonly skipped: number;
}

export function slugify(s: string): string {
  const slug = s
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 60);
  return slug || 'dataset';
}

/** A readable default id: `sst2` for …/sst2/train.tsv, else the file's base name. */
export function defaultDatasetId(trainFile: string): string {
  const base = path.basename(trainFile, path.extname(trainFile));
  const parent = path.basename(path.dirname(trainFile));
  return slugify(/^(train|training)([-_.].*)?$/i.test(base) && parent ? parent : base);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Writes a file by temp file + rename, so readers never see half of it. */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, data);
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

class SplitWriters {
  private readonly streams = new Map<SplitName, WriteStream>();
  private failure: Error | undefined;

  constructor(private readonly dir: string) {}

  write(split: SplitName, record: CanonicalRecord): void | Promise<void> {
    if (this.failure) throw this.failure;
    let s = this.streams.get(split);
    if (!s) {
      s = createWriteStream(path.join(this.dir, `${split}.jsonl`));
      s.on('error', (err) => (this.failure = err));
      this.streams.set(split, s);
    }
    if (!s.write(`${JSON.stringify(record)}\n`)) {
      const stream = s;
      return new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          stream.off('drain', onDrain);
          reject(err);
        };
        const onDrain = (): void => {
          stream.off('error', onError);
          resolve();
        };
        stream.once('drain', onDrain);
        stream.once('error', onError);
      });
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.streams.values()].map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            s.once('error', reject);
            s.end(() => resolve());
          }),
      ),
    );
    if (this.failure) throw this.failure;
  }

  destroy(): void {
    for (const s of this.streams.values()) s.destroy();
  }
}

/**
 * Reads, checks and snapshots a dataset. Nothing is written when a file cannot be read at all
 * (missing, binary, broken JSON) or train keeps no example; row-level errors skip their rows and
 * are counted in the manifest.
 */
export async function importDataset(request: DatasetRequest, datasetsDir: string, opts: ImportOptions = {}): Promise<ImportResult> {
  await fs.mkdir(datasetsDir, { recursive: true });
  let id = opts.id ?? defaultDatasetId(request.files.train);
  checkDatasetId(id);
  if (!opts.replace && !opts.id) {
    const base = id;
    for (let n = 2; await exists(path.join(datasetsDir, id)); n++) id = `${base}-${n}`;
  }
  const tmp = path.join(datasetsDir, `.tmp-${id}-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(tmp);
  const writers = new SplitWriters(tmp);
  try {
    const names = request.task === 'sequence_classification' ? request.labelNames : undefined;
    const report = await readDataset(request, (split, record) => writers.write(split, names ? renameRecord(record, names) : record), opts);
    await writers.close();
    const fatal = report.files.find((f) => f.fatal);
    const trainCount = report.splits.train?.examples ?? 0;
    const skipped = report.files.reduce((n, f) => n + f.counts.skipped, 0);
    const refused = opts.skipBadRows === false && report.errors > 0;
    if (fatal || trainCount === 0 || refused) {
      await fs.rm(tmp, { recursive: true, force: true });
      const reason = fatal
        ? `${path.basename(fatal.file)}: ${fatal.diagnostics.find((d) => d.severity === 'error')?.message ?? fatal.fatal}`
        : trainCount === 0
          ? 'The training split has no usable examples.'
          : `${report.errors} error${report.errors === 1 ? '' : 's'}${skipped ? ` (${skipped} row${skipped === 1 ? '' : 's'} would be left out)` : ''}. Fix them, or import with --skip-bad-rows to leave the bad rows out.`;
      return { ok: false, reason, report, skipped };
    }
    const sources: ManifestSource[] = [];
    for (const f of report.files) {
      const st = await fs.stat(f.file);
      sources.push({ split: f.split, path: path.resolve(f.file), sha256: f.facts?.sha256 ?? (await hashFile(f.file)).sha256, bytes: st.size, mtimeMs: st.mtimeMs, encoding: f.facts?.encoding, newline: f.facts?.newline });
    }
    const splits: Partial<Record<SplitName, ManifestSplit>> = {};
    for (const split of SPLITS) {
      const c = report.splits[split];
      if (!c || c.examples === 0) continue;
      const src = request.files[split] ?? request.files.train;
      const fileReport = report.files.find((f) => f.split === split);
      splits[split] = { file: `${split}.jsonl`, count: c.examples, source: path.resolve(src), ...(fileReport?.counts.labels && !request.seededSplit ? { labels: names ? renameCounts(fileReport.counts.labels, names) : fileReport.counts.labels } : {}) };
    }
    const byCode: Partial<Record<ProblemCode, number>> = {};
    for (const f of report.files) for (const [k, v] of Object.entries(f.problems)) byCode[k as ProblemCode] = (byCode[k as ProblemCode] ?? 0) + (v ?? 0);
    const labels = report.labels && report.labels.length ? (names ? renameLabel(report.labels, names) : report.labels) : undefined;
    const multiLabel = request.multiLabel === true && request.task === 'sequence_classification';
    const labelDelimiter = multiLabel && request.format !== 'jsonl' ? (request.labelDelimiter ?? '|') : multiLabel ? request.labelDelimiter : undefined;
    const manifest: DatasetManifest = {
      version: MANIFEST_VERSION,
      id,
      name: opts.name ?? id,
      created: new Date().toISOString(),
      task: request.task,
      format: request.format,
      mapping: request.mapping,
      options: request.options ?? {},
      sources,
      ...(labels ? { labels, label_map: Object.fromEntries(labels.map((l, i) => [l, i])) } : {}),
      ...(multiLabel ? { multi_label: true, ...(labelDelimiter ? { label_delimiter: labelDelimiter } : {}) } : {}),
      ...(names ? { label_names: { ...names } } : {}),
      splits,
      ...(request.seededSplit && !request.files.validation ? { seeded_split: request.seededSplit } : {}),
      counts: Object.fromEntries(report.files.map((f) => [f.split, names && f.counts.labels ? { ...f.counts, labels: renameCounts(f.counts.labels, names) } : f.counts])),
      problems: { errors: report.errors, warnings: report.warnings, byCode },
    };
    await fs.writeFile(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const dir = path.join(datasetsDir, id);
    if (await exists(dir)) {
      // Replace: move the old one aside first, so that a failed rename can be undone.
      const old = path.join(datasetsDir, `.old-${id}-${randomBytes(6).toString('hex')}`);
      await fs.rename(dir, old);
      try {
        await fs.rename(tmp, dir);
      } catch (err) {
        await fs.rename(old, dir);
        throw err;
      }
      await fs.rm(old, { recursive: true, force: true });
    } else {
      await fs.rename(tmp, dir);
    }
    return { ok: true, id, dir, manifest, report, skipped };
  } catch (err) {
    writers.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    if ((err as Error).name === 'AbortError') throw new AbortError();
    throw err;
  }
}

/** The request that re-reads a dataset's sources the way it was imported. */
export function requestFromManifest(m: DatasetManifest): DatasetRequest {
  const file = (split: SplitName): string | undefined => m.sources.find((s) => s.split === split)?.path;
  return {
    task: m.task,
    format: m.format,
    mapping: m.mapping,
    options: m.options,
    files: { train: file('train') ?? '', validation: file('validation'), test: file('test') },
    seededSplit: m.seeded_split,
    ...(m.multi_label ? { multiLabel: true, ...(m.label_delimiter ? { labelDelimiter: m.label_delimiter } : {}) } : {}),
    ...(m.label_names ? { labelNames: m.label_names } : {}),
  };
}

export interface DatasetEntry {
  readonly id: string;
  readonly dir: string;
  readonly manifest: DatasetManifest;
}

export async function readManifest(dir: string): Promise<DatasetManifest> {
  const m = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as DatasetManifest;
  if (typeof m !== 'object' || !m || typeof m.task !== 'string' || typeof m.splits !== 'object') throw new Error(`${dir}: not a dataset manifest`);
  return m;
}

/** Imported datasets, newest first; half-written or foreign folders are skipped. */
export async function listDatasets(datasetsDir: string): Promise<DatasetEntry[]> {
  let names: string[];
  try {
    names = await fs.readdir(datasetsDir);
  } catch {
    return [];
  }
  const out: DatasetEntry[] = [];
  for (const id of names) {
    if (id.startsWith('.') || !DATASET_ID_PATTERN.test(id)) continue;
    const dir = path.join(datasetsDir, id);
    try {
      out.push({ id, dir, manifest: await readManifest(dir) });
    } catch {
      // Not a dataset.
    }
  }
  return out.sort((a, b) => (a.manifest.created < b.manifest.created ? 1 : -1));
}

/** An id the store would create; anything else (`../x`, `a/b`, an absolute path) is refused. */
export class InvalidDatasetIdError extends Error {
  constructor(readonly id: string) {
    super(`Invalid dataset id ${JSON.stringify(id)}: an id is 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit (see "dataset list"). It names a folder under .bert-studio/datasets; paths are not accepted.`);
    this.name = 'InvalidDatasetIdError';
  }
}

export function checkDatasetId(id: string): void {
  if (!DATASET_ID_PATTERN.test(id) || id === '.' || id === '..') throw new InvalidDatasetIdError(id);
}

export function datasetDir(datasetsDir: string, id: string): string {
  checkDatasetId(id);
  return path.join(datasetsDir, id);
}

/** Absolute paths of a snapshot's split files (what a run's spec.json points at). */
export async function snapshotPaths(datasetsDir: string, id: string): Promise<Partial<Record<SplitName, string>>> {
  const dir = datasetDir(datasetsDir, id);
  const m = await readManifest(dir);
  const out: Partial<Record<SplitName, string>> = {};
  for (const split of SPLITS) {
    const s = m.splits[split];
    if (s) out[split] = path.join(dir, s.file);
  }
  return out;
}

/** What a training run on a snapshot takes from its manifest: split files, labels, multi-label. */
export interface SnapshotRunInputs {
  readonly task: Task;
  readonly train: string;
  readonly validation?: string;
  readonly labels?: string[];
  /** From the manifest's multi_label: the run needs no separate question or flag. */
  readonly multiLabel: boolean;
  readonly trainCount?: number;
}

/** Reads a snapshot's manifest synchronously-shaped data into run inputs (absolute paths). */
export function runInputsFromManifest(dir: string, m: DatasetManifest): SnapshotRunInputs {
  const train = m.splits.train;
  const val = m.splits.validation;
  return {
    task: m.task,
    train: path.resolve(dir, train?.file ?? 'train.jsonl'),
    ...(val ? { validation: path.resolve(dir, val.file) } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    multiLabel: m.multi_label === true && m.task === 'sequence_classification',
    ...(train ? { trainCount: train.count } : {}),
  };
}

export async function snapshotRunInputs(datasetsDir: string, id: string): Promise<SnapshotRunInputs> {
  const dir = datasetDir(datasetsDir, id);
  return runInputsFromManifest(dir, await readManifest(dir));
}

export async function removeDataset(datasetsDir: string, id: string): Promise<void> {
  const dir = datasetDir(datasetsDir, id);
  // Rename first so the view never lists a half-deleted dataset.
  const trash = path.join(datasetsDir, `.old-${id}-${randomBytes(6).toString('hex')}`);
  await fs.rename(dir, trash);
  await fs.rm(trash, { recursive: true, force: true });
}

/** `unchecked`: not read, because it is outside the workspace, not a regular file, or too large to hash. */
export type SourceState = 'unchanged' | 'changed' | 'missing' | 'unchecked';

/** Sources larger than this are compared by size and mtime only, never hashed (a refresh stays cheap). */
export const MAX_SOURCE_HASH_BYTES = 4 * 1024 ** 3;

/** sha256 of files already hashed, by path, size and mtime: a touched source is hashed once, not on every refresh. */
const hashes = new Map<string, string>();
const MAX_HASHES = 256;

export interface SourceCheckOptions {
  /** The workspace folder: only sources inside it (after resolving links) are looked at. */
  readonly workspace: string | undefined;
  readonly signal?: AbortSignal;
  readonly maxBytes?: number;
  /** For tests. */
  readonly hash?: (file: string, signal?: AbortSignal, maxBytes?: number) => Promise<{ sha256: string }>;
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * sha256 of a regular file of at most `maxBytes`: opened without blocking (a FIFO swapped in after
 * the check cannot hang it), checked on the open handle, and read only up to its size.
 */
export async function hashRegularFile(file: string, signal?: AbortSignal, maxBytes = MAX_SOURCE_HASH_BYTES): Promise<{ sha256: string; bytes: number }> {
  const c = fsConstants as { O_RDONLY: number; O_NONBLOCK?: number; O_NOFOLLOW?: number };
  const fh = await fs.open(file, c.O_RDONLY | (c.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${file}: not a regular file`);
    if (st.size > maxBytes) throw new Error(`${file}: larger than ${maxBytes} bytes`);
    return await hashOpenFile(fh, st.size, signal);
  } finally {
    await fh.close();
  }
}

/**
 * Compares each source with the manifest. A manifest is a file anyone can edit, so a source is
 * only looked at when it is a regular file inside the workspace (links resolved); others are
 * `unchecked`, with the reason. Size and mtime first; a different size is `changed`; sha256 only
 * when the size matches but the mtime does not (once per size and mtime, up to `maxBytes`).
 */
export async function sourceStates(m: DatasetManifest, opts: SourceCheckOptions): Promise<{ source: ManifestSource; state: SourceState; reason?: string }[]> {
  const out: { source: ManifestSource; state: SourceState; reason?: string }[] = [];
  const maxBytes = opts.maxBytes ?? MAX_SOURCE_HASH_BYTES;
  const hash = opts.hash ?? hashRegularFile;
  let root: string | undefined;
  try {
    root = opts.workspace ? await fs.realpath(opts.workspace) : undefined;
  } catch {
    root = undefined;
  }
  for (const source of Array.isArray(m.sources) ? m.sources : []) {
    const unchecked = (reason: string): void => void out.push({ source, state: 'unchecked', reason });
    if (typeof source?.path !== 'string' || !path.isAbsolute(source.path)) {
      unchecked('the manifest gives no absolute path');
      continue;
    }
    if (!root) {
      unchecked('no workspace folder is open');
      continue;
    }
    let real: string;
    try {
      real = await fs.realpath(source.path);
    } catch {
      out.push({ source, state: 'missing' });
      continue;
    }
    if (!inside(root, real)) {
      unchecked('outside the workspace, so not compared');
      continue;
    }
    let st;
    try {
      st = await fs.stat(real);
    } catch {
      out.push({ source, state: 'missing' });
      continue;
    }
    if (!st.isFile()) {
      unchecked('not a regular file');
      continue;
    }
    if (st.size !== source.bytes) {
      out.push({ source, state: 'changed' });
      continue;
    }
    if (st.mtimeMs === source.mtimeMs) {
      out.push({ source, state: 'unchanged' });
      continue;
    }
    if (st.size > maxBytes) {
      unchecked(`larger than ${Math.round(maxBytes / 1024 ** 3)} GiB, so not hashed`);
      continue;
    }
    const key = `${real}\0${st.size}\0${st.mtimeMs}`;
    let sha256 = hashes.get(key);
    if (sha256 === undefined) {
      try {
        sha256 = (await hash(real, opts.signal, maxBytes)).sha256;
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        unchecked((err as Error).message);
        continue;
      }
      if (hashes.size >= MAX_HASHES) hashes.delete(hashes.keys().next().value as string);
      hashes.set(key, sha256);
    }
    out.push({ source, state: sha256 === source.sha256 ? 'unchanged' : 'changed' });
  }
  return out;
}
