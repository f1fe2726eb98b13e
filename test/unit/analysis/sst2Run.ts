/**
 * A tiny SST-2 run trained for real by the worker (256 training rows with every tenth label flipped,
 * 3 epochs of 8 steps, no export), so its dynamics.jsonl has several epochs per example and
 * label-errors has noise to find; shared by the data-map and slices tests of one mocha process. The workspace (temporary, removed when mocha ends) holds the heads of SST-2
 * train and dev it reads, so every source line is inside it.
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
export const TRAIN_ROWS = 256;
/** Source lines (1-based, after the header) of the training rows whose label is flipped. */
export const FLIPPED_LINES: readonly number[] = Array.from({ length: Math.floor((TRAIN_ROWS - 6) / 10) + 1 }, (_, k) => 7 + 10 * k);
export const DEV_ROWS = 48;
export const RUN_ID = 'sst2-tiny';
export const ENV = { ...process.env, ...workerEnv(ROOT), BERT_STUDIO_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };

export interface Sst2Run {
  readonly workspace: string;
  readonly runsDir: string;
  readonly runDir: string;
  /** The heads of SST-2 train and dev (TSV with header) the run trained and validated on. */
  readonly train: string;
  readonly dev: string;
}

export function sst2RunAvailable(): boolean {
  return fs.existsSync(PYTHON) && fs.existsSync(path.join(DATA, 'sst2', 'train.tsv'));
}

function head(src: string, dst: string, rows: number): void {
  const lines = fs.readFileSync(src, 'utf8').replace(/^\uFEFF/, '').split('\n');
  fs.writeFileSync(dst, `${lines.slice(0, rows + 1).join('\n')}\n`);
}

let pending: Promise<Sst2Run> | undefined;

export function tinySst2Run(): Promise<Sst2Run> {
  pending ??= (async () => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-sst2-map-'));
    process.once('exit', () => fs.rmSync(workspace, { recursive: true, force: true }));
    const train = path.join(workspace, 'train-head.tsv');
    const dev = path.join(workspace, 'dev-head.tsv');
    head(path.join(DATA, 'sst2', 'train.tsv'), train, TRAIN_ROWS);
    head(path.join(DATA, 'sst2', 'dev.tsv'), dev, DEV_ROWS);
    const lines = fs.readFileSync(train, 'utf8').split('\n');
    for (const line of FLIPPED_LINES) lines[line - 1] = (lines[line - 1] as string).replace(/\t([01])$/, (_m, l: string) => `\t${l === '0' ? '1' : '0'}`);
    fs.writeFileSync(train, lines.join('\n'));
    const runsDir = studioLayout(workspace).runsDir;
    const runDir = path.join(runsDir, RUN_ID);
    fs.mkdirSync(runDir, { recursive: true });
    const spec = buildSpec({
      task: 'sequence_classification', model: 'default', train, validation: dev, device: 'cpu', export: false,
      training: { num_train_epochs: 3, per_device_train_batch_size: 32, max_seq_length: 64, learning_rate: 1e-4, eval_steps: 1000, save_steps: 1000 },
    });
    fs.writeFileSync(path.join(runDir, 'spec.json'), JSON.stringify(spec));
    await promisify(execFile)(PYTHON, ['-m', 'bert_studio_trainer', 'train', '--run-dir', runDir], { env: ENV, maxBuffer: 64 << 20 });
    return { workspace, runsDir, runDir, train, dev };
  })();
  return pending;
}
