import type { RunSpec } from './store';
import { TASKS, type Task } from './protocol';
import { checkTrainingChanges, trainingValueFromText } from './launch';
import DEFAULTS from '../../../trainer/bert_studio_trainer/defaults.json';

/**
 * Metrics each task's evaluation computes (mirrors the trainer's tasks/*.py). Sequence
 * classification with data.multi_label computes micro_f1, macro_f1, subset_accuracy, accuracy
 * (the subset accuracy) and loss instead: see MULTI_LABEL_METRICS.
 */
export const TASK_METRICS: Readonly<Record<Task, readonly string[]>> = {
  sequence_classification: ['accuracy', 'macro_f1', 'f1', 'loss'],
  token_classification: ['f1', 'precision', 'recall', 'accuracy', 'loss'],
  question_answering: ['exact_match', 'f1'],
  mlm: ['mlm_accuracy', 'perplexity', 'mlm_loss', 'loss'],
  mlm_nsp: ['mlm_accuracy', 'perplexity', 'nsp_accuracy', 'mlm_loss', 'nsp_loss', 'loss'],
};

export const MULTI_LABEL_METRICS: readonly string[] = ['micro_f1', 'macro_f1', 'subset_accuracy', 'accuracy', 'loss'];

function metricsOf(spec: RunSpec): readonly string[] {
  return spec.task === 'sequence_classification' && spec.data.multi_label === true ? MULTI_LABEL_METRICS : TASK_METRICS[spec.task];
}

/**
 * Per-task defaults, in Trainer's names: trainer/bert_studio_trainer/defaults.json (common values,
 * then the task's overrides), the one file the worker's spec.py reads too. Bundled by esbuild.
 */
export function defaultTraining(task: Task): Record<string, unknown> {
  const d = DEFAULTS as unknown as { common: Record<string, unknown>; tasks: Record<Task, Record<string, unknown>> };
  return { ...d.common, ...d.tasks[task] };
}

export interface SpecInputs {
  readonly task: Task;
  readonly model: string;
  readonly train: string;
  readonly validation?: string;
  readonly device?: string;
  readonly training?: Readonly<Record<string, unknown>>;
  readonly name?: string;
  readonly datasetId?: string;
  readonly labels?: readonly string[];
  readonly export?: boolean;
  /** Sequence classification with a set of labels per example (data.multi_label; best model by micro_f1). */
  readonly multiLabel?: boolean;
  /** data.label_delimiter: splits multi-label strings of a raw CSV/TSV file. */
  readonly labelDelimiter?: string;
  /** data.max_train_samples / max_eval_samples (documents for pretraining). */
  readonly maxTrainSamples?: unknown;
  readonly maxEvalSamples?: unknown;
}

export function buildSpec(inputs: SpecInputs): RunSpec {
  const multiLabel = inputs.multiLabel === true && inputs.task === 'sequence_classification';
  return {
    version: 1,
    task: inputs.task,
    name: inputs.name,
    dataset_id: inputs.datasetId,
    model: { name_or_path: inputs.model, trust_pickle: false },
    data: {
      train: inputs.train,
      ...(inputs.validation ? { validation: inputs.validation } : {}),
      ...(inputs.labels ? { labels: [...inputs.labels] } : {}),
      ...(multiLabel ? { multi_label: true } : {}),
      ...(inputs.labelDelimiter !== undefined ? { label_delimiter: inputs.labelDelimiter } : {}),
      ...(inputs.maxTrainSamples !== undefined ? { max_train_samples: inputs.maxTrainSamples } : {}),
      ...(inputs.maxEvalSamples !== undefined ? { max_eval_samples: inputs.maxEvalSamples } : {}),
    },
    training: { ...defaultTraining(inputs.task), ...(multiLabel ? { metric_for_best_model: 'micro_f1' } : {}), ...(inputs.training ?? {}) },
    device: inputs.device ?? 'auto',
    export: { onnx: inputs.export ?? true, quantize: inputs.export ?? true },
  };
}

export interface PreflightInputs {
  readonly spec: RunSpec;
  readonly trainLabels?: ReadonlySet<string>;
  readonly validationLabels?: ReadonlySet<string>;
  /** The model's maximum input length (config.json's positions, less any offset), when known. */
  readonly modelMaxLength?: number;
  /** The model's encoder layers (config.json), when known: training.freeze_layers may not exceed them. */
  readonly modelLayers?: number;
  readonly pythonPath?: string;
}

export interface PreflightProblem {
  readonly field: string;
  readonly message: string;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const positiveIntOrNull = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'number' && Number.isInteger(v) && v > 0);

/**
 * Everything about a spec that can be known before any Python starts: the fields' names, types and
 * ranges, the metric, doc_stride against max_seq_length, the model's length, labels validation
 * has and train lacks, the device and Python. Every problem names the field and the fix. The
 * files themselves are checked by `create.ts` (`checkRunSpec`).
 */
