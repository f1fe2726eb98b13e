// What New Training Run and Duplicate Run need before a spec is written: the training fields by
// their Trainer-style names (mirrors trainer/bert_studio_trainer/spec.py), the label sets of the
// snapshot's splits and the base model's maximum length for the pre-launch check.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Task } from './protocol';
import { closestLabel } from '../datasets/labels';
import { defaultTraining, type PreflightProblem } from './spec';
import { maxPositions, readConfigJson } from '../models/config';

/** training.report_to values (trainer/bert_studio_trainer/engine/reporting.py). */
export const REPORT_TO = ['none', 'all', 'tensorboard', 'mlflow'];

/** The shortest max_seq_length worth training with ([CLS], [SEP] and a few tokens). */
export const MIN_SEQ_LENGTH = 8;

type Kind = 'int' | 'count' | 'number' | 'bool' | 'autoBool' | 'metric' | 'patience' | 'reportTo' | 'schedule';

/**
 * A training field's type and range. `min`/`max` bound numbers (`above`/`below` exclusively);
 * `example` is offered in the fix when the default would not do (e.g. for a field that defaults to null).
 */
export interface FieldRule {
  readonly kind: Kind;
  readonly tasks?: readonly Task[];
  readonly min?: number;
  readonly max?: number;
  readonly above?: number;
  readonly below?: number;
  /** max_steps: -1 means "use num_train_epochs". */
  readonly orMinusOne?: boolean;
  readonly what?: string;
}

/**
 * Every training field the worker accepts, Hugging Face Trainer's names, with its type and range
 * (the worker's spec.py checks the same ranges); `tasks` limits task-specific ones. The defaults
 * are trainer/bert_studio_trainer/defaults.json.
 */
export const TRAINING_FIELDS: Readonly<Record<string, FieldRule>> = {
  num_train_epochs: { kind: 'number', above: 0, what: 'passes over the training data' },
  max_steps: { kind: 'int', min: 1, orMinusOne: true, what: 'optimizer steps; -1 trains for num_train_epochs' },
  per_device_train_batch_size: { kind: 'count' },
  per_device_eval_batch_size: { kind: 'count' },
  learning_rate: { kind: 'number', above: 0, max: 1, what: 'the peak learning rate, e.g. 5e-5' },
  weight_decay: { kind: 'number', min: 0 },
  warmup_ratio: { kind: 'number', min: 0, max: 1, what: 'the share of steps spent warming up' },
  gradient_accumulation_steps: { kind: 'count' },
  max_grad_norm: { kind: 'number', min: 0 },
  max_seq_length: { kind: 'int', min: MIN_SEQ_LENGTH, what: 'tokens per example' },
  eval_steps: { kind: 'count' },
  save_steps: { kind: 'count' },
  save_total_limit: { kind: 'count' },
  logging_steps: { kind: 'count' },
  seed: { kind: 'int', min: 0, max: 2 ** 32 - 1 },
  metric_for_best_model: { kind: 'metric' },
  early_stopping_patience: { kind: 'patience' },
  bf16: { kind: 'autoBool' },
  torch_compile: { kind: 'autoBool' },
  group_by_length: { kind: 'bool' },
  freeze_embeddings: { kind: 'bool' },
  freeze_layers: { kind: 'int', min: 0, what: 'the first N encoder layers stay frozen' },
  freeze_base_model: { kind: 'bool', what: 'only the head trains: a linear probe' },
  unfreeze_schedule: { kind: 'schedule', what: 'gradual unfreezing: one more layer from the top every N epochs or steps' },
  layerwise_lr_decay: { kind: 'number', above: 0, max: 1, what: 'the head at the learning rate, each layer below times this factor; 1 is off' },
  report_to: { kind: 'reportTo', what: 'mirror the run to TensorBoard and/or MLflow, as the Trainer\'s report_to' },
  packing: { kind: 'bool', tasks: ['sequence_classification', 'token_classification'], what: 'several short examples per row (restarting positions, block-diagonal attention): the same loss without padding' },
  prune_last_layer: { kind: 'bool', tasks: ['sequence_classification'], what: 'the last layer computes only the token the head reads (keys and values everywhere): the same loss, fewer FLOPs' },
  threshold: { kind: 'number', above: 0, below: 1, tasks: ['sequence_classification'], what: 'the sigmoid probability from which a label is predicted' },
  doc_stride: { kind: 'count', tasks: ['question_answering'] },
  max_answer_length: { kind: 'count', tasks: ['question_answering'] },
  n_best_size: { kind: 'count', tasks: ['question_answering'] },
  mlm_probability: { kind: 'number', above: 0, below: 1, tasks: ['mlm', 'mlm_nsp'], what: 'the share of tokens masked' },
  short_seq_prob: { kind: 'number', min: 0, max: 1, tasks: ['mlm', 'mlm_nsp'] },
  whole_word_masking: { kind: 'bool', tasks: ['mlm', 'mlm_nsp'] },
  nsp: { kind: 'bool', tasks: ['mlm_nsp'] },
  record_dynamics: { kind: 'bool', tasks: ['sequence_classification', 'token_classification'], what: "each training example's gold-label probability per epoch (dynamics.npz)" },
};

