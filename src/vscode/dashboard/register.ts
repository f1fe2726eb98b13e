import type { Ctx } from '../ctx';

/** Stub, owned by the dashboard feature: replace freely (keep the export). */
export function registerDashboard(_ctx: Ctx): void {
  // The Training Dashboard webview view and the bertStudio.openDashboard command.
}
