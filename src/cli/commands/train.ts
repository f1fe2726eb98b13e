import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { findDefaultModel } from '../../core/datasets/tokenCount';
import { packageRoot, studioLayout } from '../../core/paths';
import { workerEnv } from '../../core/python/workerEnv';
import { describeLines, describeModel } from '../../core/models/describe';
import { hfHubCache, listCachedModels } from '../../core/models/resolve';
import { createRun } from '../../core/runs/create';
import { defaultModelFolder, trainingValueFromText } from '../../core/runs/launch';
import { TASKS, type EvalEvent, type RunEvent, type StepEvent } from '../../core/runs/protocol';
import { RunStore, isRunId } from '../../core/runs/store';
import { JsonlTail } from '../../core/runs/tail';
import { launchWorker, stopWorker } from '../../core/runs/worker';
import { ProblemsError, ProgressBar, UsageError, flag, parseArgs, type CliIo, type ParsedArgs } from '../io';
import { cliPython } from '../python';

export const TRAIN_USAGE = `bert-studio train --task TASK --train FILE [--validation FILE] [options]
  --task            ${TASKS.join(' | ')}
  --model           a local Hugging Face folder, a run id of this workspace (its best/ or model/), a
                    hub id (a model in the Hugging Face cache works offline; "--model list" lists
                    them), or "default" (MiniLM-L6, shipped). Its architecture, parameters, max
                    positions, vocabulary and tokenizer are shown before the run starts
  --dataset ID      train on an imported dataset snapshot instead of --train/--validation
  --epochs N  --max-steps N  --batch-size N  --lr X  --max-seq-length N  --eval-steps N
  --save-steps N  --logging-steps N  --seed N  --device auto|cpu|cuda|cuda:N
  --max-train-samples N  --max-eval-samples N   use only the first N examples (documents for mlm)
  --multi-label     sequence classification with a set of labels per example (JSON lists, or
                    strings split on --label-delimiter, e.g. "|"); threshold: --set threshold=0.5.
                    A multi-label --dataset snapshot (manifest multi_label) needs no flag
  --freeze-embeddings  --freeze-layers N  --freeze-base-model   keep the embeddings, the first N
                    encoder layers, or everything but the head (a linear probe) frozen
  --unfreeze-schedule N:epoch|N:step   gradual unfreezing: the head first, then one more layer
                    from the top every N epochs or steps (the embeddings last)
  --layerwise-lr-decay X   the head at the learning rate, the top layer at X times it, each layer
                    below X times the one above (0 < X <= 1; 1 is off)
  --report-to tensorboard|mlflow|tensorboard+mlflow|all|none   mirror the run's curves to
                    TensorBoard (<run>/tensorboard) and/or MLflow (MLFLOW_TRACKING_URI, else the
                    file store .bert-studio/mlruns), as the Trainer's report_to
  --set key=value   any other training field, by its Trainer-style name (commas or repeated --set)
  --name NAME  --workspace DIR  --python PATH  --no-export  --detach  --json
bert-studio train --resume RUN_ID   continue a stopped or interrupted run from its last checkpoint
Every value is checked before the worker starts; a refused run leaves no run folder (exit code 2).
Environment: BERT_STUDIO_NUM_THREADS=N sets the worker's CPU threads (default: from the cores that
are free); BERT_STUDIO_PYTHON picks the Python when --python is not given.`;

