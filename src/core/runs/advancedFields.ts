// The New Training Run wizard's training fields, without the editor: which fields it asks one by
// one and which go to the advanced editor (a JSON document of the rest), the JSON schema of a
// task's fields (hover and completion), and the checks of typed text. Every rule is launch.ts's
// (checkTrainingChanges, and preflight for the checks across fields): nothing here judges a value.

import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { TASK_INFO } from '../../shared/tasks';
import { checkTrainingChanges, fieldRequirement, fieldSuggestion, REPORT_TO, trainingField, trainingFieldNames, trainingValueFromText } from './launch';
import type { Task } from './protocol';
import { buildSpec, defaultTraining, MULTI_LABEL_METRICS, parseChanges, preflight, TASK_METRICS, type PreflightProblem } from './spec';

/**
 * The wizard's own steps after the dataset, in order: the length of training (num_train_epochs, or
 * max_steps typed as "500 steps"), the learning rate and the batch size. The sequence length and
 * the task's own fields are items of the next step, "other training fields".
 */
export const STEP_FIELDS = ['num_train_epochs', 'learning_rate', 'per_device_train_batch_size'] as const;

/**
 * New Training Run's steps, in order, by the names their titles end with (scripts and the E2E
 * scenarios find a step by its name, e.g. /num_train_epochs$/; the length step's prompt says it
 * also takes max_steps).
 */
export const WIZARD_STEPS: readonly string[] = ['task', 'base model', 'dataset snapshot', ...STEP_FIELDS, 'other training fields', 'device'];

/**
 * A step's title, numbered from its place in WIZARD_STEPS so "(n/N)" always matches the steps
 * shown: "New Training Run (4/8): num_train_epochs"; `detail` names a field asked within the step
 * ("(7/8): doc_stride").
 */
export function wizardTitle(step: string, detail?: string): string {
  const n = WIZARD_STEPS.indexOf(step) + 1;
  if (!n) throw new Error(`wizardTitle: no step "${step}"`);
  return `New Training Run (${n}/${WIZARD_STEPS.length}): ${detail ?? step}`;
}

/** The fields each of those steps sets (the length step sets max_steps too). */
const STEP_SETS: readonly string[] = [...STEP_FIELDS, 'max_steps'];

/** Fields offered one by one on the "other training fields" step: max_seq_length, then the task's own that matter. */
const MENU_FIELDS: readonly string[] = ['max_seq_length'];
const TASK_MENU_FIELDS: Readonly<Record<Task, readonly string[]>> = {
  sequence_classification: ['threshold'],
  token_classification: [],
  question_answering: ['doc_stride', 'max_answer_length'],
  mlm: ['whole_word_masking', 'mlm_probability'],
  mlm_nsp: ['whole_word_masking', 'mlm_probability', 'nsp'],
};

/** What a field does, for the fields whose rule in launch.ts has no `what` (hover, prompts). */
const MEANING: Readonly<Record<string, string>> = {
  per_device_train_batch_size: 'training examples per batch on each device',
  per_device_eval_batch_size: 'evaluation examples per batch on each device',
  weight_decay: 'AdamW weight decay (not applied to biases and LayerNorm)',
  gradient_accumulation_steps: 'batches summed into each optimizer step (a larger effective batch)',
  max_grad_norm: 'gradients are clipped to this norm; 0 turns clipping off',
  eval_steps: 'evaluate every N optimizer steps',
  save_steps: 'save a checkpoint every N optimizer steps',
  save_total_limit: 'checkpoints kept (the best one is always kept)',
  logging_steps: 'log loss and learning rate every N optimizer steps',
  seed: 'the random seed (shuffling, initialisation, masking)',
  metric_for_best_model: "the evaluation metric that picks the best checkpoint; null for the task's default",
  early_stopping_patience: 'stop after this many evaluations without improvement; null never stops early',
  bf16: 'bfloat16 mixed precision: "auto" uses it where the device supports it',
  torch_compile: 'torch.compile: "auto" compiles after timing the first steps, where the rest of the run pays for the compile',
  group_by_length: 'batch examples of similar length together (less padding)',
  freeze_embeddings: 'the embedding layer stays frozen',
  doc_stride: 'tokens shared by neighbouring windows of a long context',
  max_answer_length: 'the longest answer span predicted, in tokens',
  n_best_size: 'start and end candidates considered per answer',
  short_seq_prob: 'the share of sequences made shorter than max_seq_length',
  whole_word_masking: 'mask every piece of a word together, not single word pieces',
  nsp: 'train next-sentence prediction beside masked-LM',
};

