import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot, studioLayout } from '../../core/paths';
import { workerEnv } from '../../core/python/workerEnv';
import { TASKS, type EvalEvent, type RunEvent, type StepEvent, type Task } from '../../core/runs/protocol';
import { buildSpec, preflight } from '../../core/runs/spec';
import { RunStore, type RunSpec } from '../../core/runs/store';
import { JsonlTail } from '../../core/runs/tail';
import { launchWorker, stopWorker } from '../../core/runs/worker';
import { ProgressBar, UsageError, flag, parseArgs, type CliIo } from '../io';
import { cliPython } from '../python';

export const TRAIN_USAGE = `bert-studio train --task TASK --train FILE [--validation FILE] [options]
  --task            ${TASKS.join(' | ')}
  --model           a local Hugging Face folder, a hub id, or "default" (MiniLM-L6, shipped)
  --dataset ID      train on an imported dataset snapshot instead of --train/--validation
  --epochs N  --max-steps N  --batch-size N  --lr X  --max-seq-length N  --eval-steps N
  --max-train-samples N  --max-eval-samples N  --seed N  --device auto|cpu|cuda
  --multi-label     sequence classification with a set of labels per example (JSON lists, or
                    strings split on --label-delimiter, e.g. "|"); threshold: --set threshold=0.5.
                    A multi-label --dataset snapshot (manifest multi_label) needs no flag
  --set key=value   any other training field, by its Trainer-style name (repeatable via commas)
  --name NAME  --workspace DIR  --python PATH  --no-export  --detach  --json
bert-studio train --resume RUN_ID   continue a stopped or interrupted run from its last checkpoint`;

function numberFlag(args: ReturnType<typeof parseArgs>, name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got "${v}"`);
  return n;
}

function parseValue(v: string): unknown {
  if (v === 'true' || v === 'false') return v === 'true';
  if (v === 'null') return null;
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : v;
}

interface DatasetSplits {
  train: string;
  validation?: string;
  task?: Task;
  labels?: string[];
  /** The snapshot's manifest says multi_label: no --multi-label needed. */
  multiLabel?: boolean;
}

/** Reads an imported dataset's manifest for its split files (see DESIGN.md, dataset snapshot). */
function datasetSplits(datasetsDir: string, id: string): DatasetSplits {
  const dir = path.join(datasetsDir, id);
  const manifestPath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) throw new UsageError(`No dataset "${id}" in ${datasetsDir}: import it first with "bert-studio dataset import".`);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { task?: Task; labels?: string[]; multi_label?: boolean; splits?: Record<string, { file?: string } | string> };
  const file = (name: string): string | undefined => {
    const s = manifest.splits?.[name];
    const f = typeof s === 'string' ? s : s?.file;
    return f ? path.resolve(dir, f) : fs.existsSync(path.join(dir, `${name}.jsonl`)) ? path.join(dir, `${name}.jsonl`) : undefined;
  };
  const train = file('train');
  if (!train) throw new UsageError(`Dataset "${id}" has no train split.`);
  return { train, validation: file('validation') ?? file('dev'), task: manifest.task, labels: manifest.labels, multiLabel: manifest.multi_label === true };
}

function describeEval(ev: EvalEvent): string {
  return Object.entries(ev.metrics)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${Math.abs(v) < 10 ? v.toFixed(4) : v.toFixed(1)}`)
    .join(' ');
}

