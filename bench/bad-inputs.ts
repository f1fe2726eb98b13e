// Bad inputs, tried as a new user would: a table of hand-made mistakes covering every CLI command
// (dataset import/validate/stats/list, train, runs list/show/stop, fill-mask, predict) and every
// spec.json field (hand-edited specs run through `python -m bert_studio_trainer train --run-dir`).
// A case is "clear" when the command fails (exit code 2 for a usage mistake or a refused spec),
// the message names the flag, field or file, says what to do, shows no stack trace ("Traceback",
// "    at "), and a refused launch leaves no run folder. Results merge into
// bench/results/reliability.json (bad_inputs_tried, bad_inputs_clear, bad_inputs_unclear).
//
//   npm run -s build && npm run -s compile-tests && node out/bench/bad-inputs.js [--only cli|spec] [--in-process]
//
// test/unit/cli/bad-inputs.test.ts runs the fast CLI cases (no Python, no inference engine) in process.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../src/cli/main';
import { importDataset } from '../src/core/datasets/snapshot';
import { packageRoot, studioLayout } from '../src/core/paths';
import { workerEnv } from '../src/core/python/workerEnv';
import { textSink } from '../src/cli/io';

const ROOT = packageRoot(__dirname);
const PYTHON = process.env.BERT_STUDIO_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const RESULTS = path.join(ROOT, 'bench', 'results', 'reliability.json');

