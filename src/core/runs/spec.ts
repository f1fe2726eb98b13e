import type { RunSpec } from './store';
import type { Task } from './protocol';

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

/** Per-task defaults, in Trainer's names; why each value is what it is sits beside it. */
export function defaultTraining(task: Task): Record<string, unknown> {
  const common = {
    num_train_epochs: 1,
    max_steps: -1,
    per_device_train_batch_size: 32,
    per_device_eval_batch_size: 64,
    learning_rate: 5e-5, // BERT paper's fine-tuning range is 2e-5..5e-5; small models like the top end
    weight_decay: 0.01,
    warmup_ratio: 0.06, // RoBERTa's fine-tuning warmup share
    gradient_accumulation_steps: 1,
    max_grad_norm: 1.0,
    max_seq_length: 128,
    eval_steps: 200,
    save_steps: 200,
    logging_steps: 10,
    seed: 42,
    early_stopping_patience: null,
    bf16: 'auto', // bf16 autocast on CUDA when supported; fp32 on CPU
    torch_compile: false,
    group_by_length: true,
  };
  switch (task) {
    case 'sequence_classification':
      return { ...common, metric_for_best_model: 'accuracy' };
    case 'token_classification':
      return { ...common, metric_for_best_model: 'f1' };
    case 'question_answering':
      // SQuAD's usual settings: 384-token windows with a 128-token stride, answers up to 30 tokens.
      return { ...common, max_seq_length: 384, doc_stride: 128, max_answer_length: 30, n_best_size: 20, per_device_train_batch_size: 16, metric_for_best_model: 'f1' };
    case 'mlm':
    case 'mlm_nsp':
      // BERT's pretraining recipe: 15% of tokens, 10% of sequences shorter than the maximum.
      // The best model is chosen by held-out perplexity, the task's own default (lower is better).
      return { ...common, learning_rate: 1e-4, warmup_ratio: 0.01, mlm_probability: 0.15, short_seq_prob: 0.1, whole_word_masking: false };
  }
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
}

export function buildSpec(inputs: SpecInputs): RunSpec {
  const multiLabel = inputs.multiLabel === true && inputs.task === 'sequence_classification';
  return {
    version: 1,
    task: inputs.task,
    name: inputs.name,
    dataset_id: inputs.datasetId,
    model: { name_or_path: inputs.model, trust_pickle: false },
    data: { train: inputs.train, ...(inputs.validation ? { validation: inputs.validation } : {}), ...(inputs.labels ? { labels: [...inputs.labels] } : {}), ...(multiLabel ? { multi_label: true } : {}) },
    training: { ...defaultTraining(inputs.task), ...(multiLabel ? { metric_for_best_model: 'micro_f1' } : {}), ...(inputs.training ?? {}) },
    device: inputs.device ?? 'auto',
    export: { onnx: inputs.export ?? true, quantize: inputs.export ?? true },
  };
}

export interface PreflightInputs {
  readonly spec: RunSpec;
  /** Examples in the training split (for the number of optimizer steps). */
  readonly trainCount?: number;
  readonly trainLabels?: ReadonlySet<string>;
  readonly validationLabels?: ReadonlySet<string>;
  /** The model's max_position_embeddings, when known. */
  readonly modelMaxLength?: number;
  readonly pythonPath?: string;
}

export interface PreflightProblem {
  readonly field: string;
  readonly message: string;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Catches what would waste a run before it starts. Every problem names the field and the fix. */
export function preflight(p: PreflightInputs): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  const t = p.spec.training;
  if (!/^(auto|cpu|cuda(:\d+)?)$/.test(p.spec.device)) problems.push({ field: 'device', message: `Unknown device "${p.spec.device}"; use auto, cpu, cuda or cuda:N (bertStudio.defaultDevice).` });
  if (!p.pythonPath) problems.push({ field: 'python', message: 'No Python environment: run "BERT Studio: Set Up Training Environment" or set bertStudio.pythonPath.' });
  const metric = t.metric_for_best_model;
  const metrics = metricsOf(p.spec);
  if (typeof metric === 'string' && !metrics.includes(metric)) {
    problems.push({ field: 'training.metric_for_best_model', message: `The ${p.spec.task} task${metrics === MULTI_LABEL_METRICS ? ' (multi-label)' : ''} does not compute "${metric}"; use one of ${metrics.join(', ')}.` });
  }
  const batch = (num(t.per_device_train_batch_size) ?? 1) * (num(t.gradient_accumulation_steps) ?? 1);
  const maxSteps = num(t.max_steps) ?? -1;
  const totalSteps = maxSteps > 0 ? maxSteps : p.trainCount !== undefined ? Math.ceil(p.trainCount / batch) * (num(t.num_train_epochs) ?? 1) : undefined;
  const evalSteps = num(t.eval_steps);
  if (totalSteps !== undefined && evalSteps !== undefined && p.spec.data.validation && evalSteps > totalSteps) {
    problems.push({ field: 'training.eval_steps', message: `Evaluation every ${evalSteps} steps never happens during a ${totalSteps}-step run; set eval_steps to at most ${totalSteps}.` });
  }
  if (p.trainLabels && p.validationLabels) {
    const missing = [...p.validationLabels].filter((l) => !p.trainLabels?.has(l));
    if (missing.length) problems.push({ field: 'data.validation', message: `Labels in the validation split never seen in training: ${missing.slice(0, 10).join(', ')}. Add training examples for them or remove them from validation.` });
  }
  const seq = num(t.max_seq_length);
  if (seq !== undefined && p.modelMaxLength !== undefined && seq > p.modelMaxLength) {
    problems.push({ field: 'training.max_seq_length', message: `max_seq_length ${seq} is over the model's maximum of ${p.modelMaxLength} positions; use at most ${p.modelMaxLength}.` });
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
    out[m[1]] = v === 'true' ? true : v === 'false' ? false : v === 'null' ? null : Number.isFinite(n) ? n : v;
  }
  return out;
}
