// The run folder's contract between the host and the worker, typed once and checked on receipt:
// every line of events.jsonl, status.json (both written by the worker), launch.json (written by
// the host when it starts a worker) and spec.json (written by the host, read by both).
//
// Python mirror: trainer/bert_studio_trainer/engine/events.py (one TypedDict per event kind and
// for status.json). Change both together; test/unit/runs/contract.test.ts makes the real Python
// writer emit every kind and checks that these guards accept it (and refuse mutated records).
// Also described in DESIGN.md ("events.jsonl and status.json").

import { arrayOf, bool, check, count, int, isRecord, nullable, num, object, oneOf, optional, recordOf, str, tagged, unknownValue, type Checked, type Infer } from '../../shared/guard';

import { TASKS, type Task } from '../../shared/tasks';

export { TASKS, type Task };

export const RUN_STATES = ['starting', 'running', 'stopping', 'stopped', 'completed', 'failed'] as const;
export type RunState = (typeof RUN_STATES)[number];
/**
 * What the host shows: the worker's state, `interrupted` when it died without saying so, `failed`
 * also for a worker that died before it wrote anything, `pending` for a run folder no worker was
 * ever started for.
 */
export type DisplayState = RunState | 'interrupted' | 'pending';

/** A finite number, or null where the worker had NaN/Infinity or no value (JSON has neither). */
const maybeNum = optional(nullable(num()));
const ts = num(0);
const state = oneOf(...RUN_STATES);

export const CLASS_REPORT = object({ precision: num(), recall: num(), f1: num(), support: num(0) });
export type ClassReport = Infer<typeof CLASS_REPORT>;

export const SOURCE_REF = object({ file: str(), line: int(1) });
/** `errors` (NER): the sentence's entity errors as [gold type, predicted type], "O" for missed or spurious. */
export const MISCLASSIFIED = object({ text: str(), gold: str(), pred: str(), source: optional(nullable(SOURCE_REF)), errors: optional(arrayOf(arrayOf(str()))) });
export type Misclassified = Infer<typeof MISCLASSIFIED>;

const METRICS = recordOf(nullable(num()), 1000);

export const STATUS_EVENT = object({ type: oneOf('status'), ts, state, message: optional(str()) });
export const STEP_EVENT = object({
  type: oneOf('step'),
  ts,
  step: count,
  /** null: the loss was NaN or infinite (a diverged run); read as NaN, so it shows as such and plots nothing. */
  loss: nullable(num()),
  max_steps: optional(count),
  epoch: optional(num(0)),
  mlm_loss: maybeNum,
  nsp_loss: maybeNum,
  learning_rate: maybeNum,
  grad_norm: maybeNum,
  samples_per_second: maybeNum,
  tokens_per_second: maybeNum,
  memory_mb: maybeNum,
  /** With layer-wise learning-rate decay: each block's rate at this step, top to bottom (`learning_rate` is the head's). */
  group_learning_rates: optional(recordOf(num(0), 10_000)),
});
/** A block of the model (engine/freezing.py): `head`, `layer.N` (0 at the bottom) or `embeddings`. */
export const PARAM_GROUP = object({ name: str(), params: count, trainable: bool, lr_scale: num(0) });
/** Trainable parameters: at the start (and on resume), and each time gradual unfreezing opens a block. */
export const PARAMS_EVENT = object({
  type: oneOf('params'),
  ts,
  step: count,
  trainable: count,
  total: count,
  /** Top to bottom; absent for a model whose layers were not found. */
  groups: optional(arrayOf(PARAM_GROUP, 10_000)),
  /** With unfreeze_schedule: the encoder layers open from the top. */
  unfrozen_layers: optional(count),
});
export const EVAL_EVENT = object({
  type: oneOf('eval'),
  ts,
  step: count,
  metrics: METRICS,
  per_class: optional(recordOf(CLASS_REPORT)),
  per_entity: optional(recordOf(CLASS_REPORT)),
  confusion_matrix: optional(object({ labels: arrayOf(str()), matrix: arrayOf(arrayOf(num(0))) })),
  misclassified: optional(arrayOf(MISCLASSIFIED)),
  /** An evaluation on another file or split (`bert-studio evaluate`): its split (e.g. `test`) and name; absent for validation. */
  split: optional(str()),
  name: optional(str()),
});
export const CHECKPOINT_EVENT = object({ type: oneOf('checkpoint'), ts, step: count, path: str() });
export const EXPORT_EVENT = object({
  type: oneOf('export'),
  ts,
  path: optional(str()),
  files: optional(arrayOf(str())),
  max_abs_diff: maybeNum,
  attention_max_abs_diff: maybeNum,
  quantized_max_abs_diff: maybeNum,
  cpu_max_abs_diff: maybeNum,
  tied_weights: optional(unknownValue),
  /** The parity tolerance the fp32 graphs passed. */
  tolerance: maybeNum,
  /** The task's metric of the fp32 and int8 graphs on the first validation examples (also in onnx/export.json). */
  accuracy: optional(object({ metric: str(), examples: count, fp32: maybeNum, int8: maybeNum })),
});
export const LOG_EVENT = object({ type: oneOf('log'), ts, level: optional(oneOf('debug', 'info', 'warning', 'error')), message: str() });
export const ERROR_EVENT = object({ type: oneOf('error'), ts, message: str(), field: optional(str()) });

