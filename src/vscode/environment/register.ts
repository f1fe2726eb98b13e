import * as path from 'node:path';
import * as vscode from 'vscode';
import { packageRoot } from '../../core/paths';
import { CancellationError } from '../../core/process';
import { resolveInterpreter, type ResolvedInterpreter } from '../../core/python/interpreter';
import { SetupError, setUpTrainingEnvironment } from '../../core/python/setup';
import { requireTrust, type Ctx } from '../ctx';

interface PythonExtensionApi {
  environments?: { getActiveEnvironmentPath?: (resource?: vscode.Uri) => { path?: string } | undefined };
}

/** The Python extension's selected interpreter, without activating anything we do not need. */
async function fromPythonExtension(): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const p = api?.environments?.getActiveEnvironmentPath?.(vscode.workspace.workspaceFolders?.[0]?.uri)?.path;
    return p && p !== 'python' ? p : undefined;
  } catch {
    return undefined;
  }
}

/** The interpreter a worker runs with: setting, else workspace .venv, else the Python extension's. */
export function pythonFor(ctx: Ctx): Promise<ResolvedInterpreter> {
  return resolveInterpreter({
    setting: ctx.config().get<string>('pythonPath'),
    workspaceFolders: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    pythonExtension: fromPythonExtension,
  });
}

export function registerEnvironment(ctx: Ctx): void {
  ctx.push(
    vscode.commands.registerCommand('bertStudio.setUpEnvironment', async () => {
      if (!requireTrust(ctx, 'Setting up the training environment')) return;
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) {
        void vscode.window.showErrorMessage('BERT Studio: open a folder first: the environment is created as .venv inside it.');
        return;
      }
      const venvDir = path.join(folder.uri.fsPath, '.venv');
      const setting = ctx.config().get<string>('pythonPath')?.trim();
      try {
        const python = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'BERT Studio: setting up the training environment', cancellable: true },
          async (progress, token) => {
            const abort = new AbortController();
            token.onCancellationRequested(() => abort.abort());
            return setUpTrainingEnvironment({
              basePython: setting || undefined,
              venvDir,
              trainerDir: path.join(packageRoot(), 'trainer'),
              signal: abort.signal,
              onStep: (s) => progress.report({ message: s.message, increment: s.increment }),
              onOutput: (line) => ctx.log.info(`[pip] ${line}`),
            });
          },
        );
        void vscode.window.showInformationMessage(`BERT Studio: training environment ready (${python}).`);
      } catch (err) {
        if (err instanceof CancellationError) {
          void vscode.window.showWarningMessage('BERT Studio: environment setup cancelled; nothing else was changed.');
        } else if (err instanceof SetupError) {
          ctx.log.error(err.output);
          const choice = await vscode.window.showErrorMessage(`BERT Studio: ${err.message}`, 'Show Log');
          if (choice) ctx.log.show();
        } else {
          void vscode.window.showErrorMessage(`BERT Studio: environment setup failed: ${(err as Error).message}`);
        }
      }
    }),
  );
}
