import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { receiveChecked } from '../../core/webview/messages';
import { webviewHtml } from '../inference/html';
import type { StudyStore } from '../../core/sweeps/study';
import { studyView } from '../../core/sweeps/view';
import { STUDY_WEBVIEW_MESSAGE, ToHost, ToWebview, type StudyHostMessage, type StudyView } from '../../../webview/study/protocol';
import type { Ctx } from '../ctx';
import { webviewOptions } from '../dashboard/webview';

/** The table's look; the rest comes from dashboard.css and uPlot's CSS (bundled into study.css). */
const STYLE = `table.trials { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
table.trials th, table.trials td { text-align: left; padding: 2px 10px 2px 0; border-bottom: 1px solid var(--vscode-editorWidget-border, #454545); }
table.trials tr.best td { font-weight: 600; }
td.state-pruned { color: var(--vscode-charts-orange, #d18616); }
td.state-failed, td.state-interrupted { color: var(--vscode-charts-red, #f14c4c); }`;

/** A study as an editor tab, one per study, refreshed from status.json while it is open. */
export class StudyPanel {
  private static readonly open = new Map<string, StudyPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private last = '';

  static show(ctx: Ctx, store: StudyStore, id: string): void {
    const existing = StudyPanel.open.get(id);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel('bertStudio.studyPanel', `Study ${store.get(id).definition?.name ?? id}`, vscode.ViewColumn.Active, { ...webviewOptions(ctx), retainContextWhenHidden: false });
    StudyPanel.open.set(id, new StudyPanel(ctx, store, id, panel));
  }

  private constructor(
    private readonly ctx: Ctx,
    private readonly store: StudyStore,
    private readonly id: string,
    private readonly panel: vscode.WebviewPanel,
  ) {
    panel.iconPath = vscode.Uri.joinPath(ctx.extension.extensionUri, 'media', 'bert-studio.svg');
    // The page's bundled CSS (uPlot's and the dashboard's), inline under the page's nonce with the table's.
    let bundled = '';
    try {
      bundled = fs.readFileSync(path.join(ctx.extension.extensionUri.fsPath, 'dist', 'webview', 'study.css'), 'utf8');
    } catch (err) {
      ctx.log.warn(`study view: no dist/webview/study.css (${String(err)}); the page is unstyled`);
    }
    panel.webview.html = webviewHtml(panel.webview, ctx.extension.extensionUri, 'study', 'Study', `${bundled.replace(/\/\*# sourceMappingURL=.*\*\//, '')}\n${STYLE}`);
    const timer = setInterval(() => this.post(false), 1000);
    this.disposables.push(
      { dispose: () => clearInterval(timer) },
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage(receiveChecked('study', STUDY_WEBVIEW_MESSAGE, (m) => {
        if (m.type === ToHost.ready) this.post(true);
        else if (m.type === ToHost.openRun) void vscode.commands.executeCommand('bertStudio.openDashboard', m.run);
        else if (m.type === ToHost.useBest) void vscode.commands.executeCommand('bertStudio.useBestTrial', this.id);
      }, (line) => ctx.log.warn(line))),
    );
  }

  /** Sends the study when it changed (or always, when the page just said ready). */
  private post(force: boolean): void {
    if (!this.panel.visible && !force) return;
    let view: StudyView;
    try {
      view = studyView(this.store.get(this.id));
    } catch (err) {
      this.ctx.log.warn(`study ${this.id}: ${String(err)}`);
      return;
    }
    const text = JSON.stringify(view);
    if (!force && text === this.last) return;
    this.last = text;
    const message: StudyHostMessage = { type: ToWebview.study, study: view };
    void this.panel.webview.postMessage(message);
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    StudyPanel.open.delete(this.id);
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
