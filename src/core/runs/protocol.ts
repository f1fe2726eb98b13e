// Host side of the worker's run-folder protocol. Mirrors DESIGN.md ("events.jsonl and
// status.json") and the trainer's writer in trainer/bert_studio_trainer/ (events and status).

export const TASKS = ['sequence_classification', 'token_classification', 'question_answering', 'mlm', 'mlm_nsp'] as const;
export type Task = (typeof TASKS)[number];

export type RunState = 'starting' | 'running' | 'stopping' | 'stopped' | 'completed' | 'failed';
/** What the host shows: the worker's state, or `interrupted` when it died without saying so. */
export type DisplayState = RunState | 'interrupted' | 'pending';

interface EventBase {
  readonly ts: number;
}
export interface StatusEvent extends EventBase {
  readonly type: 'status';
  readonly state: RunState;
  readonly message?: string;
}
export interface StepEvent extends EventBase {
  readonly type: 'step';
  readonly step: number;
  readonly max_steps?: number;
  readonly epoch?: number;
  readonly loss: number;
  readonly mlm_loss?: number;
  readonly nsp_loss?: number;
  readonly learning_rate?: number;
  readonly grad_norm?: number;
  readonly samples_per_second?: number;
  readonly tokens_per_second?: number;
  readonly memory_mb?: number;
}
export interface ClassReport {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}
export interface Misclassified {
  readonly text: string;
  readonly gold: string;
  readonly pred: string;
  readonly source?: { readonly file: string; readonly line: number };
}
export interface EvalEvent extends EventBase {
  readonly type: 'eval';
  readonly step: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly per_class?: Readonly<Record<string, ClassReport>>;
  readonly per_entity?: Readonly<Record<string, ClassReport>>;
  readonly confusion_matrix?: { readonly labels: readonly string[]; readonly matrix: readonly (readonly number[])[] };
  readonly misclassified?: readonly Misclassified[];
}
export interface CheckpointEvent extends EventBase {
  readonly type: 'checkpoint';
  readonly step: number;
  readonly path: string;
}
export interface ExportEvent extends EventBase {
  readonly type: 'export';
  readonly path?: string;
  readonly max_abs_diff?: number;
}
export interface LogEvent extends EventBase {
  readonly type: 'log';
  readonly level?: string;
  readonly message: string;
}
export interface ErrorEvent extends EventBase {
  readonly type: 'error';
  readonly message: string;
  readonly field?: string;
}
export type RunEvent = StatusEvent | StepEvent | EvalEvent | CheckpointEvent | ExportEvent | LogEvent | ErrorEvent;

export interface RunStatus {
  readonly state: RunState;
  readonly pid?: number;
  readonly step?: number;
  readonly max_steps?: number;
  readonly best_metric?: { readonly name: string; readonly value: number; readonly step: number } | null;
  readonly last_checkpoint?: string | null;
  readonly started?: number;
  readonly updated?: number;
}

const EVENT_TYPES = new Set(['status', 'step', 'eval', 'checkpoint', 'export', 'log', 'error']);

/** Parses one events.jsonl line; undefined for anything that is not a well-formed event. */
export function parseEvent(line: string): RunEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const rec = value as Record<string, unknown>;
  if (typeof rec.type !== 'string' || !EVENT_TYPES.has(rec.type)) return undefined;
  if (rec.type === 'step' && (typeof rec.step !== 'number' || typeof rec.loss !== 'number')) return undefined;
  if (rec.type === 'eval' && (typeof rec.step !== 'number' || typeof rec.metrics !== 'object' || rec.metrics === null)) return undefined;
  return value as RunEvent;
}
