// Hyperparameter search (Optuna) studies: `<workspace>/.bert-studio/studies/<id>/`.
// - study.json (host writes once, like a run's spec.json): the base run spec, the search space,
//   n_trials, the pruner and the sampler's seed. Checked here before any Python starts (the base spec
//   through the one run-creation path's planRun, the space by checkSpace) and again by the worker.
// - optuna.db: Optuna's SQLite storage; status.json: the driver's state, trials and best trial;
//   sweep.log: the driver's output; launch.json as for a run (the process check before a signal).
// The driver is `python -m bert_studio_trainer sweep --study-dir DIR [--resume]`
// (trainer/bert_studio_trainer/sweep.py); each trial is a normal run `<runs>/<study id>-tNNN` whose
// spec.json has `"study": {"id", "trial"}`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { arrayOf, either, int, nullable, num, object, oneOf, optional, recordOf, str, unknownValue, type Infer } from '../../shared/guard';
import { checkRecord } from '../runs/protocol';
import { checkRunSpec, planRun, type RunEnvironment, type RunRequest } from '../runs/create';
import type { PreflightProblem } from '../runs/spec';
import { TASK_METRICS, MULTI_LABEL_METRICS } from '../runs/spec';
import { RunFolderError, type RunSpec } from '../runs/store';
import { pidAlive } from '../runs/store';
import { launchDetached } from '../runs/worker';
import { hasProc, readLaunch, recordedWorker, verifyWorker } from '../runs/workerProcess';
import { checkSpace } from './space';
import { STUDY_ID_PATTERN } from './trialProcess';

export { STUDY_ID_PATTERN };

export const STUDY_FILE = 'study.json';
export const STUDY_STATUS_FILE = 'status.json';
export const STUDY_LOG = 'sweep.log';
export const PRUNERS = ['median', 'successive_halving', 'none'] as const;
export type PrunerType = (typeof PRUNERS)[number];

export interface PrunerSpec {
  readonly type: PrunerType;
  readonly n_startup_trials?: number;
  readonly n_warmup_steps?: number;
  readonly min_resource?: number;
  readonly reduction_factor?: number;
}

export interface StudyDefinition {
  readonly version: 1;
  readonly id: string;
  readonly name: string;
  readonly created: string;
  readonly spec: RunSpec;
  readonly space: Readonly<Record<string, unknown>>;
  readonly n_trials: number;
  readonly pruner: PrunerSpec;
  readonly seed: number;
}

const STUDY_DEFINITION = object({
  id: str(),
  name: optional(str()),
  created: optional(str()),
  spec: object({ task: str(), training: recordOf(unknownValue) }),
  space: recordOf(unknownValue),
  n_trials: int(1),
  pruner: optional(object({ type: str() })),
  seed: optional(int(0)),
});

