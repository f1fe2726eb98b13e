// The embedding map's geometry, without the DOM (unit-tested): data ↔ pixel for any 2-D cloud, the
// points inside a lasso (a free-form polygon), the point under the pointer, and how each label is
// drawn (a theme colour and a marker shape, so that more labels than colours stay apart).

export type Vec = readonly [number, number];

export interface Frame {
  /** Data bounds, padded so that no point sits on the border. */
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
  /** The plot area in CSS pixels. */
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * A frame that shows every point with the same scale on both axes (a projection's distances mean the
 * same in x and y), centred, with `pad` pixels around.
 */
export function fitFrame(points: readonly { x: number; y: number }[], cssWidth: number, cssHeight: number, pad = 16): Frame {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    if (p.x < x0) x0 = p.x;
    if (p.x > x1) x1 = p.x;
    if (p.y < y0) y0 = p.y;
    if (p.y > y1) y1 = p.y;
  }
  if (!Number.isFinite(x0)) [x0, x1, y0, y1] = [-1, 1, -1, 1];
  const width = Math.max(10, cssWidth - 2 * pad);
  const height = Math.max(10, cssHeight - 2 * pad);
  // Equal units per pixel: the larger of the two spans decides; the other axis is widened around its centre.
  const span = Math.max((x1 - x0) / width, (y1 - y0) / height) || 1 / Math.min(width, height);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  return { x0: cx - (span * width) / 2, x1: cx + (span * width) / 2, y0: cy - (span * height) / 2, y1: cy + (span * height) / 2, left: pad, top: pad, width, height };
}

export function toPixel(f: Frame, x: number, y: number): Vec {
  return [f.left + ((x - f.x0) / (f.x1 - f.x0)) * f.width, f.top + (1 - (y - f.y0) / (f.y1 - f.y0)) * f.height];
}

/**
 * Whether (x, y) is inside the polygon (even-odd rule: a lasso that crosses itself leaves the twice
 * circled part out, as drawing tools do). The polygon is closed implicitly; fewer than 3 vertices hold nothing.
 */
export function pointInPolygon(x: number, y: number, polygon: readonly Vec[]): boolean {
  const n = polygon.length;
  if (n < 3) return false;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Positions (into `points`) of the points whose pixel lies inside the lasso drawn in pixels, in order. */
export function lassoSelect(f: Frame, points: readonly { x: number; y: number }[], lasso: readonly Vec[]): number[] {
  if (lasso.length < 3) return [];
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [x, y] of lasso) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const out: number[] = [];
  points.forEach((p, i) => {
    const [px, py] = toPixel(f, p.x, p.y);
    if (px >= minX && px <= maxX && py >= minY && py <= maxY && pointInPolygon(px, py, lasso)) out.push(i);
  });
  return out;
}

/** Position of the point nearest to the pixel (x, y) within `radius` pixels, else -1 (the last drawn wins a tie). */
export function nearestPoint(f: Frame, points: readonly { x: number; y: number }[], x: number, y: number, radius = 6): number {
  let best = -1;
  let bestD = radius * radius;
  points.forEach((p, i) => {
    const [px, py] = toPixel(f, p.x, p.y);
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

/** Lasso points closer than this (pixels) to the previous one are not kept: a polygon of hundreds, not thousands. */
export const LASSO_STEP = 3;

/** Appends a pointer position to a lasso unless it is within LASSO_STEP of the last vertex. */
export function extendLasso(lasso: Vec[], x: number, y: number): void {
  const last = lasso[lasso.length - 1];
  if (!last || (last[0] - x) ** 2 + (last[1] - y) ** 2 >= LASSO_STEP * LASSO_STEP) lasso.push([x, y]);
}

export const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;
export type Marker = (typeof MARKERS)[number];

/** The theme's chart colours (VS Code theme variables) with fallbacks, in legend order. */
export const PALETTE: readonly { readonly cssVar: string; readonly fallback: string }[] = [
  { cssVar: '--vscode-charts-blue', fallback: '#3794ff' },
  { cssVar: '--vscode-charts-orange', fallback: '#d18616' },
  { cssVar: '--vscode-charts-green', fallback: '#89d185' },
  { cssVar: '--vscode-charts-purple', fallback: '#b180d7' },
  { cssVar: '--vscode-charts-yellow', fallback: '#cca700' },
  { cssVar: '--vscode-charts-red', fallback: '#f14c4c' },
];

export interface Style {
  readonly key: string;
  readonly name: string;
  /** Index into PALETTE. */
  readonly color: number;
  readonly marker: Marker;
}

/**
 * The legend for a colour mode: one style per label (gold or prediction; the label's position in
 * `labels` decides, so a label keeps its look when the mode changes), or correct / wrong.
 */
export function legend(mode: 'gold' | 'pred' | 'error', labels: readonly string[]): Style[] {
  if (mode === 'error') {
    return [
      { key: 'correct', name: 'correct', color: 2, marker: 'circle' },
      { key: 'wrong', name: 'misclassified', color: 5, marker: 'triangle' },
    ];
  }
  return labels.map((l, i) => ({ key: l, name: l, color: i % PALETTE.length, marker: MARKERS[Math.floor(i / PALETTE.length) % MARKERS.length] }));
}

/** The legend key a point is drawn with in a mode. */
export function styleKey(mode: 'gold' | 'pred' | 'error', p: { gold: string; pred: string; correct: boolean }): string {
  return mode === 'error' ? (p.correct ? 'correct' : 'wrong') : mode === 'gold' ? p.gold : p.pred;
}
