// What New Training Run and Duplicate Run need before a spec is written: the training fields by
// their Trainer-style names (mirrors trainer/bert_studio_trainer/spec.py), the label sets of the
// snapshot's splits and the base model's maximum length for the pre-launch check.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Task } from './protocol';
import type { PreflightProblem } from './spec';

type Kind = 'int' | 'positiveInt' | 'number' | 'bool' | 'bf16' | 'metric' | 'patience';

/** Every training field the worker accepts, Hugging Face Trainer's names; `tasks` limits task-specific ones. */
export const TRAINING_FIELDS: Readonly<Record<string, { readonly kind: Kind; readonly tasks?: readonly Task[] }>> = {
  num_train_epochs: { kind: 'number' },
  max_steps: { kind: 'int' },
  per_device_train_batch_size: { kind: 'positiveInt' },
  per_device_eval_batch_size: { kind: 'positiveInt' },
  learning_rate: { kind: 'number' },
  weight_decay: { kind: 'number' },
  warmup_ratio: { kind: 'number' },
  gradient_accumulation_steps: { kind: 'positiveInt' },
  max_grad_norm: { kind: 'number' },
  max_seq_length: { kind: 'positiveInt' },
  eval_steps: { kind: 'positiveInt' },
  save_steps: { kind: 'positiveInt' },
  save_total_limit: { kind: 'positiveInt' },
  logging_steps: { kind: 'positiveInt' },
  seed: { kind: 'int' },
  metric_for_best_model: { kind: 'metric' },
  early_stopping_patience: { kind: 'patience' },
  bf16: { kind: 'bf16' },
  torch_compile: { kind: 'bool' },
  group_by_length: { kind: 'bool' },
  threshold: { kind: 'number', tasks: ['sequence_classification'] },
  doc_stride: { kind: 'positiveInt', tasks: ['question_answering'] },
  max_answer_length: { kind: 'positiveInt', tasks: ['question_answering'] },
  n_best_size: { kind: 'positiveInt', tasks: ['question_answering'] },
  mlm_probability: { kind: 'number', tasks: ['mlm', 'mlm_nsp'] },
  short_seq_prob: { kind: 'number', tasks: ['mlm', 'mlm_nsp'] },
  whole_word_masking: { kind: 'bool', tasks: ['mlm', 'mlm_nsp'] },
  nsp: { kind: 'bool', tasks: ['mlm_nsp'] },
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

function kindProblem(kind: Kind, v: unknown): string | undefined {
  const isNum = typeof v === 'number' && Number.isFinite(v);
  switch (kind) {
    case 'int':
      return isNum && Number.isInteger(v) ? undefined : 'an integer';
    case 'positiveInt':
      return isNum && Number.isInteger(v) && (v as number) > 0 ? undefined : 'a positive integer';
    case 'number':
      return isNum && (v as number) >= 0 ? undefined : 'a non-negative number';
    case 'bool':
      return typeof v === 'boolean' ? undefined : 'true or false';
    case 'bf16':
      return v === 'auto' || typeof v === 'boolean' ? undefined : '"auto", true or false';
    case 'metric':
      return typeof v === 'string' && v !== '' ? undefined : 'a metric name';
    case 'patience':
      return v === null || (isNum && Number.isInteger(v) && (v as number) > 0) ? undefined : 'a positive integer or null';
  }
}

/** Checks edits to `training` (New Training Run, Duplicate with Changes): names and types. */
export function checkTrainingChanges(task: Task, changes: Readonly<Record<string, unknown>>): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  for (const [name, value] of Object.entries(changes)) {
    const field = TRAINING_FIELDS[name];
    if (!field) {
      const hint = ALIASES[name] ?? trainingFieldNames(task).find((n) => n.includes(name) || name.includes(n));
      problems.push({ field: `training.${name}`, message: `Unknown training field "${name}"${hint ? `; did you mean ${hint}?` : ''} (Trainer-style names: ${trainingFieldNames(task).join(', ')}).` });
      continue;
    }
    if (field.tasks && !field.tasks.includes(task)) {
      problems.push({ field: `training.${name}`, message: `${name} applies to ${field.tasks.join(', ')}, not ${task}.` });
      continue;
    }
    const want = kindProblem(field.kind, value);
    if (want) problems.push({ field: `training.${name}`, message: `${name} must be ${want}, not ${JSON.stringify(value)}.` });
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

/** `max_position_embeddings` from a model folder's config.json; undefined when unknown (e.g. a hub id). */
export function modelMaxPositions(folder: string | undefined): number | undefined {
  if (!folder) return undefined;
  try {
    const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as { max_position_embeddings?: unknown };
    const n = config.max_position_embeddings;
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