/** A message says what to do about it: an instruction, a suggestion, or what the value must be. */
export const FIX = /\b(use|give|pass|set|add|remove|drop|check|choose|import|did you mean|make|save|convert|write|run|try|free|stop|pick|change|fix|edit|rename|see|leave|must be|must not|should|expects?|needs?|at most|at least|one of|e\.g\.|instead|only for|is required|required)\b/i;
/** A stack trace from Python or Node. */
export const STACK = /Traceback \(most recent call last\)|^\s+at .+[(:]\d+|^\s+at [\w.<>]+ \(/m;

/** The files every case may point at, made once per workspace. */
export interface Workspace {
  readonly dir: string;
  readonly runsDir: string;
  readonly tsv: string;
  readonly jsonl: string;
  readonly validationJsonl: string;
  readonly qa: string;
  readonly corpus: string;
  readonly binary: string;
  readonly utf16: string;
  readonly empty: string;
  readonly folder: string;
  readonly noConfigModel: string;
  readonly runId: string;
  /** A workspace whose .bert-studio is a file: no run folder can be made there. */
  readonly blocked: string;
}

export interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The worker's error events (spec cases). */
  readonly errors?: { field?: string; message: string }[];
}

export interface BadInput {
  readonly id: string;
  /** The command as a user names it: "train", "dataset import", "spec.json", … */
  readonly command: string;
  readonly kind: 'cli' | 'spec';
  /** Loads the inference engine or a tokenizer (left out of the fast unit test). */
  readonly slow?: boolean;
  /** Exit code 2 expected (usage mistakes and refused specs); else any non-zero code. */
  readonly usage: boolean;
  /** The message must contain one of these (the flag, the field, the file). */
  readonly names: (ws: Workspace) => string[];
  /** CLI arguments. */
  readonly args?: (ws: Workspace) => string[];
  /** spec.json: a valid spec changed into a bad one (a string is written as is). */
  readonly spec?: (ws: Workspace) => unknown;
  /** --json given: stdout must hold JSON error objects. */
  readonly json?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The table

const cli = (command: string, id: string, args: (ws: Workspace) => string[], names: (ws: Workspace) => string[], opts: { usage?: boolean; slow?: boolean } = {}): BadInput => ({
  id,
  command,
  kind: 'cli',
  usage: opts.usage ?? true,
  slow: opts.slow,
  names,
  args,
});

/** train with a valid classification file and the given extra flags. */
const train = (id: string, extra: (ws: Workspace) => string[], names: (ws: Workspace) => string[]): BadInput =>
  cli('train', id, (ws) => ['train', '--workspace', ws.dir, '--detach', ...extra(ws)], names);
const trainTsv = (id: string, extra: string[], names: string[]): BadInput =>
  train(id, (ws) => ['--task', 'sequence_classification', '--train', ws.tsv, ...extra], () => names);

const CLI_CASES: BadInput[] = [
  // train: training values
  trainTsv('epoch-typo', ['--epoch', '3'], ['--epoch']),
  trainTsv('epochs-0', ['--epochs', '0'], ['--epochs']),
  trainTsv('epochs-negative', ['--epochs', '-1'], ['--epochs']),
  trainTsv('epochs-text', ['--epochs', 'three'], ['--epochs']),
  trainTsv('epochs-no-value', ['--epochs'], ['--epochs']),
  trainTsv('batch-0', ['--batch-size', '0'], ['--batch-size']),
  trainTsv('batch-fraction', ['--batch-size', '2.5'], ['--batch-size']),
  trainTsv('lr-negative', ['--lr', '-1'], ['--lr']),
  trainTsv('lr-zero', ['--lr', '0'], ['--lr']),
  trainTsv('lr-text', ['--lr', 'fast'], ['--lr']),
  trainTsv('lr-infinity', ['--lr', 'Infinity'], ['--lr']),
  trainTsv('lr-huge', ['--lr', '5'], ['--lr']),
  trainTsv('seq-0', ['--max-seq-length', '0'], ['--max-seq-length']),
  trainTsv('seq-4', ['--max-seq-length', '4'], ['--max-seq-length']),
  trainTsv('seq-100000', ['--max-seq-length', '100000'], ['--max-seq-length']),
  trainTsv('eval-steps-0', ['--eval-steps', '0'], ['--eval-steps']),
  trainTsv('save-steps-negative', ['--save-steps', '-1'], ['--save-steps']),
  trainTsv('logging-steps-0', ['--logging-steps', '0'], ['--logging-steps']),
  trainTsv('seed-negative', ['--seed', '-5'], ['--seed']),
  trainTsv('max-steps-0', ['--max-steps', '0'], ['--max-steps']),
  trainTsv('max-steps-fraction', ['--max-steps', '1.5'], ['--max-steps']),
  trainTsv('max-train-samples-0', ['--max-train-samples', '0'], ['--max-train-samples']),
  trainTsv('max-eval-samples-negative', ['--max-eval-samples', '-3'], ['--max-eval-samples']),
  trainTsv('device-tpu', ['--device', 'tpu'], ['--device']),
  trainTsv('set-unknown', ['--set', 'foo=1'], ['training.foo']),
  trainTsv('set-alias', ['--set', 'epochs=3'], ['training.epochs']),
  trainTsv('set-warmup-5', ['--set', 'warmup_ratio=5'], ['training.warmup_ratio']),
  trainTsv('set-no-equals', ['--set', 'warmup_ratio'], ['--set']),
  trainTsv('set-wrong-task', ['--set', 'doc_stride=64'], ['training.doc_stride']),
  trainTsv('set-patience-0', ['--set', 'early_stopping_patience=0'], ['training.early_stopping_patience']),
  trainTsv('set-metric', ['--set', 'metric_for_best_model=bleu'], ['training.metric_for_best_model']),
  trainTsv('set-bf16', ['--set', 'bf16=maybe'], ['training.bf16']),
  trainTsv('set-threshold', ['--multi-label', '--set', 'threshold=2'], ['training.threshold']),
  trainTsv('set-weight-decay', ['--set', 'weight_decay=-0.1'], ['training.weight_decay']),
  trainTsv('set-grad-accum', ['--set', 'gradient_accumulation_steps=0'], ['training.gradient_accumulation_steps']),
  trainTsv('no-export-value', ['--no-export=yes'], ['--no-export']),
  trainTsv('label-delimiter-empty', ['--label-delimiter='], ['--label-delimiter']),
  train('qa-stride', (ws) => ['--task', 'question_answering', '--train', ws.qa, '--max-seq-length', '128'], () => ['training.doc_stride']),
  train('multi-label-ner', (ws) => ['--task', 'token_classification', '--train', ws.tsv, '--multi-label'], () => ['--multi-label']),
  train('mlm-probability', (ws) => ['--task', 'mlm', '--train', ws.corpus, '--set', 'mlm_probability=1.5'], () => ['training.mlm_probability']),
  // train: task, data, model
  train('task-unknown', (ws) => ['--task', 'summarize', '--train', ws.tsv], () => ['--task']),
  train('task-missing', (ws) => ['--train', ws.tsv], () => ['--task']),
  train('train-missing-flag', () => ['--task', 'sequence_classification'], () => ['--train']),
  train('train-no-such-file', (ws) => ['--task', 'sequence_classification', '--train', path.join(ws.dir, 'nope.tsv')], (ws) => [path.join(ws.dir, 'nope.tsv')]),
  train('train-folder', (ws) => ['--task', 'sequence_classification', '--train', ws.folder], (ws) => [ws.folder]),
  train('train-binary', (ws) => ['--task', 'sequence_classification', '--train', ws.binary], (ws) => [ws.binary]),
  train('train-utf16', (ws) => ['--task', 'sequence_classification', '--train', ws.utf16], (ws) => [ws.utf16]),
  train('train-empty', (ws) => ['--task', 'sequence_classification', '--train', ws.empty], (ws) => [ws.empty]),
  train('train-device-file', () => ['--task', 'sequence_classification', '--train', '/dev/zero'], () => ['/dev/zero']),
  train('validation-missing', (ws) => ['--task', 'sequence_classification', '--train', ws.tsv, '--validation', path.join(ws.dir, 'dev.tsv')], (ws) => [path.join(ws.dir, 'dev.tsv')]),
  train('mlm-empty-folder', (ws) => ['--task', 'mlm', '--train', path.join(ws.folder, 'empty')], (ws) => [path.join(ws.folder, 'empty')]),
  train('model-missing', (ws) => ['--task', 'sequence_classification', '--train', ws.tsv, '--model', '/no/such/model'], () => ['--model']),
  train('model-no-config', (ws) => ['--task', 'sequence_classification', '--train', ws.tsv, '--model', ws.noConfigModel], (ws) => [ws.noConfigModel]),
  train('python-missing', (ws) => ['--task', 'sequence_classification', '--train', ws.tsv, '--python', '/no/such/python'], () => ['/no/such/python']),
  train('dataset-unknown', () => ['--dataset', 'nope'], () => ['--dataset']),
  train('dataset-bad-id', () => ['--dataset', '../../etc'], () => ['--dataset']),
  train('dataset-and-train', (ws) => ['--dataset', 'sst', '--train', ws.tsv], () => ['--dataset']),
  train('dataset-wrong-task', () => ['--dataset', 'sst', '--task', 'question_answering'], () => ['--task']),
  train('positional', (ws) => [ws.tsv], (ws) => [ws.tsv]),
  train('resume-unknown', () => ['--resume', 'nope'], () => ['--resume']),
  train('resume-bad-id', () => ['--resume', '../../etc'], () => ['--resume']),
  train('resume-with-changes', (ws) => ['--resume', ws.runId, '--epochs', '2'], () => ['--epochs']),
  train('json-epochs-0', (ws) => ['--json', '--task', 'sequence_classification', '--train', ws.tsv, '--epochs', '0'], () => ['--epochs']),
  train('json-typo', (ws) => ['--json', '--task', 'sequence_classification', '--train', ws.tsv, '--lr=1e-5', '--bach-size', '8'], () => ['--bach-size']),
  cli('train', 'read-only-workspace', (ws) => ['train', '--workspace', ws.blocked, '--task', 'sequence_classification', '--train', ws.tsv], (ws) => [ws.blocked], { usage: false }),
  // dataset
  cli('dataset', 'dataset-no-subcommand', () => ['dataset'], () => ['import']),
  cli('dataset', 'dataset-unknown-subcommand', (ws) => ['dataset', 'frob', '--workspace', ws.dir], () => ['frob']),
  cli('dataset import', 'import-no-file', (ws) => ['dataset', 'import', '--workspace', ws.dir], () => ['FILE']),
  cli('dataset import', 'import-missing-file', (ws) => ['dataset', 'import', path.join(ws.dir, 'nope.tsv'), '--workspace', ws.dir], (ws) => ['nope.tsv', path.join(ws.dir, 'nope.tsv')], { usage: false }),
  cli('dataset import', 'import-flag-typo', (ws) => ['dataset', 'import', ws.tsv, '--formt', 'tsv', '--workspace', ws.dir], () => ['--formt']),
  cli('dataset import', 'import-bad-id', (ws) => ['dataset', 'import', ws.tsv, '--id', '../escape', '--workspace', ws.dir], () => ['--id', '../escape']),
  cli('dataset import', 'import-split-2', (ws) => ['dataset', 'import', ws.tsv, '--split', '2', '--workspace', ws.dir], () => ['--split']),
  cli('dataset import', 'import-label-delimiter-empty', (ws) => ['dataset', 'import', ws.tsv, '--label-delimiter=', '--workspace', ws.dir], () => ['--label-delimiter']),
  cli('dataset import', 'import-blocked-workspace', (ws) => ['dataset', 'import', ws.tsv, '--workspace', ws.blocked], (ws) => [ws.blocked], { usage: false }),
  cli('dataset import', 'import-binary', (ws) => ['dataset', 'import', ws.binary, '--task', 'sequence_classification', '--format', 'tsv', '--text', '0', '--label', '1', '--workspace', ws.dir], (ws) => [path.basename(ws.binary)], { usage: false }),
  cli('dataset validate', 'validate-task', (ws) => ['dataset', 'validate', ws.tsv, '--task', 'summarize'], () => ['--task']),
  cli('dataset validate', 'validate-format', (ws) => ['dataset', 'validate', ws.tsv, '--format', 'xml'], () => ['--format']),
  cli('dataset validate', 'validate-folder', (ws) => ['dataset', 'validate', ws.folder, '--task', 'sequence_classification', '--format', 'tsv'], (ws) => [path.basename(ws.folder)], { usage: false }),
  cli('dataset validate', 'validate-column-range', (ws) => ['dataset', 'validate', ws.tsv, '--task', 'sequence_classification', '--text', '7', '--label', '1'], () => ['7', '--text'], { usage: false }),
  cli('dataset validate', 'validate-quoting', (ws) => ['dataset', 'validate', ws.tsv, '--quoting', 'maybe'], () => ['--quoting']),
  cli('dataset validate', 'validate-tag-scheme', (ws) => ['dataset', 'validate', ws.tsv, '--tag-scheme', 'iob9'], () => ['--tag-scheme']),
  cli('dataset validate', 'validate-text-mode', (ws) => ['dataset', 'validate', ws.corpus, '--task', 'mlm', '--text-mode', 'paragraphs'], () => ['--text-mode']),
  cli('dataset validate', 'validate-value-missing', (ws) => ['dataset', 'validate', ws.tsv, '--task'], () => ['--task']),
  cli('dataset stats', 'stats-unknown-dataset', (ws) => ['dataset', 'stats', '--dataset', 'nope', '--workspace', ws.dir], () => ['nope', '--dataset']),
  cli('dataset stats', 'stats-model-missing', (ws) => ['dataset', 'stats', ws.tsv, '--model', '/no/such/model'], () => ['--model']),
  cli('dataset stats', 'stats-seq-text', (ws) => ['dataset', 'stats', ws.tsv, '--max-seq-length', 'long'], () => ['--max-seq-length'], { slow: true }),
  cli('dataset stats', 'stats-tokenizer', (ws) => ['dataset', 'stats', ws.tsv, '--tokenizer', 'sentencepiece'], () => ['--tokenizer'], { slow: true }),
  cli('dataset list', 'list-flag-typo', (ws) => ['dataset', 'list', '--workspce', ws.dir], () => ['--workspce']),
  cli('dataset list', 'list-json-typo', (ws) => ['dataset', 'list', '--json', '--workspce', ws.dir], () => ['--workspce']),
  // runs
  cli('runs', 'runs-unknown-subcommand', (ws) => ['runs', 'frob', 'x', '--workspace', ws.dir], () => ['frob']),
  cli('runs', 'runs-flag-typo', (ws) => ['runs', '--workspce', ws.dir], () => ['--workspce']),
  cli('runs list', 'runs-list-json-typo', (ws) => ['runs', 'list', '--json', '--workspce', ws.dir], () => ['--workspce']),
  cli('runs show', 'show-no-id', (ws) => ['runs', 'show', '--workspace', ws.dir], () => ['RUN_ID']),
  cli('runs show', 'show-unknown', (ws) => ['runs', 'show', 'nope', '--workspace', ws.dir], () => ['nope']),
  cli('runs show', 'show-bad-id', (ws) => ['runs', 'show', '../../etc', '--workspace', ws.dir], () => ['../../etc']),
  cli('runs stop', 'stop-no-id', (ws) => ['runs', 'stop', '--workspace', ws.dir], () => ['RUN_ID']),
  cli('runs stop', 'stop-unknown', (ws) => ['runs', 'stop', 'nope', '--workspace', ws.dir], () => ['nope']),
  cli('runs stop', 'stop-bad-id', (ws) => ['runs', 'stop', '../x', '--workspace', ws.dir], () => ['../x']),
  // fill-mask, predict
  cli('fill-mask', 'fill-mask-no-model', () => ['fill-mask', 'the [MASK] is red'], () => ['--model']),
  cli('fill-mask', 'fill-mask-model-missing', () => ['fill-mask', '--model', '/no/such/model', 'the [MASK] is red'], () => ['/no/such/model']),
  cli('fill-mask', 'fill-mask-top-k-0', (ws) => ['fill-mask', '--model', ws.folder, '--top-k', '0', 'the [MASK] is red'], () => ['--top-k']),
  cli('fill-mask', 'fill-mask-flag-typo', (ws) => ['fill-mask', '--model', ws.folder, '--topk', '3', 'x [MASK]'], () => ['--topk']),
  cli('fill-mask', 'fill-mask-no-text', (ws) => ['fill-mask', '--model', ws.folder], () => ['[MASK]']),
  cli('fill-mask', 'fill-mask-not-a-model', (ws) => ['fill-mask', '--model', ws.folder, 'the [MASK] is red'], (ws) => [ws.folder, path.basename(ws.folder)], { usage: false, slow: true }),
  cli('fill-mask', 'fill-mask-run-without-export', (ws) => ['fill-mask', '--workspace', ws.dir, '--model', ws.runId, 'the [MASK] is red'], (ws) => [ws.runId], { usage: false, slow: true }),
  cli('predict', 'predict-no-model', () => ['predict', 'a fine film'], () => ['--model']),
  cli('predict', 'predict-model-missing', () => ['predict', '--model', '/no/such/model', 'a fine film'], () => ['/no/such/model']),
  cli('predict', 'predict-flag-typo', (ws) => ['predict', '--model', ws.folder, '--questoin', 'who?', 'text'], () => ['--questoin']),
  cli('predict', 'predict-no-text', (ws) => ['predict', '--model', ws.folder], () => ['text']),
  cli('predict', 'predict-json-no-model', () => ['predict', '--json', 'a fine film'], () => ['--model']),
  cli('predict', 'predict-not-a-model', (ws) => ['predict', '--model', ws.folder, 'a fine film'], (ws) => [ws.folder, path.basename(ws.folder)], { usage: false, slow: true }),
  // the command itself
  cli('bert-studio', 'command-unknown', () => ['trian'], () => ['trian']),
  cli('bert-studio', 'command-unknown-json', () => ['trian', '--json'], () => ['trian']),
];

/** A spec.json case: `change` turns a valid spec (sequence classification on the snapshot) into a bad one. */
type SpecBase = Record<string, unknown> & { model: Record<string, unknown>; data: Record<string, unknown>; training: Record<string, unknown>; export: Record<string, unknown> };
const spec = (id: string, field: string, change: (s: SpecBase, ws: Workspace) => unknown, names?: string[]): BadInput => ({
  id: `spec-${id}`,
  command: 'spec.json',
  kind: 'spec',
  usage: true,
  names: () => names ?? [field],
  spec: (ws) => change(baseSpec(ws), ws),
});

function baseSpec(ws: Workspace, task = 'sequence_classification'): SpecBase {
  const train = task === 'question_answering' ? ws.qa : task.startsWith('mlm') ? ws.corpus : ws.jsonl;
  return {
    version: 1,
    task,
    model: { name_or_path: 'default' },
    data: { train, ...(task === 'sequence_classification' ? { validation: ws.validationJsonl } : {}) },
    training: { max_steps: 1, eval_steps: 1, save_steps: 1, per_device_train_batch_size: 2, max_seq_length: 32 },
    device: 'cpu',
    export: { onnx: false, quantize: false },
  };
}

const set = <T extends Record<string, unknown>>(o: T, k: string, v: unknown): T => ({ ...o, [k]: v });
const training = (id: string, field: string, value: unknown, task = 'sequence_classification'): BadInput =>
  spec(id, `training.${field}`, (_s, ws) => {
    const b = baseSpec(ws, task);
    return { ...b, training: { ...b.training, [field]: value } };
  });

const SPEC_CASES: BadInput[] = [
  spec('not-json', 'spec.json', () => '{"version": 1, "task": ', ['spec.json']),
  spec('not-object', 'spec', () => [], ['spec', 'object']),
  spec('version', 'version', (s) => set(s, 'version', 2)),
  spec('task', 'task', (s) => set(s, 'task', 'summarize')),
  spec('task-missing', 'task', (s) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'task'))),
  spec('unknown-top', 'trainning', (s) => set(s, 'trainning', {})),
  spec('name-type', 'name', (s) => set(s, 'name', 42)),
  spec('dataset-id-type', 'dataset_id', (s) => set(s, 'dataset_id', ['sst'])),
  spec('model-string', 'model', (s) => set(s, 'model', 'default')),
  spec('model-missing', 'model.name_or_path', (s) => set(s, 'model', {})),
  spec('model-path', 'model.name_or_path', (s) => set(s, 'model', { name_or_path: '/no/such/model' })),
  spec('model-number', 'model.name_or_path', (s) => set(s, 'model', { name_or_path: 42 })),
  spec('model-no-config', 'model.name_or_path', (s, ws) => set(s, 'model', { name_or_path: ws.noConfigModel })),
  spec('model-unknown', 'model.revision', (s) => set(s, 'model', { ...s.model, revision: 'main' })),
  spec('trust-pickle', 'model.trust_pickle', (s) => set(s, 'model', { ...s.model, trust_pickle: 'yes' })),
  spec('from-scratch-task', 'model.from_scratch', (s) => set(s, 'model', { ...s.model, from_scratch: { preset: 'tiny' } })),
  spec('from-scratch-string', 'model.from_scratch', (_s, ws) => { const b = baseSpec(ws, 'mlm'); return set(b, 'model', { ...b.model, from_scratch: 'tiny' }); }),
  spec('from-scratch-preset', 'model.from_scratch.preset', (_s, ws) => { const b = baseSpec(ws, 'mlm'); return set(b, 'model', { ...b.model, from_scratch: { preset: 'gigantic' } }); }),
  spec('from-scratch-vocab', 'model.from_scratch.vocab_size', (_s, ws) => { const b = baseSpec(ws, 'mlm'); return set(b, 'model', { ...b.model, from_scratch: { preset: 'tiny', vocab_size: -5 } }); }),
  spec('data-array', 'data', (s) => set(s, 'data', [])),
  spec('train-missing', 'data.train', (s) => set(s, 'data', {})),
  spec('train-no-file', 'data.train', (s, ws) => set(s, 'data', { train: path.join(ws.dir, 'nope.jsonl') })),
  spec('train-folder', 'data.train', (s, ws) => set(s, 'data', { train: ws.folder })),
  spec('train-binary', 'data.train', (s, ws) => set(s, 'data', { train: ws.binary })),
  spec('train-utf16', 'data.train', (s, ws) => set(s, 'data', { train: ws.utf16 })),
  spec('train-device', 'data.train', (s) => set(s, 'data', { train: '/dev/zero' })),
  spec('validation-no-file', 'data.validation', (s, ws) => set(s, 'data', { ...s.data, validation: path.join(ws.dir, 'nope.jsonl') })),
  spec('labels-empty', 'data.labels', (s) => set(s, 'data', { ...s.data, labels: [] })),
  spec('labels-string', 'data.labels', (s) => set(s, 'data', { ...s.data, labels: 'pos,neg' })),
  spec('max-train-samples', 'data.max_train_samples', (s) => set(s, 'data', { ...s.data, max_train_samples: 0 })),
  spec('max-eval-samples', 'data.max_eval_samples', (s) => set(s, 'data', { ...s.data, max_eval_samples: 'all' })),
  spec('columns-string', 'data.columns', (s) => set(s, 'data', { ...s.data, columns: 'text' })),
  spec('columns-role', 'data.columns.body', (s) => set(s, 'data', { ...s.data, columns: { body: 'x' } })),
  spec('multi-label-type', 'data.multi_label', (s) => set(s, 'data', { ...s.data, multi_label: 'yes' })),
  spec('label-delimiter', 'data.label_delimiter', (s) => set(s, 'data', { ...s.data, label_delimiter: '|' })),
  spec('data-unknown', 'data.test', (s, ws) => set(s, 'data', { ...s.data, test: ws.jsonl })),
  spec('training-array', 'training', (s) => set(s, 'training', [])),
  spec('training-string', 'training', (s) => set(s, 'training', 'fast')),
  training('epochs-0', 'num_train_epochs', 0),
  training('max-steps-0', 'max_steps', 0),
  training('batch-0', 'per_device_train_batch_size', 0),
  training('eval-batch-negative', 'per_device_eval_batch_size', -1),
  training('lr-negative', 'learning_rate', -1),
  training('lr-text', 'learning_rate', 'fast'),
  training('weight-decay', 'weight_decay', -1),
  training('warmup-5', 'warmup_ratio', 5),
  training('grad-accum', 'gradient_accumulation_steps', 0),
  training('grad-norm', 'max_grad_norm', -1),
  training('seq-100000', 'max_seq_length', 100000),
  training('seq-0', 'max_seq_length', 0),
  training('eval-steps', 'eval_steps', 0),
  training('save-steps', 'save_steps', 0),
  training('save-limit', 'save_total_limit', 0),
  training('logging-steps', 'logging_steps', 0),
  training('seed', 'seed', -1),
  training('metric', 'metric_for_best_model', 'bleu'),
  training('patience', 'early_stopping_patience', 0),
  training('bf16', 'bf16', 'maybe'),
  training('compile', 'torch_compile', 'yes'),
  training('group-by-length', 'group_by_length', 1),
  training('threshold', 'threshold', 2),
  training('unknown', 'epochs', 3),
  training('wrong-task', 'doc_stride', 64),
  training('doc-stride', 'doc_stride', 64, 'question_answering'),
  training('doc-stride-0', 'doc_stride', 0, 'question_answering'),
  training('answer-length', 'max_answer_length', 0, 'question_answering'),
  training('n-best', 'n_best_size', 0, 'question_answering'),
  training('mlm-probability', 'mlm_probability', 1.5, 'mlm'),
  training('short-seq-prob', 'short_seq_prob', 2, 'mlm'),
  training('whole-word', 'whole_word_masking', 'yes', 'mlm'),
  training('nsp', 'nsp', 'yes', 'mlm_nsp'),
  spec('device', 'device', (s) => set(s, 'device', 'tpu')),
  spec('device-number', 'device', (s) => set(s, 'device', 0)),
  spec('export-string', 'export', (s) => set(s, 'export', 'yes')),
  spec('export-onnx', 'export.onnx', (s) => set(s, 'export', { onnx: 'yes' })),
  spec('export-quantize', 'export.quantize', (s) => set(s, 'export', { quantize: 1 })),
  spec('export-unknown', 'export.format', (s) => set(s, 'export', { format: 'tflite' })),
];
// The QA doc_stride case needs max_seq_length under the stride: the base spec's 32 is.