/** Names people type for Trainer's: a hint, never applied silently. */
const ALIASES: Readonly<Record<string, string>> = {
  lr: 'learning_rate',
  epochs: 'num_train_epochs',
  num_epochs: 'num_train_epochs',
  batch_size: 'per_device_train_batch_size',
  train_batch_size: 'per_device_train_batch_size',
  eval_batch_size: 'per_device_eval_batch_size',
  max_length: 'max_seq_length',
  max_len: 'max_seq_length',
  warmup: 'warmup_ratio',
  grad_accum: 'gradient_accumulation_steps',
  patience: 'early_stopping_patience',
  fp16: 'bf16',
};

/** The training fields a task accepts. */
export function trainingFieldNames(task: Task): string[] {
  return Object.entries(TRAINING_FIELDS)
    .filter(([, f]) => !f.tasks || f.tasks.includes(task))
    .map(([name]) => name);
}

/** The known name a typo most likely meant: an alias, a close spelling, or a name containing it. */
export function closestName(name: string, known: readonly string[], aliases: Readonly<Record<string, string>> = {}): string | undefined {
  const n = name.toLowerCase();
  // Two neighbouring letters swapped ("lables") is the likeliest typo of all.
  const swaps = (k: string): boolean => k.length === n.length && [...n].some((_, i) => i + 1 < n.length && n.slice(0, i) + n[i + 1] + n[i] + n.slice(i + 2) === k);
  return (Object.hasOwn(aliases, n) ? aliases[n] : undefined) ?? known.find(swaps) ?? closestLabel(n, known) ?? (n.length >= 3 ? known.find((k) => k.includes(n) || n.includes(k)) : undefined);
}

function rangeText(r: FieldRule): string {
  const parts: string[] = [];
  if (r.above !== undefined) parts.push(`over ${r.above}`);
  if (r.min !== undefined) parts.push(`at least ${r.min}`);
  if (r.below !== undefined) parts.push(`under ${r.below}`);
  if (r.max !== undefined) parts.push(`at most ${r.max}`);
  return parts.join(' and ');
}

/** A training field's rule by name; undefined for any other name ("constructor" and "__proto__" included). */
export function trainingField(name: string): FieldRule | undefined {
  return Object.hasOwn(TRAINING_FIELDS, name) ? TRAINING_FIELDS[name] : undefined;
}

/** What a training field's value must be ("a whole number of at least 1"), as its problems say it. */
export function fieldRequirement(name: string): string | undefined {
  const rule = trainingField(name);
  return rule ? ruleProblem(rule, undefined) : undefined;
}

/** The field of `task` an unknown training field name most likely meant (an alias such as lr, or a typo). */
export function fieldSuggestion(task: Task, name: string): string | undefined {
  return closestName(name, trainingFieldNames(task), ALIASES);
}

/** What a value must be, when it is not; undefined when it fits the rule. */
function ruleProblem(r: FieldRule, v: unknown): string | undefined {
  const isNum = typeof v === 'number' && Number.isFinite(v);
  const inRange = (x: number): boolean =>
    (r.above === undefined || x > r.above) && (r.min === undefined || x >= r.min) && (r.below === undefined || x < r.below) && (r.max === undefined || x <= r.max);
  switch (r.kind) {
    case 'int':
      if (r.orMinusOne && v === -1) return undefined;
      return isNum && Number.isInteger(v) && inRange(v as number) ? undefined : `an integer${rangeText(r) ? ` ${rangeText(r)}` : ''}${r.orMinusOne ? ', or -1' : ''}`;
    case 'count':
      return isNum && Number.isInteger(v) && (v as number) >= 1 ? undefined : 'a whole number of at least 1';
    case 'number':
      return isNum && inRange(v as number) ? undefined : `a number${rangeText(r) ? ` ${rangeText(r)}` : ''}`;
    case 'bool':
      return typeof v === 'boolean' ? undefined : 'true or false';
    case 'autoBool':
      return v === 'auto' || typeof v === 'boolean' ? undefined : '"auto", true or false';
    case 'metric':
      return v === null || (typeof v === 'string' && v !== '') ? undefined : 'a metric name, or null for the task\'s default';
    case 'patience':
      return v === null || (isNum && Number.isInteger(v) && (v as number) > 0) ? undefined : 'a whole number of at least 1, or null (never stop early)';
    case 'schedule':
      return v === null || isUnfreezeSchedule(v) ? undefined : '{"every": N, "unit": "epoch" or "step"} (N at least 1; 2:epoch on the command line and in the wizard), or null';
    case 'reportTo': {
      const ok = (x: unknown): boolean => typeof x === 'string' && REPORT_TO.includes(x);
      return ok(v) || (Array.isArray(v) && v.every(ok)) ? undefined : `one of ${REPORT_TO.map((x) => `"${x}"`).join(', ')}, or a list of them`;
    }
  }
}

