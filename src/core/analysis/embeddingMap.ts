// The embedding map (the worker's `embeddings` command, trainer/bert_studio_trainer/analysis/
// embeddings.py): running it, reading and checking the file it writes in <run>/analysis/, and the
// points as the page gets them (no paths: "file name:line"). No `vscode` import: the extension
// (src/vscode/analysis/embeddingMap.ts), the CLI and the tests use it as it is.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { check } from '../../shared/guard';
import { EMBEDDING_MAP_FILE, type EmbeddingMapFile, type PageMap, type Settings, type Split } from '../../../webview/embeddings/protocol';
import { EvaluationError, runWorkerJson } from '../runs/evaluate';
import { webviewPage } from '../webview/page';

export type { EmbeddingMapFile, Settings };

export const ANALYSIS_DIR = 'analysis';

/** The worker's cache file for these settings (it names split, method and pooling). */
export function embeddingMapFile(runDir: string, s: Settings): string {
  return path.join(runDir, ANALYSIS_DIR, `embeddings-${s.split}-${s.method}-${s.pooling}.json`);
}

/** The worker's file as text: the checked map, or why it was refused (the first wrong field, with its path). */
export function parseEmbeddingMap(text: string): { ok: true; map: EmbeddingMapFile } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  const c = check(EMBEDDING_MAP_FILE, value);
  return c.ok ? { ok: true, map: c.value } : { ok: false, reason: c.reason };
}

/** The page (the shared shell: strict CSP, nonce'd script); `title` names the run. */
export function embeddingMapHtml(p: { cspSource: string; scriptUri: string; styleUri: string; title: string; runId: string; nonce?: string }): string {
  return webviewPage({ cspSource: p.cspSource, title: p.title, scriptUri: p.scriptUri, styleUris: [p.styleUri], bodyAttributes: { 'data-run': p.runId }, nonce: p.nonce });
}

/** The cached map for these settings, undefined when there is none; a broken file is an EvaluationError naming it. */
export async function readEmbeddingMap(runDir: string, s: Settings): Promise<EmbeddingMapFile | undefined> {
  const file = embeddingMapFile(runDir, s);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = parseEmbeddingMap(text);
  if (!parsed.ok) throw new EvaluationError(`${file}: not an embedding map the extension can show (${parsed.reason}); compute it again (the worker rewrites it).`);
  return parsed.map;
}

/**
 * "file:line", the file relative to the workspace when inside it, else its name (the page never gets
 * a path) or, with `fullPath` (the CLI), the whole path.
 */
export function pointWhere(source: { file: string; line: number } | null, workspaceRoot?: string, fullPath = false): string | null {
  if (!source) return null;
  const rel = workspaceRoot ? path.relative(workspaceRoot, source.file) : '';
  const name = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : fullPath ? source.file : path.basename(source.file);
  return `${name}:${source.line}`;
}

/** The map as the page gets it: every point without its path. */
export function pageMap(m: EmbeddingMapFile, cached: boolean, workspaceRoot?: string): PageMap {
  return {
    task: m.task,
    split: m.split,
    method: m.method,
    pooling: m.pooling,
    examples: m.examples,
    labels: m.labels,
    metrics: m.metrics,
    explainedVariance: m.explained_variance,
    cached,
    points: m.points.map((p) => ({ index: p.index, x: p.x, y: p.y, gold: p.gold, pred: p.pred, correct: p.correct, text: p.text, where: pointWhere(p.source, workspaceRoot) })),
  };
}

/** The splits a run's spec has data for: validation only when `data.validation` is set. */
export function runSplits(spec: unknown): Split[] {
  const data = (spec as { data?: { validation?: unknown } } | undefined)?.data;
  return typeof data?.validation === 'string' && data.validation ? ['validation', 'train'] : ['train'];
}

/** The worker's summary line of `embeddings`. */
export interface EmbeddingMapSummary {
  readonly run: string;
  readonly file: string;
  readonly task: string;
  readonly split: Split;
  readonly method: Settings['method'];
  readonly pooling: Settings['pooling'];
  readonly points: number;
  readonly examples: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly cached: boolean;
  readonly seconds: number;
}

export interface EmbeddingMapOptions {
  readonly python: string;
  /** The run folder. */
  readonly run: string;
  readonly settings: Settings;
  /** Sample this many examples of a longer split (the worker's default: 2,000). */
  readonly maxExamples?: number;
  readonly seed?: number;
  /** Compute again even when the cached map matches. */
  readonly force?: boolean;
  readonly packageRoot: string;
  readonly signal?: AbortSignal;
  /** The worker's progress lines ("embedding 64/500 examples"). */
  readonly onStderr?: (line: string) => void;
}

/**
 * Runs the worker's `embeddings` (a cached map with the same model, data and settings comes back at
 * once) and reads the file it names: the summary and the checked map. Bad input rejects with
 * EvaluationError (the worker's one line: the option and the fix); a cancel with an AbortError.
 */
export async function computeEmbeddingMap(opts: EmbeddingMapOptions): Promise<{ summary: EmbeddingMapSummary; map: EmbeddingMapFile }> {
  const s = opts.settings;
  const args = ['embeddings', '--model', opts.run, '--split', s.split, '--method', s.method, '--pooling', s.pooling];
  if (opts.maxExamples !== undefined) args.push('--max-examples', String(opts.maxExamples));
  if (opts.seed !== undefined) args.push('--seed', String(opts.seed));
  if (opts.force) args.push('--force');
  const summary = await runWorkerJson<EmbeddingMapSummary>(opts.python, args, opts, 'the embedding map');
  const map = await readEmbeddingMap(opts.run, s);
  if (!map) throw new EvaluationError(`the worker reported ${summary.file} but it is not there; compute the map again.`);
  return { summary, map };
}