export const CASES: readonly BadInput[] = [...CLI_CASES, ...SPEC_CASES];

// ---------------------------------------------------------------------------------------------
// Set-up

export async function makeWorkspace(dir: string): Promise<Workspace> {
  fs.mkdirSync(dir, { recursive: true });
  const file = (name: string, data: string | Buffer): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    return p;
  };
  const rows = ['a fine film\t1', 'a dull film\t0', 'warm and witty\t1', 'tedious and long\t0', 'a small gem\t1', 'nothing works\t0'];
  const tsv = file('train.tsv', `sentence\tlabel\n${rows.join('\n')}\n`);
  const dev = file('dev.tsv', `sentence\tlabel\n${rows.slice(0, 4).join('\n')}\n`);
  const layout = studioLayout(dir);
  const imported = await importDataset({ task: 'sequence_classification', format: 'tsv', mapping: { text: 'sentence', label: 'label' }, files: { train: tsv, validation: dev } }, layout.datasetsDir, { id: 'sst' });
  if (!imported.ok || !imported.dir) throw new Error(`set-up: import failed: ${imported.reason}`);
  fs.rmSync(dev);
  const context = 'The Eiffel Tower is in Paris. It was finished in 1889 for the World Fair.';
  const qa = file(
    'qa.jsonl',
    ['Where is the Eiffel Tower?', 'When was it finished?']
      .map((q, i) => JSON.stringify({ id: `q${i}`, context, question: q, answers: [{ text: i ? '1889' : 'Paris', answer_start: context.indexOf(i ? '1889' : 'Paris') }] }))
      .join('\n') + '\n',
  );
  const corpus = file('corpus.txt', 'The first sentence of a document.\nA second sentence follows it.\n\nAnother document starts here.\nIt ends here.\n');
  const binary = file('data.bin', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00, 0x41, 0x42]));
  const utf16 = file('utf16.tsv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('sentence\tlabel\na fine film\t1\n', 'utf16le')]));
  const empty = file('empty.tsv', '');
  const folder = path.join(dir, 'a-folder');
  fs.mkdirSync(path.join(folder, 'empty'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'notes.md'), 'not data\n');
  const noConfigModel = path.join(dir, 'model-without-config');
  fs.mkdirSync(noConfigModel);
  fs.writeFileSync(path.join(noConfigModel, 'model.safetensors'), '');
  // A finished run without an export (for runs show/stop, --resume and fill-mask by run id).
  const runId = '20260101-000000-finished';
  const runDir = path.join(layout.runsDir, runId);
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'spec.json'), JSON.stringify(baseSpec({ jsonl: path.join(imported.dir, 'train.jsonl'), validationJsonl: path.join(imported.dir, 'validation.jsonl') } as Workspace)));
  fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify({ state: 'completed', pid: 0, step: 1, max_steps: 1, best_metric: null, last_checkpoint: null, started: 0, updated: 0 }));
  const blocked = path.join(dir, 'blocked-workspace');
  fs.mkdirSync(blocked);
  fs.writeFileSync(path.join(blocked, '.bert-studio'), 'a file where the folder should be\n');
  return {
    dir,
    runsDir: layout.runsDir,
    tsv,
    jsonl: path.join(imported.dir, 'train.jsonl'),
    validationJsonl: path.join(imported.dir, 'validation.jsonl'),
    qa,
    corpus,
    binary,
    utf16,
    empty,
    folder,
    noConfigModel,
    runId,
    blocked,
  };
}

