// Evaluation of a trained run on another file or a snapshot's split (`bert-studio evaluate`, the
// Models view's "Evaluate on…"): the worker's `evaluate` subcommand scores it with the run's own
// tokenization and metrics, writes <run>/evaluations/<name>/{metrics.json, predictions.jsonl} and
// appends an `eval` event with `split` and `name` to the run's events (DESIGN.md).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../datasets/detect';
import { snapshotPaths } from '../datasets/snapshot';
import { workerEnv } from '../python/workerEnv';

export const EVALUATIONS_DIR = 'evaluations';

/** The data to evaluate on: a file, or `DATASET[:split]` of the workspace's snapshots (default split: test). */
export interface EvalData {
  readonly file: string;
  /** The split shown beside the validation figures. */
  readonly split: string;
  /** The evaluation's name (its folder under evaluations/). */
  readonly name: string;
}

/** A problem the user fixes (bad data, an unknown dataset, a model without training); one line. */
export class EvaluationError extends Error {}

function slug(s: string): string {
  return s.replace(/[^\w.-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80) || 'evaluation';
}

/** `value` as a file (if it exists), else as `DATASET[:split]` of `datasetsDir`. */
export async function resolveEvalData(value: string, datasetsDir: string, name?: string): Promise<EvalData> {
  if (fs.existsSync(value)) {
    if (!fs.statSync(value).isFile()) throw new EvaluationError(`${value} is a folder; give the data file inside it, or DATASET:split.`);
    const file = path.resolve(value);
    if ((await guessDataset(file)).labelPrefixed) {
      // The worker reads snapshots and raw GLUE/CoNLL/SQuAD files; `LABEL text` lines go through an import.
      throw new EvaluationError(`${path.basename(file)} holds label-prefixed lines ("LABEL text"): import it as a test split first (bert-studio dataset import TRAIN_FILE --label-prefixed --test ${path.basename(file)}, or "Add Test Split…" in the Datasets view), then evaluate on DATASET:test.`);
    }
    return { file, split: 'test', name: slug(name ?? path.basename(file, path.extname(file))) };
  }
  const m = /^([\w.-]+)(?::(train|validation|test))?$/.exec(value);
  if (!m) throw new EvaluationError(`${value}: no such file, and not DATASET[:train|validation|test]. Check the path or the dataset id (bert-studio dataset list).`);
  const [, id, split = 'test'] = m;
  let splits: Awaited<ReturnType<typeof snapshotPaths>>;
  try {
    splits = await snapshotPaths(datasetsDir, id);
  } catch {
    throw new EvaluationError(`${value}: no file of that name and no imported dataset "${id}". Give a file, or import it first (bert-studio dataset import FILE --test TEST_FILE).`);
  }
  const file = splits[split as keyof typeof splits];
  if (!file) {
    const have = Object.keys(splits).join(', ');
    throw new EvaluationError(`dataset ${id} has no ${split} split (it has ${have}). Import it again with --${split === 'test' ? 'test' : 'validation'} FILE, or evaluate on ${id}:${Object.keys(splits).includes('validation') ? 'validation' : 'train'}.`);
  }
  return { file, split, name: slug(name ?? `${id}-${split}`) };
}

export interface EvaluateOptions {
  readonly python: string;
  /** A run folder (or a model folder inside one). */
  readonly model: string;
  readonly data: EvalData;
  /** Root of the package (its trainer/ goes first on PYTHONPATH). */
  readonly packageRoot: string;
  /** Folder to write into; default `<run>/evaluations/<name>`. */
  readonly out?: string;
  readonly device?: string;
  readonly signal?: AbortSignal;
  /** The worker's stderr lines, as they come (warnings, progress). */
  readonly onStderr?: (line: string) => void;
}

/** The worker's metrics.json (the fields the host reads; the file has the eval tables too). */
export interface EvaluationReport {
  readonly name: string;
  readonly split: string;
  readonly data: string;
  readonly model: string;
  readonly run: string | null;
  readonly task: string;
  readonly step: number;
  readonly examples: number;
  readonly seconds: number;
  readonly metrics: Record<string, number | null>;
  readonly predictions: string | null;
  readonly [table: string]: unknown;
}

/** Where an evaluation of `model` named `name` is written. */
export function evaluationDir(model: string, name: string): string {
  const runDir = fs.existsSync(path.join(model, 'spec.json')) ? model : path.dirname(model);
  return path.join(runDir, EVALUATIONS_DIR, slug(name));
}

/** Runs the worker's evaluation; resolves with its report, rejects with EvaluationError for the user's problems. */
export async function evaluateRun(opts: EvaluateOptions): Promise<EvaluationReport & { out: string }> {
  const out = opts.out ?? evaluationDir(opts.model, opts.data.name);
  const args = ['evaluate', '--model', opts.model, '--data', opts.data.file, '--out', out, '--name', opts.data.name, '--split', opts.data.split];
  if (opts.device) args.push('--device', opts.device);
  const report = await runWorkerJson<EvaluationReport>(opts.python, args, opts, 'the evaluation');
  return { ...report, out };
}

/**
 * One worker subcommand (`python -m bert_studio_trainer ARGS`) whose last stdout line is a JSON report:
 * resolves with it; exit 2 (bad input, `error: ...` lines on stderr) rejects with EvaluationError, any
 * other failure with an Error. Used by evaluate and label-errors.
 */
export function runWorkerJson<T>(python: string, args: readonly string[], opts: { packageRoot: string; signal?: AbortSignal; onStderr?: (line: string) => void }, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'bert_studio_trainer', ...args], { env: { ...process.env, ...workerEnv(opts.packageRoot) }, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) opts.onStderr?.(l);
    });
    child.on('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new EvaluationError(`Python not found at ${python}; set up the training environment (BERT Studio: Set Up Training Environment) or pass --python.`) : err));
    child.on('close', (code) => {
      if (code === 0) {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as T);
        } catch {
          reject(new Error(`${what} wrote no report (stdout: ${stdout.slice(-200)})`));
        }
        return;
      }
      const errors = stderr.split('\n').filter((l) => l.startsWith('error: ')).map((l) => l.slice(7));
      const message = errors.join('\n') || stderr.trim().split('\n').slice(-3).join('\n') || `${what} exited with code ${code}`;
      reject(code === 2 ? new EvaluationError(message) : new Error(message));
    });
  });
}