/** training.unfreeze_schedule's value: {"every": N >= 1, "unit": "epoch" | "step"} (spec.py checks the same). */
function isUnfreezeSchedule(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const { every, unit, ...rest } = v as Record<string, unknown>;
  return Object.keys(rest).length === 0 && typeof every === 'number' && Number.isInteger(every) && every >= 1 && (unit === undefined || unit === 'epoch' || unit === 'step');
}

/**
 * A training field's value typed as text (the CLI's flags and --set, the wizard's key=value
 * fields): unfreeze_schedule as `N:epoch` or `N:step` (e.g. `1:epoch`) becomes its object; other
 * values are returned unchanged, for checkTrainingChanges to judge.
 */
export function trainingValueFromText(name: string, value: unknown): unknown {
  // report_to: "tensorboard+mlflow" or "tensorboard mlflow" (commas separate --set items).
  if (name === 'report_to' && typeof value === 'string' && /[+\s]/.test(value.trim())) return value.trim().split(/[+\s]+/);
  if (name !== 'unfreeze_schedule' || typeof value !== 'string') return value;
  const m = /^\s*(\d+)\s*:\s*(epoch|step)s?\s*$/i.exec(value);
  return m ? { every: Number(m[1]), unit: m[2].toLowerCase() } : value;
}

/** A training field's default as the wizard's key=value prompt shows it (trainingValueFromText reads it back). */
export function trainingValueHint(name: string, value: unknown): string {
  if (name === 'unfreeze_schedule') return value === null || value === undefined ? 'null (or 1:epoch, 100:step)' : `${(value as { every: number }).every}:${(value as { unit?: string }).unit ?? 'epoch'}`;
  return JSON.stringify(value ?? null);
}

/**
 * Checks training fields by name, type and range (New Training Run, Duplicate with Changes, the
 * CLI's flags and --set, and every spec before launch). Each problem names the field and the fix.
 */
export function checkTrainingChanges(task: Task, changes: Readonly<Record<string, unknown>>): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  const names = trainingFieldNames(task);
  const defaults = defaultTraining(task);
  for (const [name, value] of Object.entries(changes)) {
    const field = trainingField(name);
    if (!field) {
      const hint = fieldSuggestion(task, name);
      problems.push({ field: `training.${name}`, message: `Unknown training field "${name}"${hint ? `; did you mean ${hint}?` : ''} Use one of the Trainer-style names: ${names.join(', ')}.` });
      continue;
    }
    if (field.tasks && !field.tasks.includes(task)) {
      problems.push({ field: `training.${name}`, message: `${name} applies to ${field.tasks.join(', ')}, not ${task}: remove it.` });
      continue;
    }
    const want = ruleProblem(field, value);
    if (want) {
      const fallback = defaults[name];
      problems.push({
        field: `training.${name}`,
        message: `${name} must be ${want}${field.what ? ` (${field.what})` : ''}, not ${JSON.stringify(value) ?? String(value)}${fallback !== undefined && fallback !== null ? `; the default is ${JSON.stringify(fallback)}` : ''}.`,
      });
    }
  }
  return problems;
}

/**
 * The labels a snapshot split uses: `label` (a string, or a list for multi-label) for
 * classification, `tags` for token classification; undefined for other tasks or a file that is not
 * a snapshot JSONL (raw files are read by the worker). Streamed: a split can be large.
 */
export async function splitLabels(file: string | undefined, task: Task): Promise<Set<string> | undefined> {
  if (!file || !file.endsWith('.jsonl') || (task !== 'sequence_classification' && task !== 'token_classification')) return undefined;
  let stream: fs.ReadStream;
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    stream = fs.createReadStream(file, { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const labels = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === 'string') labels.add(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') labels.add(x);
  };
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let rec: { label?: unknown; tags?: unknown };
    try {
      rec = JSON.parse(line) as { label?: unknown; tags?: unknown };
    } catch {
      continue; // validation reports malformed lines; the check only needs the labels
    }
    add(task === 'token_classification' ? rec.tags : rec.label);
  }
  return labels;
}

/**
 * The longest input a model folder's config.json allows: `max_position_embeddings`, less the
 * RoBERTa-style offset (pad_token_id + 1, i.e. 514 - 2 = 512); undefined when unknown (e.g. a hub id).
 */
export function modelMaxPositions(folder: string | undefined): number | undefined {
  if (!folder) return undefined;
  try {
    return maxPositions(readConfigJson(folder));
  } catch {
    return undefined;
  }
}

/** The encoder layers in a model folder's config.json (`num_hidden_layers`, DistilBERT's `n_layers`); undefined when unknown. */
export function modelLayerCount(folder: string | undefined): number | undefined {
  if (!folder) return undefined;
  try {
    const c = readConfigJson(folder) as Record<string, unknown>;
    const n = c.num_hidden_layers ?? c.n_layers;
    return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The shipped default model's folder, from `python -m bert_studio_trainer default-model` (no shell). */
export function defaultModelFolder(python: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(python, ['-m', 'bert_studio_trainer', 'default-model'], { env: { ...process.env, ...env }, timeout: timeoutMs, shell: false }, (err, stdout) => {
      const folder = stdout.trim().split('\n').pop()?.trim();
      resolve(!err && folder && fs.existsSync(folder) ? folder : undefined);
    });
  });
}