/** What a training field does: its rule's `what`, or the wizard's line for it. */
export function fieldMeaning(name: string): string {
  return trainingField(name)?.what ?? (Object.hasOwn(MEANING, name) ? MEANING[name] : name);
}

/** The fields offered one by one on "other training fields" (threshold only for multi-label classification). */
export function menuFields(task: Task, multiLabel = false): string[] {
  return [...MENU_FIELDS, ...TASK_MENU_FIELDS[task].filter((f) => f !== 'threshold' || multiLabel)];
}

/** The fields the advanced editor lists: the task's fields that have no step or menu item of their own. */
export function advancedFieldNames(task: Task, multiLabel = false): string[] {
  const own = new Set([...STEP_SETS, ...menuFields(task, multiLabel)]);
  return trainingFieldNames(task).filter((n) => !own.has(n));
}

/** A field's line for a prompt: what it does, what it must be, and the task's default. */
export function fieldPrompt(task: Task, name: string): string {
  const d = defaultTraining(task)[name];
  return `${capital(fieldMeaning(name))}: ${fieldRequirement(name) ?? 'a value'}. Default ${JSON.stringify(d ?? null)}.`;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * One field typed in an input box, read as the key=value text of the CLI's --set (parseChanges:
 * numbers, true/false/null, unfreeze_schedule as 2:epoch) and checked by checkTrainingChanges:
 * the value, or the problem to show under the box.
 */
export function fieldFromText(task: Task, name: string, text: string): { value?: unknown; problem?: string } {
  const parsed = text.trim() ? parseChanges(`${name}=${text.trim()}`) : undefined;
  if (!parsed || !(name in parsed)) return { problem: `Enter ${fieldRequirement(name) ?? 'a value'}.` };
  const problem = checkTrainingChanges(task, parsed)[0]?.message;
  return problem ? { problem } : { value: parsed[name] };
}

/**
 * The length step's text: a number of epochs ("3", "0.5 epochs") or of optimizer steps ("500
 * steps", max_steps), as the fields it sets, or the problem; launch.ts judges both.
 */
export function lengthFromText(task: Task, text: string): { fields?: { num_train_epochs?: number; max_steps: number }; problem?: string } {
  const m = /^\s*([-+0-9.eE]+)\s*(epochs?|steps?)?\s*$/i.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(n)) return { problem: 'Enter a number of epochs (e.g. 3), or of optimizer steps (e.g. 500 steps).' };
  const fields = /^steps?$/i.test(m[2] ?? '') ? { max_steps: n } : { num_train_epochs: n, max_steps: -1 };
  const problem = checkTrainingChanges(task, fields)[0]?.message;
  return problem ? { problem } : { fields };
}

/**
 * "key=value, …" typed into the other-training-fields step (the CLI's --set syntax): undefined
 * when the text is no such list (a filter of the step's items); else the changes, and the
 * problems launch.ts and preflight find in them with the wizard's other answers (`training`).
 */
export function typedChanges(task: Task, text: string, training: Readonly<Record<string, unknown>>, multiLabel = false): { changes?: Record<string, unknown>; problems: string[] } | undefined {
  if (!text.includes('=')) return undefined;
  const changes = parseChanges(text);
  if (!changes || !Object.keys(changes).length) return { problems: ['Write key=value pairs separated by commas, e.g. eval_steps=100, seed=7.'] };
  const own = checkTrainingChanges(task, changes).map((p) => p.message);
  const problems = own.length ? own : crossFieldProblems(task, wizardTraining(training, changes), multiLabel).map((p) => p.message);
  return problems.length ? { problems } : { changes, problems };
}

/** The length step's value as typed back: "3" epochs, or "500 steps". */
export function lengthText(training: Readonly<Record<string, unknown>>): string {
  const steps = Number(training.max_steps);
  return steps > 0 ? `${steps} steps` : String(training.num_train_epochs);
}

export interface JsonSchema {
  readonly [key: string]: unknown;
}

/** Values offered by completion for a field (a schema's `examples`). */
function examples(task: Task, name: string): unknown[] | undefined {
  switch (trainingField(name)?.kind) {
    case 'bool':
      return [true, false];
    case 'autoBool':
      return ['auto', true, false];
    case 'metric':
      return [...new Set([...TASK_METRICS[task], ...(task === 'sequence_classification' ? MULTI_LABEL_METRICS : [])])];
    case 'reportTo':
      return [...REPORT_TO, ['tensorboard', 'mlflow']];
    case 'schedule':
      return [null, { every: 1, unit: 'epoch' }, { every: 100, unit: 'step' }];
    case 'patience':
      return [null, 3];
    default:
      return undefined;
  }
}

