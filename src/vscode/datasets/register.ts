import type { Ctx } from '../ctx';

/** Datasets view, import/validate/statistics commands and diagnostics. */
export function registerDatasets(_ctx: Ctx): void {
  // Filled in by the datasets feature.
}
