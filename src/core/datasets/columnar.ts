// Parquet and Arrow files: a Hub dataset's parquet files, Arrow IPC files and `datasets`'
// `save_to_disk` folders. Each row becomes one JSON object on one line of a temporary JSON Lines
// file, which the JSON Lines reader checks: the same streamed validation and diagnostics, and a
// diagnostic's line is the row number (1-based). Readers: hyparquet (pure JavaScript, every
// Parquet encoding and codec with hyparquet-compressors, row-group by row-group reads) and
// apache-arrow (the Arrow project's own JavaScript implementation, streamed record batches).
// Integer labels of a `datasets` ClassLabel feature are written as their names, read from the
// `huggingface` schema metadata or the folder's dataset_info.json.

import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Hyparquet from 'hyparquet';
import type { AsyncBuffer } from 'hyparquet';
import type { Compressors } from 'hyparquet-compressors';
import { AbortError, type SplitSources } from './types';

export type ColumnarFormat = 'parquet' | 'arrow';

export const COLUMNAR_EXTENSIONS: Readonly<Record<string, ColumnarFormat>> = {
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
};

export function isColumnar(format: string): format is ColumnarFormat {
  return format === 'parquet' || format === 'arrow';
}

/** A file or folder that cannot be read as columnar data; the message says why and the fix. */
export class ColumnarError extends Error {}

/** Column → its class names, for columns (or lists) of ClassLabel integers. */
export type ClassNames = Record<string, readonly string[]>;

export interface ColumnarHead {
  readonly columns: string[];
  readonly rows: number;
  /** The first row, as it will be written (class names applied). */
  readonly first: Record<string, unknown>;
}

/** The ClassLabel names of a `datasets` features object: `label`, or a list (`ner_tags`) of them. */
export function classNamesOf(features: unknown): ClassNames {
  const out: Record<string, string[]> = {};
  if (!features || typeof features !== 'object') return out;
  const names = (f: unknown): string[] | undefined => {
    const o = f as { _type?: string; names?: unknown; feature?: unknown };
    if (!o || typeof o !== 'object') return undefined;
    if (o._type === 'ClassLabel' && Array.isArray(o.names)) return o.names.map(String);
    if ((o._type === 'Sequence' || o._type === 'List' || o._type === 'LargeList') && o.feature) return names(o.feature);
    if (Array.isArray(f) && f.length === 1) return names(f[0]);
    return undefined;
  };
  for (const [k, v] of Object.entries(features as Record<string, unknown>)) {
    const n = names(v);
    if (n) out[k] = n;
  }
  return out;
}

function featuresFromMetadata(json: string | undefined): ClassNames {
  if (!json) return {};
  try {
    const m = JSON.parse(json) as { info?: { features?: unknown } };
    return classNamesOf(m.info?.features);
  } catch {
    return {};
  }
}

/** A JSON-ready plain value: bigints as numbers, dates as ISO text, Arrow vectors and rows as lists and objects. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v !== 'object') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) return v.map(plain);
  const o = v as { toArray?: () => unknown; toJSON?: () => unknown; [Symbol.iterator]?: unknown };
  // Arrow vectors (lists) and struct rows.
  if (typeof o.toArray === 'function' && typeof o[Symbol.iterator] === 'function') return Array.from(o as Iterable<unknown>, plain);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, plain);
  if (typeof o.toJSON === 'function') {
    const j = o.toJSON();
    if (j !== v) return plain(j);
  }
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]));
}

function withNames(row: Record<string, unknown>, classNames: ClassNames): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(row)) {
    const v = plain(raw);
    const names = classNames[k];
    const name = (x: unknown): unknown => (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < (names?.length ?? 0) ? names![x] : x);
    out[k] = names ? (Array.isArray(v) ? v.map(name) : name(v)) : v;
  }
  return out;
}

// ---- Parquet --------------------------------------------------------------------------------

async function hyparquet(): Promise<{ hp: typeof Hyparquet; compressors: Compressors }> {
  const [hp, c] = await Promise.all([import('hyparquet'), import('hyparquet-compressors')]);
  return { hp, compressors: c.compressors };
}

/** The file as hyparquet's AsyncBuffer: byte ranges read on demand, never the whole file. */
async function fileBuffer(file: string): Promise<{ buffer: AsyncBuffer; close: () => Promise<void> }> {
  const fh = await fs.open(file, 'r');
  const size = (await fh.stat()).size;
  return {
    buffer: {
      byteLength: size,
      async slice(start: number, end = size): Promise<ArrayBuffer> {
        const n = Math.max(0, Math.min(end, size) - start);
        const buf = Buffer.alloc(n);
        await fh.read(buf, 0, n, start);
        return buf.buffer.slice(buf.byteOffset, buf.byteOffset + n);
      },
    },
    close: () => fh.close(),
  };
}

