// Integrated Gradients attributions placed on the attention viewer's tokens. The viewer's tokens come
// from the ONNX engine's tokenizer and the attributions from the worker's (the same tokenizer.json,
// but the viewer cuts at MAX_ATTENTION_TOKENS and the worker at the model's length), so they are
// matched by their characters, never by index: each worker token goes to the viewer token it
// overlaps most, and tints are scaled as in the editor (to the answer's largest |attribution|), so a
// token has the same colour in both places.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { attributionModel, attributionScale, tintLevel, type Attributions, type TokenAttribution } from './attributions';
import type { Span } from './offsets';

export interface PlacedAttributions {
  /** Per viewer token: the sum of the attributions placed on it; null for special tokens and tokens the worker did not see. */
  readonly values: (number | null)[];
  /** Per viewer token: its tint level (−TINT_LEVELS…TINT_LEVELS; 0 when null or negligible). */
  readonly levels: number[];
  /** Worker tokens no viewer token covers (past the viewer's cut). */
  readonly unplaced: number;
}

function overlap(span: Span, t: TokenAttribution): number {
  return Math.min(span[1], t.end) - Math.max(span[0], t.start);
}

/**
 * The first segment's attributions on the viewer's token `spans` (UTF-16 offsets into the same text,
 * null for special tokens). A zero-width worker token goes to the viewer token it starts in.
 */
export function placeAttributions(spans: readonly (Span | null)[], tokens: readonly TokenAttribution[]): PlacedAttributions {
  const values: (number | null)[] = spans.map(() => null);
  let unplaced = 0;
  for (const t of tokens) {
    if (t.segment !== 0) continue;
    let best = -1;
    let most = 0;
    spans.forEach((span, i) => {
      if (!span) return;
      const o = t.end > t.start ? overlap(span, t) : span[0] <= t.start && t.start < span[1] ? 1 : 0;
      if (o > most) {
        most = o;
        best = i;
      }
    });
    if (best < 0) unplaced++;
    else values[best] = (values[best] ?? 0) + t.attribution;
  }
  const max = attributionScale(tokens);
  return { values, levels: values.map((v) => (v === null ? 0 : tintLevel(v, max))), unplaced };
}

/**
 * Why `folder` (the viewer's model) cannot be explained, or undefined when it can: gradients need
 * the PyTorch weights, which an ONNX export copied out of its run has not.
 */
export function attributionProblem(folder: string): string | undefined {
  const model = attributionModel(folder);
  if (fs.existsSync(path.join(model, 'spec.json'))) return undefined;
  if (['model.safetensors', 'pytorch_model.bin'].some((f) => fs.existsSync(path.join(model, f)))) return undefined;
  return `Attributions need the model's PyTorch weights, and ${path.basename(model)} is an ONNX export without them: use its training run (the folder with spec.json) as the classification model ("BERT Studio: Use Model for Inference").`;
}

/** The attributions message's numbers, as the viewer shows them. */
export function attributionSummary(a: Attributions, placed: PlacedAttributions): {
  label: string;
  probability: number;
  baselineProbability: number;
  steps: number;
  completenessError: number;
  truncated: boolean;
  values: (number | null)[];
  levels: number[];
  unplaced: number;
} {
  return {
    label: a.label,
    probability: a.probability,
    baselineProbability: a.baseline_probability,
    steps: a.steps,
    completenessError: a.completeness_error,
    truncated: a.truncated,
    values: placed.values,
    levels: placed.levels,
    unplaced: placed.unplaced,
  };
}