const EVENT_GUARDS = {
  status: STATUS_EVENT,
  step: STEP_EVENT,
  eval: EVAL_EVENT,
  checkpoint: CHECKPOINT_EVENT,
  export: EXPORT_EVENT,
  log: LOG_EVENT,
  error: ERROR_EVENT,
  params: PARAMS_EVENT,
} as const;
/** Every event kind the worker writes (events.py EVENT_TYPES). */
export const EVENT_TYPES = Object.keys(EVENT_GUARDS) as (keyof typeof EVENT_GUARDS)[];
export const RUN_EVENT = tagged(EVENT_GUARDS);

export type StatusEvent = Infer<typeof STATUS_EVENT>;
export type StepEvent = Omit<Infer<typeof STEP_EVENT>, 'loss'> & { readonly loss: number };
/** An evaluation; metrics the worker could not compute (NaN, written as null) are left out. */
export type EvalEvent = Omit<Infer<typeof EVAL_EVENT>, 'metrics'> & { readonly metrics: Readonly<Record<string, number>> };
export type CheckpointEvent = Infer<typeof CHECKPOINT_EVENT>;
export type ExportEvent = Infer<typeof EXPORT_EVENT>;
export type LogEvent = Infer<typeof LOG_EVENT>;
export type ErrorEvent = Infer<typeof ERROR_EVENT>;
export type ParamsEvent = Infer<typeof PARAMS_EVENT>;
export type ParamGroup = Infer<typeof PARAM_GROUP>;
export type RunEvent = StatusEvent | StepEvent | EvalEvent | CheckpointEvent | ExportEvent | LogEvent | ErrorEvent | ParamsEvent;

/**
 * status.json, replaced atomically by the worker. `pid_start` is the worker's start time as Linux
 * counts it (field 22 of /proc/<pid>/stat, clock ticks since boot): with `pid`, it names the
 * process, so a recycled pid is never taken for the worker.
 */
export const RUN_STATUS = object({
  state,
  pid: optional(int(1)),
  pid_start: optional(nullable(count)),
  step: optional(count),
  max_steps: optional(nullable(int())),
  // value null: the worker's best was NaN or infinite (a diverged run); read as no best metric.
  best_metric: optional(nullable(object({ name: str(), value: nullable(num()), step: count }))),
  last_checkpoint: optional(nullable(str())),
  started: optional(ts),
  updated: optional(ts),
});
type BestMetric = { readonly name: string; readonly value: number; readonly step: number };
export type RunStatus = Omit<Infer<typeof RUN_STATUS>, 'best_metric'> & { readonly best_metric?: BestMetric | null };

