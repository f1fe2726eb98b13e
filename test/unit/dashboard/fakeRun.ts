// Realistic event sequences, shaped like the trainer's events.jsonl (DESIGN.md): a noisy decaying
// loss, warmup-then-linear learning rate, throughput with dips at evaluations, evaluations with
// per-class or per-entity tables, a confusion matrix and misclassified examples with sources.

import { seededRandom } from '../../../src/core/random';
import type { EvalEvent, RunEvent, StepEvent } from '../../../src/core/runs/protocol';

/** The same seeded generator as the dataset splits (src/core/random.ts). */
export const rng = seededRandom;

export interface FakeRunOptions {
  readonly maxSteps: number;
  readonly loggingSteps?: number;
  readonly evalSteps?: number;
  readonly task?: 'sequence_classification' | 'token_classification';
  readonly seed?: number;
  readonly t0?: number;
  /** Seconds per optimizer step. */
  readonly stepSeconds?: number;
  readonly learningRate?: number;
  /** Stop after this step (a live run): no final status. */
  readonly upTo?: number;
  /** Source file misclassified examples point at. */
  readonly sourceFile?: string;
  readonly texts?: readonly string[];
}

const NER_LABELS = ['LOC', 'MISC', 'ORG', 'PER', 'O'];
const CLS_LABELS = ['negative', 'positive'];

export function stepEvent(step: number, ts: number, o: Required<Pick<FakeRunOptions, 'maxSteps' | 'learningRate'>>, r: () => number): StepEvent {
  const progress = step / o.maxSteps;
  const warm = Math.max(1, Math.round(o.maxSteps * 0.06));
  const lr = step < warm ? (o.learningRate * step) / warm : o.learningRate * Math.max(0, (o.maxSteps - step) / (o.maxSteps - warm));
  const base = 0.18 + 0.55 * Math.exp(-progress * 6);
  const loss = Math.max(0.01, base * (1 + (r() - 0.5) * 0.6) + (r() < 0.002 ? 1.2 : 0));
  const sps = 880 + (r() - 0.5) * 60;
  return {
    type: 'step',
    ts,
    step,
    max_steps: o.maxSteps,
    epoch: Math.round(progress * 3 * 1000) / 1000,
    loss,
    learning_rate: lr,
    grad_norm: 0.8 + r() * 2.5 * (1 - progress * 0.6),
    samples_per_second: sps,
    tokens_per_second: sps * 41.5,
    memory_mb: 2150 + Math.min(300, step / 10) + r() * 12,
  };
}

function evalEvent(step: number, o: FakeRunOptions, r: () => number, ts: number): EvalEvent {
  const progress = step / o.maxSteps;
  const quality = 0.72 + 0.2 * (1 - Math.exp(-progress * 5)) + (r() - 0.5) * 0.01;
  const labels = o.task === 'token_classification' ? NER_LABELS : CLS_LABELS;
  const rows = labels.filter((l) => l !== 'O');
  const table = Object.fromEntries(rows.map((l, i) => [l, { precision: quality - 0.02 * i + r() * 0.01, recall: quality - 0.015 * i, f1: quality - 0.018 * i, support: 400 + i * 137 }]));
  const n = labels.length;
  const matrix = labels.map((_, i) => labels.map((__, j) => (i === j ? Math.round(800 * quality) : Math.round(((1 - quality) * 800) / (n - 1) + r() * 6))));
  const texts = o.texts?.length ? o.texts : ['the film is a charming , if uneven , look at a family .', 'an utterly forgettable mess .', 'Japan began the defence of their Asian Cup title with a lucky 2-1 win against Syria .'];
  const misclassified = Array.from({ length: 24 }, (_, k) => {
    const gi = k % n;
    const pj = (gi + 1 + (k % (n - 1))) % n;
    return {
      text: texts[k % texts.length] as string,
      gold: labels[gi] as string,
      pred: labels[pj] as string,
      source: { file: o.sourceFile ?? 'data/validation.tsv', line: 2 + k * 7 },
    };
  });
  return {
    type: 'eval',
    ts,
    step,
    metrics: o.task === 'token_classification' ? { f1: quality, precision: quality + 0.01, recall: quality - 0.01, accuracy: 0.97 + quality * 0.02, loss: 0.5 - quality * 0.4 } : { accuracy: quality, macro_f1: quality - 0.01, f1: quality - 0.005, loss: 0.6 - quality * 0.45 },
    ...(o.task === 'token_classification' ? { per_entity: table } : { per_class: table }),
    confusion_matrix: { labels, matrix },
    misclassified,
  };
}

/** A whole run (or the first `upTo` steps of one), in the order the worker writes it. */
export function fakeRun(options: FakeRunOptions): RunEvent[] {
  const o = { loggingSteps: 10, evalSteps: 200, seed: 1, t0: 1_760_000_000, stepSeconds: 0.12, learningRate: 5e-5, ...options };
  const r = rng(o.seed);
  const events: RunEvent[] = [
    { type: 'status', ts: o.t0 - 5, state: 'starting', message: 'loading model' },
    { type: 'log', ts: o.t0 - 4, level: 'info', message: `device cuda:0, bf16, ${o.maxSteps} steps` },
    { type: 'status', ts: o.t0, state: 'running' },
  ];
  const last = o.upTo ?? o.maxSteps;
  let ts = o.t0;
  for (let step = o.loggingSteps; step <= last; step += o.loggingSteps) {
    ts += o.loggingSteps * o.stepSeconds * (1 + (r() - 0.5) * 0.1);
    const ev = stepEvent(step, ts, o, r);
    events.push(ev);
    if (step % o.evalSteps === 0) {
      events.push(evalEvent(step, o, r, ts + 1));
      events.push({ type: 'checkpoint', ts: ts + 2, step, path: `checkpoints/step-${step}` });
      // Evaluation and checkpointing take time the next step's timestamp shows.
      ts += 2;
    }
  }
  if (o.upTo === undefined) {
    const end = ts + 5;
    events.push({ type: 'export', ts: end, path: 'onnx/model.onnx', max_abs_diff: 3.1e-6 });
    events.push({ type: 'status', ts: end + 1, state: 'completed', message: 'done' });
  }
  return events;
}

export function toJsonl(events: readonly RunEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}
