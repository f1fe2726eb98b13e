import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Misclassified } from '../../core/runs/protocol';
import { runName } from '../../core/runs/names';
import { RunStore } from '../../core/runs/store';
import { WORKER_LOG } from '../../core/runs/worker';
import { dashboardHtml } from '../../core/dashboard/html';
import { DashboardSession } from '../../core/dashboard/session';
import { checkSource, runDataSources, type SourceRoots } from '../../core/dashboard/sourceAccess';
import type { HostMessage } from '../../../webview/dashboard/protocol';
import type { Ctx } from '../ctx';

/** Webview options shared by the sidebar view and the editor panel: our bundle and media only. */
export function webviewOptions(ctx: Ctx): vscode.WebviewOptions {
  const root = ctx.extension.extensionUri;
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(root, 'dist', 'webview'), vscode.Uri.joinPath(root, 'media')],
  };
}

export function renderHtml(ctx: Ctx, webview: vscode.Webview, context: 'view' | 'panel'): string {
  const dist = vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist', 'webview');
  return dashboardHtml({
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'dashboard.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'dashboard.css')).toString(),
    context,
  });
}

function storeOf(ctx: Ctx): RunStore | undefined {
  const layout = ctx.layout();
  return layout ? new RunStore(layout.runsDir) : undefined;
}

/** Where a run's examples may be opened from: the workspace folders and the run's dataset sources. */
function sourceRoots(ctx: Ctx, runId: string): SourceRoots | undefined {
  const store = storeOf(ctx);
  const layout = ctx.layout();
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  if (!store || !layout || !folders.length) return undefined;
  return { workspaces: folders, dataSources: runDataSources(store.get(runId).spec, layout.datasetsDir), base: folders[0] as string };
}

async function openExample(ctx: Ctx, runId: string, example: Misclassified): Promise<void> {
  const roots = sourceRoots(ctx, runId);
  if (!roots) return;
  const check = checkSource(example.source, roots);
  if (!check.ok) {
    ctx.log.warn(`dashboard: not opening example source: ${check.reason}`);
    void vscode.window.showWarningMessage(`BERT Studio: cannot open the example's source: ${check.reason}.`);
    return;
  }
  const pos = new vscode.Position(check.line - 1, 0);
  await vscode.window.showTextDocument(vscode.Uri.file(check.file), { selection: new vscode.Range(pos, pos), preview: true, viewColumn: vscode.ViewColumn.One });
}

async function openLog(ctx: Ctx, runId: string): Promise<void> {
  const store = storeOf(ctx);
  if (!store) return;
  const file = path.join(store.runDir(runId), WORKER_LOG);
  try {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    await vscode.window.showTextDocument(doc, { preview: true });
  } catch {
    void vscode.window.showInformationMessage(`BERT Studio: run "${runName({ id: runId, spec: store.get(runId).spec })}" has no worker.log yet.`);
  }
}

/** Wires a webview to a DashboardSession; everything it creates goes into `disposables`. */
export function attachSession(ctx: Ctx, webview: vscode.Webview, disposables: vscode.Disposable[]): DashboardSession {
  const session = new DashboardSession({
    post: (message: HostMessage) => {
      void webview.postMessage(message);
    },
    warn: (message) => ctx.log.warn(message),
    store: () => storeOf(ctx),
    openExample: (runId, example) => {
      openExample(ctx, runId, example).catch((err: unknown) => ctx.log.error(`dashboard: opening an example failed: ${String(err)}`));
    },
    openLog: (runId) => {
      openLog(ctx, runId).catch((err: unknown) => ctx.log.error(`dashboard: opening worker.log failed: ${String(err)}`));
    },
    evaluate: (runId) => {
      void vscode.commands.executeCommand('bertStudio.evaluateModel', runId);
    },
    resolveSource: (runId, file) => {
      const roots = sourceRoots(ctx, runId);
      const check = roots ? checkSource({ file, line: 1 }, roots) : undefined;
      return check?.ok ? check.file : undefined;
    },
  });
  disposables.push(webview.onDidReceiveMessage((m: unknown) => session.receive(m)), { dispose: () => session.dispose() });
  return session;
}