/** A checked status.json as the host uses it: a best metric without a finite value is none. */
export function normalizeStatus(raw: Infer<typeof RUN_STATUS>): RunStatus {
  return raw.best_metric && raw.best_metric.value === null ? { ...raw, best_metric: null } : (raw as RunStatus);
}

/** launch.json, written by the host when it starts a worker, before the worker writes anything. */
export const LAUNCH_RECORD = object({ pid: int(1), pid_start: nullable(count), launched_at: ts, resume: optional(bool) });
export type LaunchRecord = Infer<typeof LAUNCH_RECORD>;

/** spec.json: the fields the host reads. The worker checks every field (trainer/.../spec.py). */
export const RUN_SPEC = object({
  /** Absent: 1, as the worker reads it; `device` absent: auto. */
  version: optional(int(1)),
  task: oneOf(...TASKS),
  model: object({ name_or_path: str(), from_scratch: optional(unknownValue), trust_pickle: optional(bool) }),
  data: object({ train: str(), validation: optional(nullable(str())) }),
  training: recordOf(unknownValue),
  device: optional(str()),
  export: optional(object({ onnx: optional(bool), quantize: optional(bool) })),
  /** Host-side description, ignored by the worker. */
  name: optional(str()),
  dataset_id: optional(str()),
  /** A trial of a hyperparameter search (src/core/sweeps): the study's id and the trial's number. */
  study: optional(object({ id: str(), trial: int(0) })),
});
export type RunSpec = Omit<Infer<typeof RUN_SPEC>, 'data' | 'training'> & {
  readonly data: { readonly train: string; readonly validation?: string; readonly [k: string]: unknown };
  readonly training: Readonly<Record<string, unknown>>;
};

/** Checks one events.jsonl line: the event, or why it was refused. */
export function checkEvent(line: string): Checked<RunEvent> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const checked = check(RUN_EVENT, value);
  if (!checked.ok) return checked;
  if (checked.value.type === 'step') return { ok: true, value: { ...checked.value, loss: checked.value.loss ?? NaN } };
  if (checked.value.type !== 'eval') return checked as Checked<RunEvent>;
  const metrics = Object.fromEntries(Object.entries(checked.value.metrics).filter((e): e is [string, number] => e[1] !== null));
  return { ok: true, value: { ...checked.value, metrics } };
}

/** Parses one events.jsonl line; undefined for anything that is not a well-formed event. */
export function parseEvent(line: string): RunEvent | undefined {
  const c = checkEvent(line);
  return c.ok ? c.value : undefined;
}

// ---- reporting refused records ---------------------------------------------------------------
type InvalidListener = (file: string, reason: string) => void;
const listeners = new Set<InvalidListener>();

/**
 * Subscribes to records refused on receipt (the extension logs them in its output channel, the
 * CLI names them). `onceEach`: each file and reason once (status.json is read every few seconds).
 */
export function onInvalidRecord(listener: InvalidListener, options: { readonly onceEach?: boolean } = {}): { dispose(): void } {
  let l = listener;
  if (options.onceEach) {
    const seen = new Set<string>();
    l = (file, reason) => {
      const key = `${file}\0${reason}`;
      if (seen.has(key)) return;
      if (seen.size > 1000) seen.clear();
      seen.add(key);
      listener(file, reason);
    };
  }
  listeners.add(l);
  return { dispose: () => listeners.delete(l) };
}

export function reportInvalid(file: string, reason: string): void {
  for (const l of listeners) l(file, reason);
}

/** A parsed JSON file checked against its contract; undefined (reported) when missing or invalid. */
export function checkRecord<T>(file: string, text: string | undefined, g: { problem: (v: unknown, at?: string) => string | undefined }): T | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    reportInvalid(file, `not JSON (${(err as Error).message})`);
    return undefined;
  }
  const reason = isRecord(value) ? g.problem(value) : 'expected a JSON object';
  if (reason !== undefined) {
    reportInvalid(file, reason);
    return undefined;
  }
  return value as T;
}
