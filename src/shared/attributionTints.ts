// The colours of token attributions (Integrated Gradients), one table for the editor's tints
// (src/vscode/inference/annotations.ts) and the attention viewer's Attributions column
// (webview/attention/main.ts): green toward the label, red against it, in TINT_LEVELS strengths, a
// lighter shade on dark themes. High-contrast themes add the `contrastBorder` outline on both sides.

/** Tint strengths per sign: level 1…TINT_LEVELS toward the label, −1…−TINT_LEVELS against it. */
export const TINT_LEVELS = 5;

export type TintTheme = 'light' | 'dark';

/** The background of a tint level on a light or dark theme ('transparent' for level 0). */
export function tintColour(level: number, theme: TintTheme): string {
  if (level === 0) return 'transparent';
  const alpha = (0.12 + (0.5 * Math.min(Math.abs(level), TINT_LEVELS)) / TINT_LEVELS).toFixed(2);
  const rgb = level > 0 ? (theme === 'light' ? '0, 150, 60' : '60, 200, 110') : theme === 'light' ? '210, 30, 30' : '255, 90, 90';
  return `rgba(${rgb}, ${alpha})`;
}

/**
 * What an attribution moves, as the editor's and the viewer's hovers say it: "P(label)" for a
 * sequence classifier, `the LOC logits of "Paris"` for a token classifier's entity (`target` its text).
 */
export function attributionQuantity(label: string, target?: string): string {
  return target === undefined ? `P(${label})` : `the ${label} logits of "${target}"`;
}
