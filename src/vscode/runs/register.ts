import type { Ctx } from '../ctx';

/** Runs and Models views, New Training Run, stop/resume, dashboard. */
export function registerRuns(_ctx: Ctx): void {
  // Filled in by the runs feature.
}
