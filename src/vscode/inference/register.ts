import type { Ctx } from '../ctx';

/** Fill-mask, attention and inline annotations in the editor. */
export function registerInference(_ctx: Ctx): void {
  // Filled in by the inference feature.
}