/** Boolean flags that set a training field to true. */
const TRAINING_SWITCHES: Readonly<Record<string, string>> = {
  'freeze-embeddings': 'freeze_embeddings',
  'freeze-base-model': 'freeze_base_model',
};
export const BOOLEANS = ['no-export', 'detach', 'multi-label', ...Object.keys(TRAINING_SWITCHES)];
/** Flags that map to training fields, with the field each sets. */
const TRAINING_FLAGS: Readonly<Record<string, string>> = {
  epochs: 'num_train_epochs',
  'max-steps': 'max_steps',
  'batch-size': 'per_device_train_batch_size',
  lr: 'learning_rate',
  'max-seq-length': 'max_seq_length',
  'eval-steps': 'eval_steps',
  'save-steps': 'save_steps',
  'logging-steps': 'logging_steps',
  seed: 'seed',
  'freeze-layers': 'freeze_layers',
  'unfreeze-schedule': 'unfreeze_schedule',
  'layerwise-lr-decay': 'layerwise_lr_decay',
  'report-to': 'report_to',
};
export const VALUE_FLAGS = [
  'task', 'model', 'dataset', 'train', 'validation', 'device', 'max-train-samples', 'max-eval-samples', 'label-delimiter', 'set', 'name', 'workspace', 'python', 'resume',
  ...Object.keys(TRAINING_FLAGS),
];
/** The flag that sets a spec field, to name it in errors. */
export const FLAG_OF: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries({ ...TRAINING_FLAGS, ...TRAINING_SWITCHES }).map(([f, field]) => [`training.${field}`, `--${f}`])),
  task: '--task',
  dataset: '--dataset',
  device: '--device',
  'model.name_or_path': '--model',
  'data.train': '--train',
  'data.validation': '--validation',
  'data.max_train_samples': '--max-train-samples',
  'data.max_eval_samples': '--max-eval-samples',
  'data.label_delimiter': '--label-delimiter',
  'data.multi_label': '--multi-label',
  python: '--python',
};

/** A flag's text as the spec value it stands for: numbers, booleans, null, else the text (checked later). */
export function parseValue(v: string): unknown {
  if (v === 'true' || v === 'false') return v === 'true';
  if (v === 'null') return null;
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : v;
}

