// The data map's geometry, without the DOM (unit-tested): the plot area, data ↔ pixel, the
// points in a dragged rectangle or a region, the point under the pointer, a region's examples in
// the order that tells most, and the correctness classes the colours stand for.

import type { MapPoint } from './protocol';

export type Region = MapPoint['region'];

/** Confidence (y) spans [0, 1]; variability (x) [0, 0.5], the largest standard deviation a probability can have. */
export const X_MAX = 0.5;
export const Y_MAX = 1;

export interface Plot {
  /** The plot area inside the canvas, in CSS pixels. */
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export function plotArea(cssWidth: number, cssHeight: number): Plot {
  const left = 48;
  const top = 10;
  const right = 12;
  const bottom = 38;
  return { left, top, width: Math.max(10, cssWidth - left - right), height: Math.max(10, cssHeight - top - bottom) };
}

export function toPixel(p: Plot, variability: number, confidence: number): [number, number] {
  const x = p.left + (Math.min(Math.max(variability, 0), X_MAX) / X_MAX) * p.width;
  const y = p.top + (1 - Math.min(Math.max(confidence, 0), Y_MAX) / Y_MAX) * p.height;
  return [x, y];
}

export function fromPixel(p: Plot, x: number, y: number): { variability: number; confidence: number } {
  const clamp = (v: number): number => Math.min(1, Math.max(0, v));
  return { variability: clamp((x - p.left) / p.width) * X_MAX, confidence: clamp(1 - (y - p.top) / p.height) * Y_MAX };
}

/** Points inside the rectangle spanned by two pixel corners (any order), borders included. */
export function pointsInPixelRect<T extends Pick<MapPoint, 'variability' | 'confidence'>>(p: Plot, points: readonly T[], a: [number, number], b: [number, number]): T[] {
  const c0 = fromPixel(p, Math.min(a[0], b[0]), Math.max(a[1], b[1]));
  const c1 = fromPixel(p, Math.max(a[0], b[0]), Math.min(a[1], b[1]));
  return points.filter((pt) => pt.variability >= c0.variability && pt.variability <= c1.variability && pt.confidence >= c0.confidence && pt.confidence <= c1.confidence);
}

/** The point nearest to (x, y) within `radius` pixels, else undefined. */
export function nearestPoint<T extends Pick<MapPoint, 'variability' | 'confidence'>>(p: Plot, points: readonly T[], x: number, y: number, radius = 6): T | undefined {
  let best: T | undefined;
  let bestD = radius * radius;
  for (const pt of points) {
    const [px, py] = toPixel(p, pt.variability, pt.confidence);
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = pt;
    }
  }
  return best;
}

/** A region's points, the most telling first (as the CLI lists them): hard the least confident, ambiguous the most variable, easy the most confident. */
export function regionPoints<T extends Pick<MapPoint, 'region' | 'variability' | 'confidence'>>(points: readonly T[], region: Region): T[] {
  const out = points.filter((pt) => pt.region === region);
  if (region === 'hard') out.sort((a, b) => a.confidence - b.confidence);
  else if (region === 'ambiguous') out.sort((a, b) => b.variability - a.variability);
  else out.sort((a, b) => b.confidence - a.confidence);
  return out;
}

/** The region rectangles in data units, for shading: [variability from, to, confidence from, to]. */
export function regionBounds(thresholds: { readonly variability: number; readonly confidence: number }): Record<Region, [number, number, number, number]> {
  const v = Math.min(thresholds.variability, X_MAX);
  return {
    easy: [0, v, thresholds.confidence, Y_MAX],
    hard: [0, v, 0, thresholds.confidence],
    ambiguous: [v, X_MAX, 0, Y_MAX],
  };
}

/** Correctness as three colour classes: right in under a third of the epochs, up to two thirds, more. */
export type CorrectnessClass = 'low' | 'mid' | 'high';
export const CORRECTNESS_CLASSES: readonly { readonly key: CorrectnessClass; readonly label: string; readonly cssVar: string; readonly fallback: string }[] = [
  { key: 'low', label: 'correct in < ⅓ of epochs', cssVar: '--vscode-charts-red', fallback: '#f14c4c' },
  { key: 'mid', label: '⅓ – ⅔', cssVar: '--vscode-charts-yellow', fallback: '#cca700' },
  { key: 'high', label: '> ⅔', cssVar: '--vscode-charts-green', fallback: '#89d185' },
];

/** dynamics.jsonl rounds to 6 decimals (1/3 is 0.333333): the bounds allow for it. */
const ROUNDING = 1e-4;

export function correctnessClass(correctness: number): CorrectnessClass {
  if (correctness < 1 / 3 - ROUNDING) return 'low';
  return correctness <= 2 / 3 + ROUNDING ? 'mid' : 'high';
}

export const REGION_NAMES: Record<Region, string> = { easy: 'Easy to learn', ambiguous: 'Ambiguous', hard: 'Hard to learn' };
