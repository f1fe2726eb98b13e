// Token labels of the attention viewer that stay readable for CJK and mixed text: widths measured in
// ems with East Asian wide characters (Han, kana, Hangul, full-width forms, emoji) counted as one em
// and others as ~0.6, labels cut at grapheme boundaries with "…" only when longer than their room,
// and never a label of a single character (a Chinese token is one character: cutting it to "…" would
// leave nothing to read).

/** Characters drawn one em wide (East Asian Wide and Fullwidth, emoji). */
const WIDE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff01-\uff60\uffe0-\uffe6\p{Extended_Pictographic}]/u;
/** Width of an ordinary (Latin) character, in ems, for a sans-serif or monospace font. */
const NARROW_EM = 0.6;

export { CJK_FONT_FALLBACK } from './protocol';

const segmenter = typeof Intl !== 'undefined' && 'Segmenter' in Intl ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : undefined;

/** The user-perceived characters of s (a flag or a family emoji is one). */
export function graphemes(s: string): string[] {
  return segmenter ? [...segmenter.segment(s)].map((g) => g.segment) : [...s];
}

function graphemeWidth(g: string): number {
  return WIDE.test(g) ? 1 : NARROW_EM;
}

/** Width of s in ems (wide characters 1, others 0.6). */
export function displayWidth(s: string): number {
  return graphemes(s).reduce((w, g) => w + graphemeWidth(g), 0);
}

/**
 * `label` within `maxEm` ems: whole when it fits; otherwise as many leading characters as fit, then
 * "…". A label of one character is returned whole whatever the room.
 */
export function fitLabel(label: string, maxEm: number): string {
  const gs = graphemes(label);
  if (gs.length <= 1 || displayWidth(label) <= maxEm) return label;
  let w = NARROW_EM; // the "…"
  let out = '';
  for (const g of gs) {
    if (w + graphemeWidth(g) > maxEm) break;
    w += graphemeWidth(g);
    out += g;
  }
  return `${out || gs[0]}…`;
}

/** Pixels for a label column: the widest label at `fontPx`, within [min, max]. */
export function labelColumnPx(labels: readonly string[], fontPx: number, min = 24, max = 160): number {
  const widest = Math.max(0, ...labels.map(displayWidth));
  return Math.ceil(Math.min(max, Math.max(min, widest * fontPx + 6)));
}

/** Size of a heatmap cell: the room left beside the row labels split among the tokens, 3–24 px. */
export function heatCellPx(widthPx: number, labelPx: number, tokens: number): number {
  return Math.max(3, Math.min(24, Math.floor((widthPx - labelPx - 8) / Math.max(1, tokens))));
}

/**
 * Every how many cells a heatmap axis shows a token label, so labels of `fontPx` never overlap:
 * 1 (all) when a cell is at least a line high, else every 2nd, 3rd… The others show on hover.
 */
export function labelStride(cellPx: number, fontPx: number): number {
  return Math.max(1, Math.ceil((fontPx + 1) / Math.max(1, cellPx)));
}
