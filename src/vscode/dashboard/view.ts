import type * as vscode from 'vscode';
import type { DashboardSession } from '../../core/dashboard/session';
import type { Ctx } from '../ctx';
import { attachSession, renderHtml, webviewOptions } from './webview';

export const VIEW_ID = 'bertStudio.dashboard';

/** The dashboard in the BERT Studio sidebar. Follows runs only while it is visible. */
export class DashboardViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private disposables: vscode.Disposable[] = [];
  private shown: { view: vscode.WebviewView; session: DashboardSession } | undefined;

  constructor(private readonly ctx: Ctx) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.disposeView();
    view.webview.options = webviewOptions(this.ctx);
    const session = attachSession(this.ctx, view.webview, this.disposables);
    view.webview.html = renderHtml(this.ctx, view.webview, 'view');
    this.shown = { view, session };
    this.disposables.push(
      view.onDidChangeVisibility(() => {
        if (!view.visible) session.hidden();
      }),
      view.onDidDispose(() => this.disposeView()),
    );
  }

  /** Shows a run the user picked (pinned) when the sidebar dashboard is on screen; false otherwise. */
  showRun(runId: string): boolean {
    if (!this.shown?.view.visible) return false;
    this.shown.session.show(runId);
    return true;
  }

  private disposeView(): void {
    this.shown = undefined;
    const d = this.disposables;
    this.disposables = [];
    for (const x of d) x.dispose();
  }

  dispose(): void {
    this.disposeView();
  }
}
