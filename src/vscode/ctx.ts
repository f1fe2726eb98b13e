import * as vscode from 'vscode';
import { studioLayout, type StudioLayout } from '../core/paths';

/**
 * The one context object built in activate() and handed to every feature's register function.
 * `subscriptions` lives as long as the extension; per-run resources keep their own lists.
 */
export interface Ctx {
  readonly extension: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  readonly workerLog: vscode.LogOutputChannel;
  /** Layout of the first workspace folder, or undefined with no folder open. */
  layout(): StudioLayout | undefined;
  isTrusted(): boolean;
  config(): vscode.WorkspaceConfiguration;
  push(...disposables: vscode.Disposable[]): void;
}

export function createCtx(extension: vscode.ExtensionContext): Ctx {
  const log = vscode.window.createOutputChannel('BERT Studio', { log: true });
  const workerLog = vscode.window.createOutputChannel('BERT Studio Worker', { log: true });
  extension.subscriptions.push(log, workerLog);
  return {
    extension,
    log,
    workerLog,
    layout() {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder || folder.uri.scheme !== 'file') return undefined;
      const studioFolder = vscode.workspace.getConfiguration('bertStudio').get<string>('runsFolder') || '.bert-studio';
      return studioLayout(folder.uri.fsPath, studioFolder);
    },
    isTrusted: () => vscode.workspace.isTrusted,
    config: () => vscode.workspace.getConfiguration('bertStudio'),
    push: (...d) => extension.subscriptions.push(...d),
  };
}

/** Commands that would execute code refuse in a restricted workspace, and say why. */
export function requireTrust(ctx: Ctx, what: string): boolean {
  if (ctx.isTrusted()) return true;
  void vscode.window.showWarningMessage(
    `BERT Studio: ${what} needs a trusted workspace: in a restricted workspace no worker, Python or model code runs.`,
  );
  return false;
}
