// Chart axes fitted to what is drawn (pure, no DOM: the charts call these and unit tests check them):
// the step axis spans the run's length, never beyond; steps tick on whole numbers; a value axis is
// padded around its data and kept inside the quantity's real range (no loss below 0, no accuracy
// above 1); tick labels are as short as their neighbours allow, and the axis is as wide as its
// longest label.

/** Whole-number tick spacings for the step axis: 1, 2, 5, 10, 20, 25, 50, 100, … */
export const STEP_INCRS: readonly number[] = (() => {
  const out: number[] = [];
  for (let p = 1; p <= 1e9; p *= 10) out.push(p, 2 * p, ...(p >= 10 ? [2.5 * p] : []), 5 * p);
  return out;
})();

/** The step axis: from 0 to the run's total steps (the longest visible run's), or to the data's end. */
export function stepRange(dataMax: number | undefined, runLength: number | undefined): [number, number] {
  const end = Math.max(runLength !== undefined && runLength > 0 ? runLength : 0, dataMax !== undefined && Number.isFinite(dataMax) ? dataMax : 0);
  return [0, end > 0 ? end : 1];
}

/** Whole-step tick positions only (uPlot may still offer a fractional split on tiny ranges): null hides one. */
export function stepTicks(splits: readonly (number | null)[]): (number | null)[] {
  return splits.map((v) => (v !== null && Number.isInteger(v) ? v : null));
}

export function stepLabel(v: number | null): string {
  if (v === null || !Number.isInteger(v)) return '';
  if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (Math.abs(v) >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return String(v);
}

/** Quantities that cannot go below 0 (loss, learning rate, norms, throughput, memory). */
const NON_NEGATIVE = /(^|_|\/)(loss|learning_rate|grad_norm|samples_per_second|tokens_per_second|memory_mb|perplexity)$/;
/** Evaluation scores bounded above: a fraction in [0, 1], or a percentage (SQuAD's exact_match, f1). */
const SCORE = /(^|_|\/)(accuracy|f1|precision|recall|exact_match)$/;

/** The range a series' values can take, from its name and (fraction or percent) its data. */
export function realRange(name: string, dataMax: number): [number, number] | undefined {
  if (SCORE.test(name)) return [0, dataMax <= 1 ? 1 : 100];
  if (NON_NEGATIVE.test(name)) return [0, Number.POSITIVE_INFINITY];
  return undefined;
}

/** A value axis: the data padded by 8% of its span on each side, kept inside `bounds`. */
export function valueRange(dataMin: number | undefined, dataMax: number | undefined, bounds?: readonly [number, number]): [number, number] {
  if (dataMin === undefined || dataMax === undefined || !Number.isFinite(dataMin) || !Number.isFinite(dataMax)) return bounds && Number.isFinite(bounds[1]) ? [bounds[0], bounds[1]] : [0, 1];
  const span = dataMax - dataMin;
  const pad = span > 0 ? span * 0.08 : Math.abs(dataMax) > 0 ? Math.abs(dataMax) * 0.1 : 1;
  let lo = dataMin - pad;
  let hi = dataMax + pad;
  if (bounds) {
    lo = Math.max(lo, bounds[0]);
    hi = Math.min(hi, bounds[1]);
    if (hi <= lo) [lo, hi] = Number.isFinite(bounds[1]) ? [bounds[0], bounds[1]] : [lo, lo + 1];
  }
  return [lo, hi];
}

/**
 * Tick labels with the fewest digits that keep neighbouring ticks apart: `2e-5`, `2.5e-5`, `0.25`,
 * `1200`. Very small or large ticks use scientific notation with a shared number of decimals.
 */
export function tickLabels(values: readonly number[]): string[] {
  const finite = values.filter((v) => Number.isFinite(v));
  const big = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const scientific = big !== 0 && (big < 1e-3 || big >= 1e6);
  for (let digits = 0; digits <= 6; digits++) {
    const labels = values.map((v) => (!Number.isFinite(v) ? '' : v === 0 ? '0' : scientific ? compactExp(v, digits) : String(+v.toFixed(digits))));
    const distinct = new Set(labels.filter((_l, i) => Number.isFinite(values[i] as number)));
    if (distinct.size === finite.length && labels.every((l, i) => !Number.isFinite(values[i] as number) || Math.abs(Number(l) - (values[i] as number)) <= Math.max(1e-12, big * 1e-3))) return labels;
  }
  return values.map((v) => (Number.isFinite(v) ? v.toPrecision(4) : ''));
}

function compactExp(v: number, digits: number): string {
  const [mant, exp] = v.toExponential(digits).split('e') as [string, string];
  return `${mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant}e${exp.replace('+', '')}`;
}

/** Width of a vertical axis, in CSS pixels, that fits its widest label (`measure` gives text widths). */
export function axisWidth(labels: readonly (string | null)[] | null | undefined, measure: (text: string) => number, min = 32): number {
  let widest = 0;
  for (const l of labels ?? []) if (l) widest = Math.max(widest, measure(l));
  // tick mark (6) + gap (5) + a little air on the far side (6)
  return Math.max(min, Math.ceil(widest + 17));
}