async function* parquetRows(file: string, signal?: AbortSignal, limit = Infinity): AsyncGenerator<Record<string, unknown>, ClassNames> {
  const { hp, compressors } = await hyparquet();
  const { buffer, close } = await fileBuffer(file);
  try {
    let metadata;
    try {
      metadata = await hp.parquetMetadataAsync(buffer);
    } catch (e) {
      throw new ColumnarError(`This is not a readable Parquet file (${(e as Error).message}). Check that the download finished, or export the data again (e.g. pandas' to_parquet).`);
    }
    const classNames = featuresFromMetadata(metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface')?.value);
    let start = 0;
    let yielded = 0;
    for (const rg of metadata.row_groups) {
      const n = Number(rg.num_rows);
      if (signal?.aborted) throw new AbortError();
      let rows: Record<string, unknown>[];
      try {
        rows = await hp.parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: start + n, compressors });
      } catch (e) {
        throw new ColumnarError(`Cannot decode rows ${start + 1}–${start + n} of this Parquet file (${(e as Error).message}). Export the data again, or convert it to JSON Lines.`);
      }
      for (const r of rows) {
        yield withNames(r, classNames);
        if (++yielded >= limit) return classNames;
      }
      start += n;
    }
    return classNames;
  } finally {
    await close();
  }
}

// ---- Arrow ----------------------------------------------------------------------------------

async function* arrowRows(file: string, extraNames: ClassNames, signal?: AbortSignal, limit = Infinity): AsyncGenerator<Record<string, unknown>, ClassNames> {
  const arrow = await import('apache-arrow');
  const stream = createReadStream(file);
  let reader;
  try {
    reader = await arrow.RecordBatchReader.from(stream);
    await reader.open();
  } catch (e) {
    stream.destroy();
    throw new ColumnarError(`This is not a readable Arrow IPC file (${(e as Error).message}). Write it with pyarrow (ipc.new_file / new_stream) or datasets' save_to_disk, or export Parquet instead.`);
  }
  const classNames = { ...featuresFromMetadata(reader.schema?.metadata.get('huggingface')), ...extraNames };
  let yielded = 0;
  try {
    for await (const batch of reader) {
      if (signal?.aborted) throw new AbortError();
      for (let i = 0; i < batch.numRows; i++) {
        const row = batch.get(i);
        yield withNames((row?.toJSON() ?? {}) as Record<string, unknown>, classNames);
        if (++yielded >= limit) return classNames;
      }
    }
  } catch (e) {
    if (e instanceof AbortError) throw e;
    throw new ColumnarError(`Cannot decode this Arrow file after row ${yielded} (${(e as Error).message}). Write it again, or convert it to JSON Lines.`);
  } finally {
    stream.destroy();
  }
  return classNames;
}

// ---- datasets' save_to_disk folders ------------------------------------------------------------

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** One split folder of save_to_disk (state.json + data-*.arrow): its data file. */
async function splitFolderFile(dir: string): Promise<string> {
  const state = (await readJson(path.join(dir, 'state.json')).catch(() => undefined)) as { _data_files?: { filename?: string }[] } | undefined;
  const files = (state?._data_files ?? []).map((f) => f.filename).filter((f): f is string => typeof f === 'string');
  if (files.length === 0) throw new ColumnarError(`${dir}: state.json names no data files. Save the dataset again with datasets' save_to_disk, or point at its .arrow file.`);
  if (files.length > 1) {
    throw new ColumnarError(
      `${dir} holds ${files.length} shards (${files.slice(0, 3).join(', ')}…); a split is read from one file. Save it as one shard (save_to_disk(..., num_shards=1)), or export Parquet (dataset.to_parquet("train.parquet")).`,
    );
  }
  return path.join(dir, files[0]);
}