// ---------------------------------------------------------------------------------------------
// Running and judging


function runFolders(ws: Workspace): string[] {
  try {
    return fs.readdirSync(ws.runsDir);
  } catch {
    return [];
  }
}

/** Stops any worker an accepted case started (it should not have): the run's pid, then its folder. */
function cleanUpRun(ws: Workspace, id: string, outcome: Outcome): void {
  const dir = path.join(ws.runsDir, id);
  const pids = [...`${outcome.stdout}\n${outcome.stderr}`.matchAll(/pid"?:? ?(\d+)/g)].map((m) => Number(m[1]));
  try {
    pids.push((JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { pid: number }).pid);
  } catch {
    // no status yet
  }
  for (const pid of pids) {
    try {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs a CLI case: `node dist/cli.js` in its own process, or `main()` in this one. */
export async function runCli(args: string[], cwd: string, inProcess: boolean, log: string): Promise<Outcome> {
  if (inProcess) {
    const stdout = textSink();
    const stderr = textSink();
    const before = process.env.BERT_STUDIO_CLI_LOG;
    process.env.BERT_STUDIO_CLI_LOG = log;
    try {
      const code = await main(args, { stdout, stderr });
      return { code, stdout: stdout.text, stderr: stderr.text };
    } finally {
      if (before === undefined) delete process.env.BERT_STUDIO_CLI_LOG;
      else process.env.BERT_STUDIO_CLI_LOG = before;
    }
  }
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, BERT_STUDIO_CLI_LOG: log } });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs a spec case: the worker on a run folder holding the hand-edited spec.json. */
export function runSpec(specValue: unknown, dir: string): Outcome {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'spec.json'), typeof specValue === 'string' ? specValue : JSON.stringify(specValue, null, 2));
  const r = spawnSync(PYTHON, ['-m', 'bert_studio_trainer', 'train', '--run-dir', dir], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, ...workerEnv(ROOT), OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1', BERT_STUDIO_NUM_THREADS: process.env.BERT_STUDIO_NUM_THREADS ?? '1' },
  });
  const errors: { field?: string; message: string }[] = [];
  try {
    for (const line of fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const ev = JSON.parse(line) as { type?: string; field?: string; message?: string };
      if (ev.type === 'error') errors.push({ field: ev.field, message: String(ev.message ?? '') });
    }
  } catch {
    // no events: judged below
  }
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', errors };
}

