/**
 * A tiny MRPC run trained for real by the worker (3 steps, ONNX export on), shared by the pairs,
 * evaluate and batch-predict tests of one mocha process: a workspace in the temp folder whose run
 * validates on the first DEV_ROWS rows of MRPC dev (written to dev-head.tsv beside it).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot, studioLayout } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { buildSpec } from '../../../src/core/runs/spec';

export const ROOT = packageRoot(__dirname);
export const PYTHON = venvPython(path.join(ROOT, '.venv'));
export const DATA = process.env.BERT_STUDIO_DATA ?? path.resolve(ROOT, '..', 'shared', 'data');
export const DEV_ROWS = 40;
export const RUN_ID = 'mrpc-tiny';

export interface PairRun {
  readonly workspace: string;
  readonly runDir: string;
  /** The first DEV_ROWS examples of MRPC dev, with its header (a raw GLUE TSV). */
  readonly dev: string;
}

export function pairRunAvailable(): boolean {
  return fs.existsSync(PYTHON) && fs.existsSync(path.join(DATA, 'mrpc', 'dev.tsv'));
}

let pending: Promise<PairRun> | undefined;

export function tinyPairRun(): Promise<PairRun> {
  pending ??= (async () => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-pairs-'));
    // About 740 MB (checkpoints and exports): gone when the mocha process ends.
    process.once('exit', () => fs.rmSync(workspace, { recursive: true, force: true }));
    const dev = path.join(workspace, 'dev-head.tsv');
    const lines = fs.readFileSync(path.join(DATA, 'mrpc', 'dev.tsv'), 'utf8').replace(/^\uFEFF/, '').split('\n');
    fs.writeFileSync(dev, `${lines.slice(0, DEV_ROWS + 1).join('\n')}\n`);
    const runDir = path.join(studioLayout(workspace).runsDir, RUN_ID);
    fs.mkdirSync(runDir, { recursive: true });
    const spec = buildSpec({
      task: 'sequence_classification', model: 'default', train: path.join(DATA, 'mrpc', 'train.tsv'), validation: dev, device: 'cpu',
      maxTrainSamples: 48, training: { max_steps: 3, per_device_train_batch_size: 8, max_seq_length: 128, eval_steps: 1000, save_steps: 1000 },
    });
    fs.writeFileSync(path.join(runDir, 'spec.json'), JSON.stringify(spec));
    const env = { ...process.env, ...workerEnv(ROOT), BERT_STUDIO_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
    await promisify(execFile)(PYTHON, ['-m', 'bert_studio_trainer', 'train', '--run-dir', runDir], { env, maxBuffer: 64 << 20 });
    return { workspace, runDir, dev };
  })();
  return pending;
}

/** The rows of a GLUE MRPC TSV: [label, id1, id2, sentence1, sentence2], header left out. */
export function mrpcRows(file: string): string[][] {
  return fs.readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
}