export const TRIAL_STATES = ['waiting', 'running', 'completed', 'pruned', 'failed', 'interrupted'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

/** status.json of a study, as sweep.py writes it. */
export const STUDY_STATUS = object({
  id: str(),
  state: oneOf('running', 'completed', 'stopped', 'failed'),
  message: optional(str()),
  field: optional(str()),
  pid: optional(int(1)),
  pid_start: optional(nullable(int(0))),
  started: optional(num(0)),
  updated: optional(num(0)),
  metric: optional(str()),
  direction: optional(oneOf('minimize', 'maximize')),
  n_trials: optional(int(1)),
  finished: optional(int(0)),
  trials: arrayOf(
    object({
      number: int(0),
      state: oneOf(...TRIAL_STATES),
      params: recordOf(either(either(num(), str()), either(oneOf(true, false), oneOf(null)))),
      value: optional(nullable(num())),
      run: optional(nullable(str())),
      intermediate: optional(arrayOf(arrayOf(num(), 2, 2))),
      retry_of: optional(int(0)),
      error: optional(str()),
      pruned_at: optional(int(0)),
    }),
  ),
  best: optional(nullable(object({ trial: int(0), run: nullable(str()), value: num(), params: recordOf(unknownValue) }))),
});
export type StudyStatus = Infer<typeof STUDY_STATUS>;
export type TrialInfo = StudyStatus['trials'][number];

/** How a study shows: the driver's word, `interrupted` when it says running but its process is gone, `pending` before it wrote anything. */
export type StudyDisplayState = StudyStatus['state'] | 'interrupted' | 'pending' | 'starting';

export interface StudyInfo {
  readonly id: string;
  readonly dir: string;
  readonly definition: StudyDefinition | undefined;
  readonly status: StudyStatus | undefined;
  readonly state: StudyDisplayState;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function readStudyStatus(dir: string): StudyStatus | undefined {
  const file = path.join(dir, STUDY_STATUS_FILE);
  return checkRecord<StudyStatus>(file, readText(file), STUDY_STATUS);
}

export function readStudyDefinition(dir: string): StudyDefinition | undefined {
  const file = path.join(dir, STUDY_FILE);
  return checkRecord<StudyDefinition>(file, readText(file), STUDY_DEFINITION);
}

function studyState(dir: string, status: StudyStatus | undefined): StudyDisplayState {
  const launch = readLaunch(dir);
  const worker = recordedWorker(status ? { state: 'running', pid: status.pid, pid_start: status.pid_start, updated: status.updated } : undefined, launch);
  const alive = (ref: { pid: number; start: number | null | undefined }): boolean => (hasProc() ? verifyWorker(dir, ref).ok : pidAlive(ref.pid));
  if (worker?.fromLaunch && alive(worker)) return 'starting';
  if (!status) return launch ? 'failed' : 'pending';
  if (status.state !== 'running') return status.state;
  return worker && alive(worker) ? 'running' : 'interrupted';
}

/** The best trial's run id (the study's status names it), or undefined while none has completed. */
export function bestTrialRun(info: StudyInfo): string | undefined {
  return info.status?.best?.run ?? undefined;
}

/** Reads the studies folder; `create` makes a study folder with its study.json. */
export class StudyStore {
  constructor(readonly studiesDir: string) {}

  dir(id: string): string {
    if (!STUDY_ID_PATTERN.test(id)) throw new RunFolderError(`"${id}" is not a study id (letters, digits, '.', '_', '-'; no '/'); "bert-studio sweep list" shows them.`, this.studiesDir);
    return path.join(this.studiesDir, id);
  }

  ids(): string[] {
    try {
      return fs
        .readdirSync(this.studiesDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && STUDY_ID_PATTERN.test(d.name) && fs.existsSync(path.join(this.studiesDir, d.name, STUDY_FILE)))
        .map((d) => d.name)
        .sort()
        .reverse();
    } catch {
      return [];
    }
  }

  has(id: string): boolean {
    return STUDY_ID_PATTERN.test(id) && fs.existsSync(path.join(this.studiesDir, id, STUDY_FILE));
  }

  get(id: string): StudyInfo {
    const dir = this.dir(id);
    const status = readStudyStatus(dir);
    return { id, dir, definition: readStudyDefinition(dir), status, state: studyState(dir, status) };
  }

  list(): StudyInfo[] {
    return this.ids().map((id) => this.get(id));
  }

  newId(name: string, now: Date = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32) || 'study';
    let id = `${stamp}-${slug}`;
    for (let i = 2; fs.existsSync(path.join(this.studiesDir, id)); i++) id = `${stamp}-${slug}-${i}`;
    return id;
  }

  /** The study folder and study.json (temp file, renamed), only after every check passed (createStudy). */
  create(definition: Omit<StudyDefinition, 'id' | 'created'>): StudyDefinition & { dir: string } {
    fs.mkdirSync(this.studiesDir, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      const id = this.newId(definition.name);
      const dir = this.dir(id);
      try {
        fs.mkdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw err;
      }
      const full: StudyDefinition = { ...definition, version: 1, id, created: new Date().toISOString() };
      const tmp = path.join(dir, `.${STUDY_FILE}.tmp`);
      fs.writeFileSync(tmp, JSON.stringify(full, null, 2) + '\n');
      fs.renameSync(tmp, path.join(dir, STUDY_FILE));
      return { ...full, dir };
    }
  }
}

export interface StudyRequest {
  /**
   * The base run: as `bert-studio train` asks for one, or an existing run's spec ("Sweep from This
   * Run"); its training fields are the ones every trial shares.
   */
  readonly run: RunRequest | { readonly spec: RunSpec };
  readonly space: unknown;
  readonly nTrials: unknown;
  /** The objective: training.metric_for_best_model of every trial (default: the task's). */
  readonly metric?: string;
  readonly pruner?: { readonly type?: string; readonly nStartupTrials?: unknown; readonly nWarmupSteps?: unknown };
  readonly seed?: unknown;
  readonly name?: string;
}

const isWhole = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/**
 * Every problem of a study request: the base run's (planRun: the same checks and messages as a
 * training run), the space's, the objective's, the trial count's and the pruner's. Nothing is written.
 */
export async function planStudy(req: StudyRequest, env: RunEnvironment): Promise<{ definition?: Omit<StudyDefinition, 'id' | 'created'>; problems: PreflightProblem[] }> {
  const metric = req.metric !== undefined ? { metric_for_best_model: req.metric } : {};
  let problems: PreflightProblem[];
  let spec: RunSpec | undefined;
  if ('spec' in req.run) {
    // A trial's spec is a base like any other: its `study` is left out of the study's base.
    spec = { ...req.run.spec, study: undefined, training: { ...req.run.spec.training, ...metric } };
    problems = await checkRunSpec(spec, env);
  } else {
    const plan = await planRun({ ...req.run, training: { ...(req.run.training ?? {}), ...metric } }, env);
    problems = [...plan.problems];
    spec = plan.spec;
  }
  if (spec && !spec.data.validation) {
    problems.push({ field: 'data.validation', message: 'a study needs validation data: each trial is scored on it. Give --validation FILE, or a dataset with a validation split.' });
  }
  if (spec && req.metric !== undefined) {
    const metrics = spec.task === 'sequence_classification' && spec.data.multi_label === true ? MULTI_LABEL_METRICS : TASK_METRICS[spec.task];
    if (!metrics.includes(req.metric)) problems.push({ field: 'metric', message: `the ${spec.task} task does not compute "${req.metric}"; use one of ${metrics.join(', ')}.` });
  }
  if (spec) problems.push(...checkSpace(spec.task, req.space, spec.training));
  if (!isWhole(req.nTrials, 1)) problems.push({ field: 'n_trials', message: `the number of trials must be a whole number of at least 1, not ${JSON.stringify(req.nTrials)}; e.g. --trials 20.` });
  const type = req.pruner?.type ?? 'median';
  if (!(PRUNERS as readonly string[]).includes(type)) problems.push({ field: 'pruner.type', message: `unknown pruner "${type}"; use one of ${PRUNERS.join(', ')}.` });
  const startup = req.pruner?.nStartupTrials ?? 2;
  if (!isWhole(startup, 0)) problems.push({ field: 'pruner.n_startup_trials', message: `pruner.n_startup_trials (trials that finish before any is pruned) must be a whole number of at least 0, not ${JSON.stringify(startup)}.` });
  const warmup = req.pruner?.nWarmupSteps ?? 0;
  if (!isWhole(warmup, 0)) problems.push({ field: 'pruner.n_warmup_steps', message: `pruner.n_warmup_steps (steps before a trial can be pruned) must be a whole number of at least 0, not ${JSON.stringify(warmup)}.` });
  const seed = req.seed ?? spec?.training.seed ?? 42;
  if (!isWhole(seed, 0)) problems.push({ field: 'seed', message: `the sampler's seed must be a whole number of at least 0, not ${JSON.stringify(seed)}.` });
  if (problems.length || !spec) return { problems };
  return {
    problems,
    definition: {
      version: 1,
      name: req.name ?? `${spec.name ?? spec.task} sweep`,
      spec,
      space: req.space as Record<string, unknown>,
      n_trials: req.nTrials as number,
      pruner: { type: type as PrunerType, n_startup_trials: startup as number, n_warmup_steps: warmup as number },
      seed: seed as number,
    },
  };
}

/** A study from a request: every problem, and the folder with study.json only when there are none. */
export async function createStudy(store: StudyStore, req: StudyRequest, env: RunEnvironment): Promise<{ problems: PreflightProblem[]; study?: StudyDefinition & { dir: string } }> {
  const plan = await planStudy(req, env);
  if (!plan.definition) return { problems: plan.problems };
  return { problems: [], study: store.create(plan.definition) };
}

/**
 * Starts the study's driver, `python -m bert_studio_trainer sweep --study-dir DIR [--resume]`, as
 * launchWorker starts a run: no shell, output to sweep.log, launch.json first.
 */
export function launchStudy(options: { python: string; studyDir: string; resume?: boolean; env?: NodeJS.ProcessEnv; detached?: boolean }): { pid: number; exited: Promise<number | null> } {
  const dir = path.resolve(options.studyDir);
  const { pid, exited } = launchDetached({ ...options, dir, log: STUDY_LOG, args: ['sweep', '--study-dir', dir, ...(options.resume ? ['--resume'] : [])] });
  return { pid, exited };
}

/**
 * Stop: the study's stop file (the driver and its current trial check it) and SIGTERM to the
 * driver when it is provably this study's (verifyWorker); the trial checkpoints, the study ends
 * `stopped` and `--resume` continues it.
 */
export function stopStudy(info: StudyInfo): 'signalled' | 'stop-file' {
  fs.writeFileSync(path.join(info.dir, 'stop'), `${Date.now()}\n`);
  const s = info.status;
  const worker = recordedWorker(s ? { state: 'running', pid: s.pid, pid_start: s.pid_start, updated: s.updated } : undefined, readLaunch(info.dir));
  if (!worker || !verifyWorker(info.dir, worker).ok) return 'stop-file';
  try {
    process.kill(worker.pid, 'SIGTERM');
    return 'signalled';
  } catch {
    return 'stop-file';
  }
}