/** Why a case's outcome is not clear; empty when it is. */
export function judge(c: BadInput, ws: Workspace, o: Outcome, leftRuns: string[]): string[] {
  const why: string[] = [];
  if (o.code === 0) why.push('exit code 0');
  else if (c.usage && o.code !== 2) why.push(`exit code ${o.code}, not 2`);
  const shown = c.kind === 'spec' ? (o.errors ?? []).map((e) => `${e.field ?? ''} ${e.message}`).join('\n') : `${o.stdout}\n${o.stderr}`;
  if (c.kind === 'spec' && !o.errors?.length) why.push('no error event');
  const names = c.names(ws);
  if (!names.some((n) => shown.includes(n))) why.push(`does not name ${names.join(' or ')}`);
  if (!FIX.test(shown)) why.push('says no fix');
  if (STACK.test(`${o.stdout}\n${o.stderr}`)) why.push('stack trace');
  if (c.json ?? c.args?.(ws).includes('--json')) {
    const lines = o.stdout.trim().split('\n').filter(Boolean);
    const ok = lines.length > 0 && lines.every((l) => {
      try {
        const j = JSON.parse(l) as { type?: string; message?: unknown };
        return j.type === 'error' && typeof j.message === 'string';
      } catch {
        return false;
      }
    });
    if (!ok) why.push('--json: no JSON error object on stdout');
  }
  if (leftRuns.length) why.push(`left run folder(s) ${leftRuns.join(', ')}`);
  return why;
}

