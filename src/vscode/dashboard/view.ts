import type * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { attachSession, renderHtml, webviewOptions } from './webview';

export const VIEW_ID = 'bertStudio.dashboard';

/** The dashboard in the BERT Studio sidebar. Follows runs only while it is visible. */
export class DashboardViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.disposeView();
    view.webview.options = webviewOptions(this.ctx);
    const session = attachSession(this.ctx, view.webview, this.disposables);
    view.webview.html = renderHtml(this.ctx, view.webview, 'view');
    this.disposables.push(
      view.onDidChangeVisibility(() => {
        if (!view.visible) session.hidden();
      }),
      view.onDidDispose(() => this.disposeView()),
    );
  }

  private disposeView(): void {
    const d = this.disposables;
    this.disposables = [];
    for (const x of d) x.dispose();
  }

  dispose(): void {
    this.disposeView();
  }
}
