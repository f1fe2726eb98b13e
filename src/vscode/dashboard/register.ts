import * as vscode from 'vscode';
import { runIdFromArg } from '../../core/dashboard/validate';
import type { Ctx } from '../ctx';
import { DashboardPanel, DashboardPanelSerializer, PANEL_VIEW_TYPE } from './panel';
import { DashboardViewProvider, VIEW_ID } from './view';

/**
 * The Training Dashboard: a sidebar view, an editor panel restored after reload, and
 * `bertStudio.openDashboard` (a run id, a tree item with `runId` or `id`, or nothing for the
 * most recent run).
 */
export function registerDashboard(ctx: Ctx): void {
  const provider = new DashboardViewProvider(ctx);
  ctx.push(
    provider,
    vscode.window.registerWebviewViewProvider(VIEW_ID, provider),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, new DashboardPanelSerializer(ctx)),
    vscode.commands.registerCommand('bertStudio.openDashboard', (arg?: unknown) => {
      const runId = runIdFromArg(arg);
      if (arg !== undefined && runId === undefined) ctx.log.warn('openDashboard: argument is not a run id or run item; showing the most recent run');
      DashboardPanel.show(ctx, runId);
    }),
    // One click on a run in the Runs view: every open dashboard shows it; with none on screen, the panel opens.
    vscode.commands.registerCommand('bertStudio.selectRun', (arg?: unknown) => {
      const runId = runIdFromArg(arg);
      if (runId === undefined) return;
      const inSidebar = provider.showRun(runId);
      if (DashboardPanel.isOpen || !inSidebar) DashboardPanel.show(ctx, runId, true);
    }),
  );
}