/** Training fields from the flags and --set (repeatable, comma-separated). */
export function trainingFromFlags(args: ParsedArgs): Record<string, unknown> {
  const training: Record<string, unknown> = {};
  for (const [f, key] of Object.entries(TRAINING_FLAGS)) {
    const v = flag(args, f);
    if (v !== undefined) training[key] = trainingValueFromText(key, parseValue(v));
  }
  for (const [f, key] of Object.entries(TRAINING_SWITCHES)) if (args.flags.has(f)) training[key] = true;
  for (const kv of (args.all.get('set') ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects key=value (e.g. --set warmup_ratio=0.1), got "${kv}"`, '--set');
    const key = kv.slice(0, eq).trim();
    training[key] = trainingValueFromText(key, parseValue(kv.slice(eq + 1).trim()));
  }
  return training;
}

function describeEval(ev: EvalEvent): string {
  return Object.entries(ev.metrics)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${Math.abs(v) < 10 ? v.toFixed(4) : v.toFixed(1)}`)
    .join(' ');
}

export async function runTrainCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, BOOLEANS, VALUE_FLAGS);
  if (args.flags.has('help')) {
    io.stdout.write(TRAIN_USAGE + '\n');
    return 0;
  }
  if (args.positional.length) throw new UsageError(`train takes no positional arguments, got "${args.positional[0]}"; give data with --train FILE or --dataset ID.`, args.positional[0]);
  const json = args.flags.has('json');
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const layout = studioLayout(workspace);
  const store = new RunStore(layout.runsDir);
  const python = await cliPython(args, workspace);
  const resumeId = flag(args, 'resume');
  const defaultModel = async (): Promise<string | undefined> => findDefaultModel([workspace, packageRoot()]) ?? (await defaultModelFolder(python, workerEnv(packageRoot())));

  if (flag(args, 'model') === 'list') return listModels(io, json);
  let runDir: string;
  if (resumeId) {
    const others = [...args.flags.keys()].filter((k) => !['resume', 'workspace', 'python', 'json', 'detach'].includes(k));
    if (others.length) throw new UsageError(`--resume continues a run with its own spec; drop --${others[0]} (Duplicate the run to change it).`, `--${others[0]}`);
    if (!isRunId(resumeId)) throw new UsageError(`--resume: "${resumeId}" is not a run id (a folder name in ${layout.runsDir}: letters, digits, '.', '_', '-'; no '/'); "bert-studio runs" lists them.`, '--resume');
    const info = store.get(resumeId);
    if (!info.spec) throw new UsageError(`--resume: no run "${resumeId}" in ${layout.runsDir}; "bert-studio runs" lists them.`, '--resume');
    if (info.state === 'running' || info.state === 'starting' || info.state === 'stopping') throw new UsageError(`--resume: run "${resumeId}" is still ${info.state} (pid ${info.status?.pid}); stop it first ("bert-studio runs stop ${resumeId}").`, '--resume');
    runDir = info.dir;
  } else {
    const created = await createRun(
      store,
      {
        request: {
          task: flag(args, 'task'),
          model: flag(args, 'model'),
          dataset: flag(args, 'dataset'),
          train: flag(args, 'train'),
          validation: flag(args, 'validation'),
          training: trainingFromFlags(args),
          maxTrainSamples: flag(args, 'max-train-samples') === undefined ? undefined : parseValue(flag(args, 'max-train-samples') as string),
          maxEvalSamples: flag(args, 'max-eval-samples') === undefined ? undefined : parseValue(flag(args, 'max-eval-samples') as string),
          multiLabel: args.flags.has('multi-label'),
          labelDelimiter: flag(args, 'label-delimiter'),
          device: flag(args, 'device'),
          name: flag(args, 'name'),
          export: !args.flags.has('no-export'),
        },
      },
      { datasetsDir: layout.datasetsDir, python, cwd: process.cwd(), workspace, defaultModel },
    );
    if (!created.run) throw new ProblemsError(created.problems.map((p) => (FLAG_OF[p.field] ? { field: p.field.includes('.') ? `${FLAG_OF[p.field]} (${p.field})` : FLAG_OF[p.field], message: p.message } : p)));
    runDir = created.run.dir;
    if (!json) await printModel(io, created.run.spec.model.name_or_path, defaultModel);
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
        if (!json) bar.update(ev.step, ev.max_steps ?? undefined, `loss ${ev.loss.toFixed(4)}${ev.samples_per_second ? ` · ${ev.samples_per_second.toFixed(1)} samples/s` : ''}`);
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

/** The model a run trains from, described before the worker starts (nothing for a hub id to be downloaded). */
async function printModel(io: CliIo, model: string, defaultModel: () => Promise<string | undefined>): Promise<void> {
  const folder = model === 'default' ? await defaultModel() : existsSync(path.join(model, 'config.json')) ? model : undefined;
  if (!folder) {
    io.stderr.write(`Model: ${model} (downloaded by the worker)\n`);
    return;
  }
  try {
    const lines = describeLines(await describeModel(folder));
    io.stderr.write(`Model: ${model === 'default' ? `default (${folder})` : folder}\n${lines.map((l) => `  ${l}\n`).join('')}`);
  } catch (err) {
    io.stderr.write(`Model: ${folder} (${(err as Error).message})\n`);
  }
}

/** "--model list": the models of the Hugging Face cache, read offline, each described. */
async function listModels(io: CliIo, json: boolean): Promise<number> {
  const models = listCachedModels();
  const described = await Promise.all(models.map(async (m) => ({ ...m, description: await describeModel(m.folder).catch((err: Error) => err.message) })));
  if (json) {
    io.stdout.write(`${JSON.stringify(described, null, 2)}\n`);
    return 0;
  }
  if (!models.length) {
    io.stdout.write(`No models in the Hugging Face cache (${hfHubCache()}). Download one on a connected machine with "huggingface-cli download ID", or give a model folder.\n`);
    return 0;
  }
  for (const m of described) {
    io.stdout.write(`${m.id}  (${m.folder})\n`);
    const lines = typeof m.description === 'string' ? [`unreadable: ${m.description}`] : describeLines(m.description);
    for (const l of lines) io.stdout.write(`  ${l}\n`);
  }
  return 0;
}