export function preflight(p: PreflightInputs): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  const spec = p.spec as Partial<RunSpec>;
  if (typeof spec.task !== 'string' || !(TASKS as readonly string[]).includes(spec.task)) {
    return [{ field: 'task', message: `Unknown task ${JSON.stringify(spec.task)}; use one of ${TASKS.join(', ')}.` }];
  }
  const task = spec.task;
  if (!isObject(spec.model) || typeof spec.model.name_or_path !== 'string' || !spec.model.name_or_path) {
    problems.push({ field: 'model.name_or_path', message: 'No model: give a local Hugging Face folder, a hub id, or "default" (the shipped MiniLM).' });
  }
  const data = spec.data as unknown;
  if (!isObject(data) || typeof data.train !== 'string' || !data.train) {
    problems.push({ field: 'data.train', message: 'No training data: give a dataset snapshot or a training file.' });
  } else {
    for (const k of ['max_train_samples', 'max_eval_samples']) {
      if (!positiveIntOrNull(data[k])) problems.push({ field: `data.${k}`, message: `${k} must be a whole number of at least 1 (or left out for all), not ${JSON.stringify(data[k])}.` });
    }
    if (data.multi_label !== undefined && typeof data.multi_label !== 'boolean') problems.push({ field: 'data.multi_label', message: 'multi_label must be true or false.' });
    if (data.multi_label === true && task !== 'sequence_classification') problems.push({ field: 'data.multi_label', message: `multi_label is only for sequence_classification, not ${task}: remove it.` });
    if (data.label_delimiter !== undefined && data.label_delimiter !== null) {
      if (typeof data.label_delimiter !== 'string' || !data.label_delimiter) problems.push({ field: 'data.label_delimiter', message: 'label_delimiter must be a separator such as "|" or ",".' });
      else if (data.multi_label !== true) problems.push({ field: 'data.label_delimiter', message: 'label_delimiter splits multi-label cells: add --multi-label (data.multi_label: true) or remove the delimiter.' });
    }
    if (data.labels !== undefined && (!Array.isArray(data.labels) || !data.labels.length || !data.labels.every((l) => typeof l === 'string'))) {
      problems.push({ field: 'data.labels', message: 'labels must be a non-empty list of label names.' });
    }
  }
  if (typeof spec.device !== 'string' || !/^(auto|cpu|cuda(:\d+)?)$/.test(spec.device)) problems.push({ field: 'device', message: `Unknown device ${JSON.stringify(spec.device)}; use auto, cpu, cuda or cuda:N (bertStudio.defaultDevice).` });
  if (!p.pythonPath) problems.push({ field: 'python', message: 'No Python environment: run "BERT Studio: Set Up Training Environment" or set bertStudio.pythonPath.' });
  const t = spec.training as unknown;
  if (!isObject(t)) {
    problems.push({ field: 'training', message: `training must be an object of Trainer-style fields, e.g. {"num_train_epochs": 1}, not ${JSON.stringify(t)}.` });
    return problems;
  }
  problems.push(...checkTrainingChanges(task, t));
  const bad = new Set(problems.map((x) => x.field));
  const metric = t.metric_for_best_model;
  const metrics = metricsOf(spec as RunSpec);
  if (typeof metric === 'string' && metric && !metrics.includes(metric)) {
    problems.push({ field: 'training.metric_for_best_model', message: `The ${task} task${metrics === MULTI_LABEL_METRICS ? ' (multi-label)' : ''} does not compute "${metric}"; use one of ${metrics.join(', ')}.` });
  }
  const seq = bad.has('training.max_seq_length') ? undefined : num(t.max_seq_length);
  const stride = bad.has('training.doc_stride') ? undefined : num(t.doc_stride);
  if (task === 'question_answering' && seq !== undefined && stride !== undefined && stride >= seq) {
    problems.push({ field: 'training.doc_stride', message: `doc_stride ${stride} must be smaller than max_seq_length ${seq} (windows overlap by doc_stride tokens); use e.g. doc_stride=${Math.max(1, Math.floor(seq / 4))}.` });
  }
  const fromScratch = isObject(spec.model) && spec.model.from_scratch !== undefined && spec.model.from_scratch !== null;
  const frozen = bad.has('training.freeze_layers') ? undefined : num(t.freeze_layers);
  if (frozen !== undefined && p.modelLayers !== undefined && frozen > p.modelLayers) {
    problems.push({ field: 'training.freeze_layers', message: `freeze_layers ${frozen} is more than the model's ${p.modelLayers} encoder layers; use at most ${p.modelLayers} (${p.modelLayers} freezes every layer; freeze_base_model also freezes the embeddings).` });
  }
  if (seq !== undefined && p.modelMaxLength !== undefined && !fromScratch && seq > p.modelMaxLength) {
    problems.push({ field: 'training.max_seq_length', message: `max_seq_length ${seq} is over the model's maximum of ${p.modelMaxLength} positions; use at most ${p.modelMaxLength}.` });
  }
  if (p.trainLabels && p.validationLabels) {
    const missing = [...p.validationLabels].filter((l) => !p.trainLabels?.has(l));
    if (missing.length) problems.push({ field: 'data.validation', message: `Labels in the validation split never seen in training: ${missing.slice(0, 10).join(', ')}. Add training examples for them or remove them from validation.` });
  }
  return problems;
}

/** `a=1, b=x` into typed values; undefined when the text is not such a list. */
export function parseChanges(text: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/.exec(part);
    if (!m) return undefined;
    const v = m[2].trim();
    const n = Number(v);
    // defineProperty: `__proto__=…` is an own (unknown) field the checks then name, never the prototype.
    Object.defineProperty(out, m[1], {
      value: trainingValueFromText(m[1], v === 'true' ? true : v === 'false' ? false : v === 'null' ? null : Number.isFinite(n) ? n : v),
      enumerable: true, writable: true, configurable: true,
    });
  }
  return out;
}
