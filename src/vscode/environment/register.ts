import type { Ctx } from '../ctx';

export function registerEnvironment(_ctx: Ctx): void {
  // Filled in by the environment feature.
}