export async function runTrainCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, ['json', 'no-export', 'detach', 'help', 'multi-label']);
  if (args.flags.has('help')) {
    io.stdout.write(TRAIN_USAGE + '\n');
    return 0;
  }
  const json = args.flags.has('json');
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const layout = studioLayout(workspace);
  const store = new RunStore(layout.runsDir);
  const python = await cliPython(args, workspace);
  const resumeId = flag(args, 'resume');

  let runDir: string;
  let spec: RunSpec;
  if (resumeId) {
    runDir = store.runDir(resumeId);
    const info = store.get(resumeId);
    if (!info.spec) throw new UsageError(`No run "${resumeId}" in ${layout.runsDir}.`);
    if (info.state === 'running' || info.state === 'starting') throw new UsageError(`Run "${resumeId}" is still running (pid ${info.status?.pid}).`);
    spec = info.spec;
  } else {
    const dataset = flag(args, 'dataset');
    const splits: DatasetSplits = dataset
      ? datasetSplits(layout.datasetsDir, dataset)
      : { train: flag(args, 'train') ?? '', validation: flag(args, 'validation') };
    if (!splits.train) throw new UsageError(`--train FILE or --dataset ID is required.\n${TRAIN_USAGE}`);
    const task = (flag(args, 'task') ?? splits.task) as Task | undefined;
    if (!task || !TASKS.includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}${task ? `, not "${task}"` : ''}.`);
    const training: Record<string, unknown> = {};
    const map: [string, string][] = [
      ['epochs', 'num_train_epochs'], ['max-steps', 'max_steps'], ['batch-size', 'per_device_train_batch_size'], ['lr', 'learning_rate'],
      ['max-seq-length', 'max_seq_length'], ['eval-steps', 'eval_steps'], ['save-steps', 'save_steps'], ['seed', 'seed'], ['logging-steps', 'logging_steps'],
    ];
    for (const [f, key] of map) {
      const v = numberFlag(args, f);
      if (v !== undefined) training[key] = v;
    }
    for (const kv of (flag(args, 'set') ?? '').split(',').filter(Boolean)) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new UsageError(`--set expects key=value, got "${kv}"`);
      training[kv.slice(0, eq).trim()] = parseValue(kv.slice(eq + 1).trim());
    }
    spec = buildSpec({
      task,
      model: flag(args, 'model') ?? 'default',
      train: path.resolve(splits.train),
      validation: splits.validation ? path.resolve(splits.validation) : undefined,
      device: flag(args, 'device') ?? 'auto',
      training,
      name: flag(args, 'name'),
      datasetId: dataset,
      labels: splits.labels,
      export: !args.flags.has('no-export'),
      multiLabel: args.flags.has('multi-label') || splits.multiLabel === true,
    });
    const data = spec.data as Record<string, unknown>;
    const delimiter = flag(args, 'label-delimiter');
    if (delimiter !== undefined) data.label_delimiter = delimiter;
    const mts = numberFlag(args, 'max-train-samples');
    const mes = numberFlag(args, 'max-eval-samples');
    if (mts !== undefined) data.max_train_samples = mts;
    if (mes !== undefined) data.max_eval_samples = mes;
    const problems = preflight({ spec, pythonPath: python, trainCount: mts });
    if (problems.length) {
      for (const p of problems) io.stderr.write(`error: ${p.field}: ${p.message}\n`);
      return 2;
    }
    fs.mkdirSync(layout.runsDir, { recursive: true });
    const id = store.newId(flag(args, 'name') ?? `${task}-${path.basename(splits.train).replace(/\.[^.]+$/, '')}`);
    runDir = store.runDir(id);
    fs.mkdirSync(runDir);
    fs.writeFileSync(path.join(runDir, 'spec.json'), JSON.stringify(spec, null, 2) + '\n');
  }

  const detach = args.flags.has('detach');
  const worker = launchWorker({ python, runDir, resume: Boolean(resumeId), env: workerEnv(packageRoot()), detached: detach });
  if (!json) io.stderr.write(`Run ${path.basename(runDir)} (pid ${worker.pid}): ${runDir}\n`);
  if (detach) {
    if (json) io.stdout.write(JSON.stringify({ run: path.basename(runDir), dir: runDir, pid: worker.pid }) + '\n');
    return 0;
  }

  const bar = new ProgressBar(io.stderr);
  let lastEval: EvalEvent | undefined;
  let lastStep: StepEvent | undefined;
  let exportEvent: RunEvent | undefined;
  let errors: string[] = [];
  const onEvents = (events: RunEvent[]): void => {
    for (const ev of events) {
      if (json) io.stdout.write(JSON.stringify(ev) + '\n');
      if (ev.type === 'step') {
        lastStep = ev;
        if (!json) bar.update(ev.step, ev.max_steps, `loss ${ev.loss.toFixed(4)}${ev.samples_per_second ? ` · ${ev.samples_per_second.toFixed(1)} samples/s` : ''}`);
      } else if (ev.type === 'eval') {
        lastEval = ev;
        if (!json) {
          bar.done();
          io.stderr.write(`eval @ step ${ev.step}: ${describeEval(ev)}\n`);
        }
      } else if (ev.type === 'error') {
        errors.push(ev.field ? `${ev.field}: ${ev.message}` : ev.message);
      } else if (ev.type === 'export') {
        exportEvent = ev;
      } else if (ev.type === 'status' && !json && ev.message) {
        bar.done();
        io.stderr.write(`${ev.state}: ${ev.message}\n`);
      } else if (ev.type === 'log' && !json && ev.level !== 'debug' && !/^eval step/.test(ev.message)) {
        // Evaluations are printed from their eval events above.
        bar.done();
        io.stderr.write(`${ev.message}\n`);
      }
    }
  };
  const tail = new JsonlTail(path.join(runDir, 'events.jsonl'), onEvents).start(250);
  const onSigint = (): void => {
    io.stderr.write('\nStopping: the worker checkpoints, then exits (Ctrl+C again kills it).\n');
    process.removeListener('SIGINT', onSigint);
    process.once('SIGINT', () => process.kill(worker.pid, 'SIGKILL'));
    void stopWorker(runDir, worker.pid);
  };
  process.on('SIGINT', onSigint);
  const code = await worker.exited;
  process.removeListener('SIGINT', onSigint);
  await new Promise((r) => setTimeout(r, 300));
  onEvents(tail.readNew());
  tail.dispose();
  bar.done();
  errors = [...new Set(errors)];
  if (!json) {
    for (const e of errors) io.stderr.write(`error: ${e}\n`);
    if (lastEval) io.stdout.write(`Final evaluation (step ${lastEval.step}): ${describeEval(lastEval)}\n`);
    else if (lastStep) io.stdout.write(`Trained ${lastStep.step} steps, last loss ${lastStep.loss.toFixed(4)}\n`);
    if (exportEvent) io.stdout.write(`Exported: ${path.join(runDir, 'onnx')}\n`);
    io.stdout.write(`Run folder: ${runDir}\n`);
    if (code !== 0) io.stderr.write(`The worker exited with code ${code}; its log is ${path.join(runDir, 'worker.log')}\n`);
  }
  return code ?? 1;
}