/**
 * The JSON schema of a task's training fields (`names`, default all of them), for the advanced
 * editor's hover and completion: each field's meaning, what it must be and its default. It holds
 * no constraint keywords on purpose: the rules are launch.ts's alone, and the editor's problems
 * come from checkAdvancedText, so one mistake is not reported twice in two wordings.
 */
export function trainingSchema(task: Task, names: readonly string[] = trainingFieldNames(task)): JsonSchema {
  const defaults = defaultTraining(task);
  const properties: Record<string, JsonSchema> = {};
  for (const name of names) {
    const line = `${capital(fieldMeaning(name))}. Must be ${fieldRequirement(name) ?? 'a value'}. Default: ${JSON.stringify(defaults[name] ?? null)}.`;
    const ex = examples(task, name);
    properties[name] = { description: line, markdownDescription: `**${name}**: ${line}`, default: defaults[name] ?? null, ...(ex ? { examples: ex } : {}) };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: `BERT Studio training fields: ${task}`,
    description: `Hugging Face Trainer-style training fields of a ${TASK_INFO[task].title.toLowerCase()} run (spec.json "training").`,
    properties: { $schema: { description: 'The schema of this document (hover and completion).' }, ...properties },
  };
}

/**
 * The advanced editor's document: a comment on how to use it, then one JSON object of the advanced
 * fields with `values` (default: the task's defaults), after a `$schema` reference for hover.
 */
export function advancedDocument(task: Task, schemaRef: string, values: Readonly<Record<string, unknown>> = {}, multiLabel = false): string {
  const defaults = defaultTraining(task);
  const doc: Record<string, unknown> = { $schema: schemaRef };
  for (const name of advancedFieldNames(task, multiLabel)) doc[name] = name in values ? values[name] : (defaults[name] ?? null);
  // Fields typed earlier that have their own step stay where the user put them.
  for (const [name, v] of Object.entries(values)) if (!(name in doc)) doc[name] = v;
  return [
    `// The other training fields of the new ${TASK_INFO[task].title.toLowerCase()} run (${task}), at their defaults.`,
    '// Hover a name for what it does. Problems are underlined as you type (and listed in Problems).',
    '// Change what you need, then choose "Use these settings" above (or save). Close it to go back.',
    JSON.stringify(doc, null, 2),
    '',
  ].join('\n');
}

/** One problem of the advanced editor's text, where it is (offset and length in the text). */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
  readonly offset: number;
  readonly length: number;
  /** `info` does not block the settings (a field that replaces a step's answer). */
  readonly severity: 'error' | 'info';
  /** For an unknown name: the field it most likely meant (a quick fix renames it). */
  readonly rename?: string;
}

export interface AdvancedCheck {
  /** The fields as typed (`$schema` left out); undefined when the text is not one JSON object. */
  readonly values?: Record<string, unknown>;
  readonly problems: FieldProblem[];
}

export interface AdvancedContext {
  /** The values of the wizard's steps: fields typed here replace them, and cross-field checks see them. */
  readonly steps?: Readonly<Record<string, unknown>>;
  readonly multiLabel?: boolean;
}

const SYNTAX: Partial<Record<string, string>> = {
  InvalidSymbol: 'an unexpected character; values are numbers, true, false, null, "text", [lists] or {objects}',
  InvalidNumberFormat: 'a number JSON cannot read; write e.g. 5e-5, 0.1 or 3',
  PropertyNameExpected: 'a field name in double quotes is expected, e.g. "weight_decay"',
  ValueExpected: 'a value is expected after the colon (a number, true, false, null or "text")',
  ColonExpected: 'a colon is expected between the field name and its value',
  CommaExpected: 'a comma is expected between two fields',
  CloseBraceExpected: 'a closing } is expected',
  CloseBracketExpected: 'a closing ] is expected',
  EndOfFileExpected: 'only one {…} object is allowed: remove what follows its closing }',
  UnexpectedEndOfComment: 'a /* comment is not closed: end it with */',
  UnexpectedEndOfString: 'a string is not closed: end it with "',
  UnexpectedEndOfNumber: 'a number ends too early; write e.g. 5e-5, 0.1 or 3',
  InvalidUnicode: 'a \\u escape needs four hex digits',
  InvalidEscapeCharacter: 'an unknown escape after \\ (use \\" or \\\\)',
  InvalidCharacter: 'a control character inside a string: remove it',
};

/** "Line 3, column 5" of an offset. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `Line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/**
 * Checks the advanced editor's text as the run will be checked: JSON syntax (with line and
 * column), one object, no field twice, each field by checkTrainingChanges (unknown names with
 * their likeliest meaning: lr → learning_rate), then the checks across fields of preflight
 * (metric_for_best_model for the task, doc_stride under max_seq_length) with the steps' values.
 */
