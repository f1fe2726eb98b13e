import * as vscode from 'vscode';
import type { DashboardSession } from '../../core/dashboard/session';
import { isSelection } from '../../core/dashboard/validate';
import type { Ctx } from '../ctx';
import { attachSession, renderHtml, webviewOptions } from './webview';

export const PANEL_VIEW_TYPE = 'bertStudio.dashboardPanel';

/** The dashboard as an editor tab. One at a time; it owns its disposables. */
export class DashboardPanel {
  private static current: DashboardPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly session: DashboardSession;

  static get isOpen(): boolean {
    return DashboardPanel.current !== undefined;
  }

  /** Opens (or reveals) the panel on a run; undefined shows the most recent run. */
  static show(ctx: Ctx, runId: string | undefined, preserveFocus = false): void {
    // The walkthrough's "Watch it train" step completes on it (the dashboard a new run opens by
    // itself included: a command the extension runs is no command event for the walkthrough).
    void vscode.commands.executeCommand('setContext', 'bertStudio.dashboardShown', true);
    const existing = DashboardPanel.current;
    if (existing) {
      existing.panel.reveal(existing.panel.viewColumn, preserveFocus);
      existing.session.show(runId);
      return;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Training Dashboard', vscode.ViewColumn.Active, {
      ...webviewOptions(ctx),
      retainContextWhenHidden: false,
    });
    const p = new DashboardPanel(ctx, panel);
    p.session.show(runId);
  }

  /** Restores a panel after a window reload; `state` is what the webview last saved. */
  static revive(ctx: Ctx, panel: vscode.WebviewPanel, state: unknown): void {
    const p = new DashboardPanel(ctx, panel);
    const saved = state as { primary?: unknown; compare?: unknown; pinned?: unknown } | undefined;
    const selection = { primary: saved?.primary, compare: Array.isArray(saved?.compare) ? saved.compare : [], pinned: saved?.pinned === true };
    // The webview sends the same state again in `ready`; this is the fallback if it has none.
    if (isSelection(selection)) p.session.restore(selection);
  }

  private constructor(
    ctx: Ctx,
    private readonly panel: vscode.WebviewPanel,
  ) {
    DashboardPanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(ctx.extension.extensionUri, 'media', 'bert-studio.svg');
    panel.webview.options = webviewOptions(ctx);
    this.session = attachSession(ctx, panel.webview, this.disposables);
    panel.webview.html = renderHtml(ctx, panel.webview, 'panel');
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        // Hidden without retained context means the page is gone; it says ready when it is back.
        if (!panel.visible) this.session.hidden();
      }),
    );
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

export class DashboardPanelSerializer implements vscode.WebviewPanelSerializer {
  constructor(private readonly ctx: Ctx) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    DashboardPanel.revive(this.ctx, panel, state);
  }
}
