// How long a run will take, before it starts: its optimizer steps from the data and the settings
// (as the worker counts them), and its time from the throughput an earlier run of the same model,
// task and device measured here (the step events' samples_per_second).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunInfo } from './store';

export interface StepPlan {
  /** Training examples (features may be more for QA windows; this counts examples). */
  readonly examples: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly gradientAccumulation?: number;
  /** > 0 overrides epochs, as the Trainer's max_steps. */
  readonly maxSteps?: number;
}

/**
 * Optimizer steps as the worker counts them (engine/loop.py): ceil(batches per epoch / accumulation)
 * steps an epoch, times the epochs rounded up, at least 1; max_steps when set.
 */
export function plannedSteps(p: StepPlan): number {
  if (p.maxSteps !== undefined && p.maxSteps > 0) return p.maxSteps;
  const batches = Math.ceil(Math.max(0, p.examples) / Math.max(1, p.batchSize));
  const perEpoch = Math.ceil(batches / Math.max(1, p.gradientAccumulation ?? 1));
  return Math.max(1, Math.ceil(p.epochs * perEpoch));
}

export interface Throughput {
  readonly samplesPerSecond: number;
  /** The run it was measured on. */
  readonly run: string;
  readonly device: string;
}

/**
 * The median samples/s of the newest run of `model` and `task` on `device` that logged any (a run's
 * own step events; evaluation time not included), or undefined.
 */
export function measuredThroughput(runs: readonly RunInfo[], model: string, task: string, device: string): Throughput | undefined {
  const same = runs
    .filter((r) => r.spec?.task === task && r.spec?.model?.name_or_path === model && (r.spec?.device ?? 'auto') === device)
    .sort((a, b) => (b.status?.updated ?? 0) - (a.status?.updated ?? 0));
  for (const r of same) {
    const rates = stepRates(path.join(r.dir, 'events.jsonl'));
    if (rates.length) return { samplesPerSecond: median(rates), run: r.spec?.name || r.id, device };
  }
  return undefined;
}

function stepRates(file: string): number[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"samples_per_second"')) continue;
    try {
      const e = JSON.parse(line) as { type?: string; samples_per_second?: unknown };
      if (e.type === 'step' && typeof e.samples_per_second === 'number' && Number.isFinite(e.samples_per_second) && e.samples_per_second > 0) out.push(e.samples_per_second);
    } catch {
      // a torn last line while a run writes: skip it
    }
  }
  // The first logged steps include warm-up (compile, first allocations): leave them out when there is more.
  return out.length > 3 ? out.slice(1) : out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

/** The wizard's line: "4,210 steps (67,349 examples × 1 epoch / batch 16); about 3.2 h at 5.8 samples/s (measured on run X, cpu)". */
export function estimateText(p: StepPlan, t: Throughput | undefined): string {
  const steps = plannedSteps(p);
  const how = p.maxSteps !== undefined && p.maxSteps > 0 ? 'max_steps' : `${p.examples.toLocaleString('en-US')} examples × ${p.epochs} epoch${p.epochs === 1 ? '' : 's'} / batch ${p.batchSize}${(p.gradientAccumulation ?? 1) > 1 ? ` × ${p.gradientAccumulation} accumulated` : ''}`;
  const base = `${steps.toLocaleString('en-US')} steps (${how})`;
  if (!t) return `${base}; no earlier run of this model on this device to time it from`;
  const seconds = (steps * p.batchSize * (p.gradientAccumulation ?? 1)) / t.samplesPerSecond;
  return `${base}; about ${formatDuration(seconds)} at ${t.samplesPerSecond.toFixed(1)} samples/s (measured on ${t.run}, ${t.device})`;
}