const SPLIT_OF: Record<string, keyof SplitSources> = { train: 'train', validation: 'validation', valid: 'validation', dev: 'validation', test: 'test' };

/**
 * A `save_to_disk` folder as split files: a Dataset folder (state.json) is one train file; a
 * DatasetDict folder (dataset_dict.json) gives each known split (train, validation/dev, test).
 * Undefined for a folder that is neither.
 */
export async function saveToDiskSplits(dir: string): Promise<Partial<SplitSources> | undefined> {
  if (await exists(path.join(dir, 'dataset_dict.json'))) {
    const dict = (await readJson(path.join(dir, 'dataset_dict.json')).catch(() => ({}))) as { splits?: unknown };
    const splits = Array.isArray(dict.splits) ? dict.splits.map(String) : [];
    const out: { train?: string; validation?: string; test?: string } = {};
    for (const s of splits) {
      const role = SPLIT_OF[s.toLowerCase()];
      if (role && !out[role]) out[role] = await splitFolderFile(path.join(dir, s));
    }
    if (!out.train) throw new ColumnarError(`${dir}: the DatasetDict has no train split (splits: ${splits.join(', ') || 'none'}). Pick a split folder, or pass its .arrow file.`);
    return out;
  }
  if (await exists(path.join(dir, 'state.json'))) return { train: await splitFolderFile(dir) };
  return undefined;
}

/** ClassLabel names from the dataset_info.json beside a save_to_disk data file, if any. */
async function folderClassNames(file: string): Promise<ClassNames> {
  const info = (await readJson(path.join(path.dirname(file), 'dataset_info.json')).catch(() => undefined)) as { features?: unknown } | undefined;
  return classNamesOf(info?.features);
}

// ---- The API ---------------------------------------------------------------------------------

export function columnarRows(file: string, format: ColumnarFormat, opts: { signal?: AbortSignal; limit?: number } = {}): AsyncGenerator<Record<string, unknown>, ClassNames> {
  if (format === 'parquet') return parquetRows(file, opts.signal, opts.limit);
  return (async function* () {
    return yield* arrowRows(file, await folderClassNames(file), opts.signal, opts.limit);
  })();
}

/** Columns, row count and first row, for detection and the import wizard. */
export async function columnarHead(file: string, format: ColumnarFormat): Promise<ColumnarHead> {
  let first: Record<string, unknown> = {};
  for await (const row of columnarRows(file, format, { limit: 1 })) first = row;
  let rows = 0;
  if (format === 'parquet') {
    const { hp } = await hyparquet();
    const { buffer, close } = await fileBuffer(file);
    try {
      rows = Number((await hp.parquetMetadataAsync(buffer)).num_rows);
    } finally {
      await close();
    }
  }
  return { columns: Object.keys(first), rows, first };
}

/**
 * Writes the rows as JSON Lines (one row a line) into a new temporary file, for the JSON Lines
 * reader; the caller removes it with `dispose`.
 */
export async function columnarToJsonl(file: string, format: ColumnarFormat, signal?: AbortSignal): Promise<{ path: string; rows: number; classNames: ClassNames; dispose: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bert-studio-columnar-'));
  const out = path.join(dir, 'rows.jsonl');
  const dispose = (): Promise<void> => fs.rm(dir, { recursive: true, force: true });
  const ws = createWriteStream(out);
  let rows = 0;
  try {
    const it = columnarRows(file, format, { signal });
    let r = await it.next();
    for (; !r.done; r = await it.next()) {
      rows++;
      if (!ws.write(`${JSON.stringify(r.value)}\n`)) await new Promise<void>((res) => ws.once('drain', () => res()));
    }
    await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
    return { path: out, rows, classNames: r.value, dispose };
  } catch (e) {
    ws.destroy();
    await dispose();
    throw e;
  }
}