export interface CaseResult {
  readonly id: string;
  readonly command: string;
  readonly clear: boolean;
  readonly why: string[];
  readonly message: string;
}

export async function runCase(c: BadInput, ws: Workspace, opts: { inProcess: boolean; scratch: string }): Promise<CaseResult> {
  const before = new Set(runFolders(ws));
  let o: Outcome;
  if (c.kind === 'cli' && c.args) o = await runCli(c.args(ws), ws.dir, opts.inProcess, path.join(opts.scratch, 'cli.log'));
  else o = runSpec(c.spec?.(ws), path.join(opts.scratch, 'spec-run'));
  const left = runFolders(ws).filter((r) => !before.has(r));
  for (const id of left) cleanUpRun(ws, id, o);
  const why = judge(c, ws, o, left);
  const message = (c.kind === 'spec' ? (o.errors ?? []).map((e) => e.message).join(' | ') || o.stderr : `${o.stdout}${o.stderr}`).trim().split('\n').slice(0, 3).join(' / ').slice(0, 400);
  return { id: c.id, command: c.command, clear: why.length === 0, why, message };
}

async function benchMain(): Promise<void> {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  const inProcess = process.argv.includes('--in-process');
  if (!inProcess && !fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run -s build" first.`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-studio-bad-inputs-'));
  const ws = await makeWorkspace(path.join(scratch, 'ws'));
  const results: CaseResult[] = [];
  const started = Date.now();
  try {
    for (const c of CASES) {
      if (only && c.kind !== only) continue;
      const r = await runCase(c, ws, { inProcess, scratch });
      results.push(r);
      process.stderr.write(`${r.clear ? 'clear  ' : 'UNCLEAR'} ${c.command.padEnd(16)} ${c.id.padEnd(30)} ${r.clear ? '' : `${r.why.join('; ')} :: `}${r.message.slice(0, 160)}\n`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const clear = results.filter((r) => r.clear).length;
  const byCommand: Record<string, { tried: number; clear: number }> = {};
  for (const r of results) {
    const b = (byCommand[r.command] ??= { tried: 0, clear: 0 });
    b.tried++;
    if (r.clear) b.clear++;
  }
  process.stdout.write(`${clear}/${results.length} bad inputs got a clear answer\n`);
  if (only) return; // a partial run does not replace the figures
  let existing: Record<string, unknown> = {};
  try {
    existing = JSON.parse(fs.readFileSync(RESULTS, 'utf8')) as Record<string, unknown>;
  } catch {
    // first figures
  }
  const merged = {
    ...existing,
    bad_inputs_tried: results.length,
    bad_inputs_clear: clear,
    bad_inputs_unclear: results.filter((r) => !r.clear).map((r) => ({ id: r.id, command: r.command, why: r.why, message: r.message })),
    bad_inputs_by_command: byCommand,
    bad_inputs_note: 'bench/bad-inputs.ts: CLI cases via node dist/cli.js, spec.json cases via python -m bert_studio_trainer train --run-dir; clear = non-zero exit (2 for usage), names the flag/field/file, says a fix, no stack trace, no run folder left',
    bad_inputs_seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  fs.writeFileSync(RESULTS, JSON.stringify(merged, null, 1) + '\n');
}

if (require.main === module) {
  benchMain().catch((err: unknown) => {
    process.stderr.write(`bad-inputs: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
