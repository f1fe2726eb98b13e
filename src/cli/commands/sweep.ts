import * as fs from 'node:fs';
import * as path from 'node:path';
import { findDefaultModel } from '../../core/datasets/tokenCount';
import { packageRoot, studioLayout } from '../../core/paths';
import { workerEnv } from '../../core/python/workerEnv';
import { defaultModelFolder } from '../../core/runs/launch';
import { parseSpaceArg } from '../../core/sweeps/space';
import { createStudy, launchStudy, PRUNERS, readStudyStatus, StudyStore, stopStudy, type StudyInfo, type StudyStatus, type TrialInfo } from '../../core/sweeps/study';
import { ProblemsError, UsageError, flag, parseArgs, type CliIo, type ParsedArgs } from '../io';
import { cliPython } from '../python';
import { BOOLEANS as TRAIN_BOOLEANS, FLAG_OF, VALUE_FLAGS as TRAIN_VALUE_FLAGS, parseValue, trainingFromFlags } from './train';

export const SWEEP_USAGE = `bert-studio sweep --dataset ID|--train FILE --validation FILE --trials N --space SPACE [options]
  --space SPACE     the fields to search: a JSON file, inline JSON, or inline ranges and choices:
                    "learning_rate=1e-5..1e-4:log,per_device_train_batch_size=16|32,num_train_epochs=1..3:step=1"
                    (any training field by its Trainer-style name: warmup_ratio, layerwise_lr_decay,
                    freeze_layers...). Every bound and choice is checked as that field would be
  --trials N        trials that finish (completed, pruned or failed); each trial is a run of this workspace
  --data ID|FILE    a dataset snapshot id (as --dataset) or a training file (as --train)
  --metric NAME     the objective, each trial's best value of it (default: the task's metric_for_best_model)
  --pruner ${PRUNERS.join('|')}   cut bad trials at their evaluations (default median)
  --pruner-startup N   trials that finish before any is pruned (default 2)
  --pruner-warmup N    steps before a trial can be pruned (default 0)
  --seed N          the sampler's seed (default: training.seed)
  every flag of "bert-studio train" (--task, --model, --epochs, --set key=value, --max-train-samples ...)
  fixes that field for all trials. Trials train without the ONNX export; the best trial's run is
  exported when the study completes (--no-export: not even that one)
bert-studio sweep --resume STUDY   continue a stopped or killed study (the interrupted trial is retried)
bert-studio sweep list | show STUDY | stop STUDY
The best trial's run is the study's model: --model STUDY (predict, evaluate, train) uses it.`;

const SWEEP_VALUES = ['trials', 'space', 'data', 'metric', 'pruner', 'pruner-startup', 'pruner-warmup'];

function number(args: ParsedArgs, name: string): unknown {
  const v = flag(args, name);
  return v === undefined ? undefined : parseValue(v);
}

function fmt(v: unknown): string {
  return typeof v === 'number' ? (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? String(Number(v.toPrecision(4))) : v.toExponential(2)) : String(v);
}

/** One trial as a line: number, state, objective, parameters, run. */
export function trialLine(t: TrialInfo, metric = 'objective'): string {
  const value = typeof t.value === 'number' ? ` ${metric}=${t.value.toFixed(4)}` : '';
  const params = Object.entries(t.params).map(([k, v]) => `${k}=${fmt(v)}`).join(' ');
  const extra = t.state === 'pruned' && t.pruned_at !== undefined ? ` at step ${t.pruned_at}` : t.retry_of !== undefined ? ` (retry of ${t.retry_of})` : '';
  return `trial ${t.number} ${t.state}${extra}${value}  ${params}${t.run ? `  run ${t.run}` : ''}${t.error ? `\n    error: ${t.error}` : ''}`;
}

function printStudy(io: CliIo, info: StudyInfo, json: boolean): void {
  if (json) {
    io.stdout.write(JSON.stringify({ id: info.id, dir: info.dir, state: info.state, status: info.status ?? null }) + '\n');
    return;
  }
  const s = info.status;
  io.stdout.write(`${info.id}  ${info.state}${s ? `  ${s.finished ?? 0}/${s.n_trials ?? info.definition?.n_trials ?? '?'} trials` : ''}${s?.message ? `  (${s.message})` : ''}\n`);
  for (const t of s?.trials ?? []) io.stdout.write(`  ${trialLine(t, s?.metric)}\n`);
  if (s?.best) io.stdout.write(`best: trial ${s.best.trial}, ${s.metric ?? 'objective'} ${s.best.value.toFixed(4)}, run ${s.best.run} (use it with --model ${info.id})\n`);
}

