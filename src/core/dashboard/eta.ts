// Progress rate and time left, from the timestamps of recent step events. A window of recent
// steps follows changes of speed (evaluation pauses, a slower phase) without the noise of the
// last step alone; it restarts when the worker (re)starts so a resume's gap is not averaged in.

export interface StepSample {
  readonly step: number;
  readonly ts: number;
}

export interface Eta {
  readonly stepsPerSecond?: number;
  readonly etaSeconds?: number;
}

export class StepRate {
  private samples: StepSample[] = [];

  constructor(private readonly window = 50) {}

  add(step: number, ts: number): void {
    const last = this.samples[this.samples.length - 1];
    // A step going back means a resume from a checkpoint: start measuring again.
    if (last && (step < last.step || ts < last.ts)) this.samples = [];
    this.samples.push({ step, ts });
    if (this.samples.length > this.window) this.samples.splice(0, this.samples.length - this.window);
  }

  restart(): void {
    this.samples = [];
  }

  estimate(maxSteps: number | undefined): Eta {
    return estimateEta(this.samples, maxSteps);
  }
}

/** Steps per second over the samples and the seconds left to `maxSteps` at that rate. */
export function estimateEta(samples: readonly StepSample[], maxSteps: number | undefined): Eta {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || samples.length < 2) return {};
  const dt = last.ts - first.ts;
  const ds = last.step - first.step;
  if (!(dt > 0) || !(ds > 0)) return {};
  const stepsPerSecond = ds / dt;
  if (maxSteps === undefined || !(maxSteps > 0)) return { stepsPerSecond };
  return { stepsPerSecond, etaSeconds: Math.max(0, (maxSteps - last.step) / stepsPerSecond) };
}