export function checkAdvancedText(task: Task, text: string, ctx: AdvancedContext = {}): AdvancedCheck {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length && root) {
    // The first one only: the parser's later errors mostly follow from it.
    const e = errors[0];
    const code = printParseErrorCode(e.error);
    return { problems: [{ field: 'training', message: `${position(text, e.offset)}: ${SYNTAX[code] ?? code}.`, offset: e.offset, length: Math.max(1, e.length), severity: 'error' }] };
  }
  if (!root || root.type !== 'object') {
    const at = root ?? { offset: 0, length: text.length };
    return { problems: [{ field: 'training', message: 'The settings must be one JSON object of field names and values, e.g. { "weight_decay": 0.01 }.', offset: at.offset, length: Math.max(1, at.length), severity: 'error' }] };
  }
  const problems: FieldProblem[] = [];
  const values: Record<string, unknown> = {};
  const nodes = new Map<string, { key: Node; value: Node }>();
  for (const prop of root.children ?? []) {
    const [key, valueNode] = prop.children ?? [];
    if (!key || !valueNode) continue;
    const name = String(key.value);
    if (name === '$schema') continue;
    if (nodes.has(name)) {
      problems.push({ field: `training.${name}`, message: `${name} is set twice; keep one of them (the last one would win).`, offset: key.offset, length: key.length, severity: 'error' });
      continue;
    }
    nodes.set(name, { key, value: valueNode });
    // Text values as the CLI reads them: unfreeze_schedule "2:epoch", report_to "tensorboard+mlflow".
    const value = trainingValueFromText(name, getNodeValue(valueNode));
    // Defined, not assigned: a "__proto__" key stays a field (refused below), not the object's prototype.
    Object.defineProperty(values, name, { value, enumerable: true, writable: true, configurable: true });
    const rule = trainingField(name);
    const own = rule !== undefined && (!rule.tasks || rule.tasks.includes(task));
    for (const p of checkTrainingChanges(task, { [name]: value })) {
      const at = own ? valueNode : key;
      const rename = own ? undefined : fieldSuggestion(task, name);
      problems.push({ ...p, offset: at.offset, length: at.length, severity: 'error', ...(rename ? { rename } : {}) });
    }
    if (own && ctx.steps && Object.hasOwn(ctx.steps, name) && JSON.stringify(ctx.steps[name]) !== JSON.stringify(value)) {
      problems.push({ field: `training.${name}`, message: `${name} ${JSON.stringify(value)} replaces the wizard's answer (${JSON.stringify(ctx.steps[name])}).`, offset: key.offset, length: key.length, severity: 'info' });
    }
  }
  const seen = new Set(problems.map((p) => `${p.field}\n${p.message}`));
  for (const p of crossFieldProblems(task, wizardTraining(ctx.steps ?? {}, values), ctx.multiLabel)) {
    if (seen.has(`${p.field}\n${p.message}`)) continue;
    const at = nodes.get(p.field.slice('training.'.length))?.value ?? root;
    problems.push({ ...p, offset: at.offset, length: at === root ? 1 : at.length, severity: 'error' });
  }
  return { values, problems };
}

/**
 * The training problems preflight finds in the spec these fields make (with the task's defaults
 * for the rest): the checks across fields (doc_stride under max_seq_length) and the metric's name
 * for the task, besides each field's own (checkTrainingChanges).
 */
export function crossFieldProblems(task: Task, training: Readonly<Record<string, unknown>>, multiLabel = false): PreflightProblem[] {
  const spec = buildSpec({ task, model: 'default', train: 'train', training, multiLabel });
  return preflight({ spec, pythonPath: 'python' }).filter((p) => p.field.startsWith('training.'));
}

/** Whether a check leaves the settings usable (info notes do not block). */
export function hasErrors(check: AdvancedCheck): boolean {
  return !check.values || check.problems.some((p) => p.severity === 'error');
}

/** The run's training fields from the wizard: its steps' answers, then the other fields (which win where both set one). */
export function wizardTraining(steps: Readonly<Record<string, unknown>>, other: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ...steps, ...other };
}

/** The fields whose values differ from the task's defaults, as "name=value" (the wizard's summary). */
export function changedFields(task: Task, training: Readonly<Record<string, unknown>>): string[] {
  const defaults = defaultTraining(task);
  return Object.entries(training)
    .filter(([n, v]) => JSON.stringify(v) !== JSON.stringify(defaults[n] ?? null))
    .map(([n, v]) => `${n}=${JSON.stringify(v)}`);
}