export async function runSweepCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, [...TRAIN_BOOLEANS], [...TRAIN_VALUE_FLAGS, ...SWEEP_VALUES]);
  if (args.flags.has('help')) {
    io.stdout.write(SWEEP_USAGE + '\n');
    return 0;
  }
  const json = args.flags.has('json');
  const workspace = path.resolve(flag(args, 'workspace') ?? process.cwd());
  const layout = studioLayout(workspace);
  const store = new StudyStore(layout.studiesDir);
  const [sub, studyArg, ...more] = args.positional;
  if (more.length) throw new UsageError(`sweep takes at most a subcommand and a study id, got "${more[0]}".`, more[0]);
  const named = (what: string): StudyInfo => {
    if (!studyArg) throw new UsageError(`sweep ${what} needs a study id; "bert-studio sweep list" shows them.`, 'study');
    if (!store.has(studyArg)) throw new UsageError(`no study "${studyArg}" in ${layout.studiesDir}; "bert-studio sweep list" shows them.`, 'study');
    return store.get(studyArg);
  };
  if (sub === 'list') {
    const studies = store.list();
    if (json) io.stdout.write(JSON.stringify(studies.map((s) => ({ id: s.id, state: s.state, finished: s.status?.finished ?? 0, n_trials: s.definition?.n_trials, best: s.status?.best ?? null }))) + '\n');
    else if (!studies.length) io.stdout.write(`No studies in ${layout.studiesDir}; start one with "bert-studio sweep --trials N --space ...".\n`);
    else for (const s of studies) io.stdout.write(`${s.id}  ${s.state}  ${s.status?.finished ?? 0}/${s.definition?.n_trials ?? '?'} trials${s.status?.best ? `  best ${s.status.metric ?? ''} ${s.status.best.value.toFixed(4)} (run ${s.status.best.run})` : ''}\n`);
    return 0;
  }
  if (sub === 'show') {
    printStudy(io, named('show'), json);
    return 0;
  }
  if (sub === 'stop') {
    const info = named('stop');
    if (info.state !== 'running' && info.state !== 'starting') {
      io.stderr.write(`The study ${info.id} is not running (${info.state}).\n`);
      return 0;
    }
    const how = stopStudy(info);
    io.stderr.write(how === 'signalled' ? `Stopping ${info.id}: its trial checkpoints, then the study ends "stopped" (continue with --resume ${info.id}).\n` : `Asked ${info.id} to stop (stop file): its driver could not be verified, so nothing was signalled.\n`);
    return 0;
  }
  if (sub !== undefined) throw new UsageError(`unknown sweep subcommand "${sub}"; use list, show STUDY or stop STUDY, or give --trials and --space to start a study.`, sub);

  const python = await cliPython(args, workspace);
  const env = workerEnv(packageRoot());
  let studyDir: string;
  const resumeId = flag(args, 'resume');
  if (resumeId !== undefined) {
    const others = [...args.flags.keys()].filter((k) => !['resume', 'workspace', 'python', 'json', 'detach'].includes(k));
    if (others.length) throw new UsageError(`--resume continues a study as it was defined; drop --${others[0]}.`, `--${others[0]}`);
    if (!store.has(resumeId)) throw new UsageError(`--resume: no study "${resumeId}" in ${layout.studiesDir}; "bert-studio sweep list" shows them.`, '--resume');
    const info = store.get(resumeId);
    if (info.state === 'running' || info.state === 'starting') throw new UsageError(`--resume: the study ${resumeId} is still running (pid ${info.status?.pid}); stop it first ("bert-studio sweep stop ${resumeId}").`, '--resume');
    if (info.state === 'completed') throw new UsageError(`--resume: the study ${resumeId} is complete (${info.status?.message ?? ''}); start a new study for more trials.`, '--resume');
    studyDir = info.dir;
  } else {
    for (const needed of ['trials', 'space']) if (flag(args, needed) === undefined) throw new UsageError(`sweep needs --${needed} (see "bert-studio sweep --help").`, `--${needed}`);
    const parsed = parseSpaceArg(flag(args, 'space') as string);
    if (!parsed.space) throw new ProblemsError(parsed.problems);
    const data = flag(args, 'data');
    const dataIsFile = data !== undefined && (/[\\/]/.test(data) || fs.existsSync(path.resolve(data)));
    if (data !== undefined && (flag(args, 'dataset') !== undefined || flag(args, 'train') !== undefined)) throw new UsageError('give --data, or --dataset/--train, not both.', '--data');
    const defaultModel = async (): Promise<string | undefined> => findDefaultModel([workspace, packageRoot()]) ?? (await defaultModelFolder(python, env));
    const created = await createStudy(
      store,
      {
        run: {
          task: flag(args, 'task'),
          model: flag(args, 'model'),
          dataset: dataIsFile ? undefined : (data ?? flag(args, 'dataset')),
          train: dataIsFile ? data : flag(args, 'train'),
          validation: flag(args, 'validation'),
          training: trainingFromFlags(args),
          maxTrainSamples: number(args, 'max-train-samples'),
          maxEvalSamples: number(args, 'max-eval-samples'),
          multiLabel: args.flags.has('multi-label'),
          labelDelimiter: flag(args, 'label-delimiter'),
          device: flag(args, 'device'),
          export: !args.flags.has('no-export'),
        },
        space: parsed.space,
        nTrials: number(args, 'trials'),
        metric: flag(args, 'metric'),
        pruner: { type: flag(args, 'pruner'), nStartupTrials: number(args, 'pruner-startup'), nWarmupSteps: number(args, 'pruner-warmup') },
        seed: number(args, 'seed'),
        name: flag(args, 'name'),
      },
      { datasetsDir: layout.datasetsDir, python, cwd: process.cwd(), workspace, defaultModel },
    );
    const flagOf: Record<string, string> = { ...FLAG_OF, n_trials: '--trials', metric: '--metric', 'pruner.type': '--pruner', 'pruner.n_startup_trials': '--pruner-startup', 'pruner.n_warmup_steps': '--pruner-warmup', seed: '--seed' };
    if (!created.study) throw new ProblemsError(created.problems.map((p) => (flagOf[p.field] ? { field: p.field.includes('.') && !flagOf[p.field].includes(p.field) ? `${flagOf[p.field]} (${p.field})` : flagOf[p.field], message: p.message } : p)));
    studyDir = created.study.dir;
  }

  const id = path.basename(studyDir);
  const detach = args.flags.has('detach');
  const driver = launchStudy({ python, studyDir, resume: resumeId !== undefined, env, detached: detach });
  if (!json) io.stderr.write(`Study ${id} (pid ${driver.pid}): ${studyDir}\n`);
  if (detach) {
    if (json) io.stdout.write(JSON.stringify({ study: id, dir: studyDir, pid: driver.pid }) + '\n');
    return 0;
  }
  // Follow status.json: a line per trial as it ends.
  const shown = new Map<number, string>();
  const report = (status: StudyStatus | undefined): void => {
    for (const t of status?.trials ?? []) {
      if (t.state === 'running' || t.state === 'waiting' || shown.get(t.number) === t.state) continue;
      shown.set(t.number, t.state);
      if (json) io.stdout.write(JSON.stringify({ type: 'trial', ...t }) + '\n');
      else io.stderr.write(`${trialLine(t, status?.metric)}\n`);
    }
  };
  const timer = setInterval(() => report(readStudyStatus(studyDir)), 1000);
  const onSigint = (): void => {
    io.stderr.write('\nStopping: the current trial checkpoints, then the study ends (Ctrl+C again kills it).\n');
    process.removeListener('SIGINT', onSigint);
    process.once('SIGINT', () => process.kill(driver.pid, 'SIGKILL'));
    stopStudy(store.get(id));
  };
  process.on('SIGINT', onSigint);
  const code = await driver.exited;
  process.removeListener('SIGINT', onSigint);
  clearInterval(timer);
  const info = store.get(id);
  report(info.status);
  if (json) io.stdout.write(JSON.stringify({ type: 'study', id, state: info.state, best: info.status?.best ?? null }) + '\n');
  else {
    if (info.status?.best) io.stdout.write(`Best trial ${info.status.best.trial}: ${info.status.metric ?? 'objective'} ${info.status.best.value.toFixed(4)}, run ${info.status.best.run}\nUse it as a model with --model ${id}\n`);
    io.stdout.write(`Study ${info.state}${info.status?.message ? `: ${info.status.message}` : ''}\nStudy folder: ${studyDir}\n`);
    if (code !== 0) io.stderr.write(`The study's driver exited with code ${code}; its log is ${path.join(studyDir, 'sweep.log')}\n`);
  }
  return code ?? 1;
}

