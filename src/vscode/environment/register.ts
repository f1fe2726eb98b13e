import * as path from 'node:path';
import * as vscode from 'vscode';
import { packageRoot } from '../../core/paths';
import { CancellationError } from '../../core/process';
import { checkTrainerEnvironment, cudaDevices, type EnvironmentCheck } from '../../core/python/check';
import { resolveInterpreter, type ResolvedInterpreter } from '../../core/python/interpreter';
import { SetupError, setUpTrainingEnvironment } from '../../core/python/setup';
import { workerEnv } from '../../core/python/workerEnv';
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

/** The set-up in progress in this window, if any: runs wait for it rather than start half-installed. */
let settingUp: Promise<unknown> | undefined;
/** Per interpreter: can it run the trainer (asked once per path; set-up clears it). */
const checks = new Map<string, Promise<EnvironmentCheck>>();
const devices = new Map<string, Promise<string[]>>();
const READY_KEY = 'bertStudio.environmentReady';
const PROMPTED_KEY = 'bertStudio.setupPrompted';

function checkOnce(python: string): Promise<EnvironmentCheck> {
  let c = checks.get(python);
  if (!c) {
    c = checkTrainerEnvironment(python, { ...process.env, ...workerEnv(packageRoot()) });
    checks.set(python, c);
  }
  return c;
}

/** The CUDA devices the worker's interpreter sees (asked once per interpreter: it imports torch). */
export function cudaDevicesOf(python: string): Promise<string[]> {
  let d = devices.get(python);
  if (!d) {
    d = cudaDevices(python, { ...process.env, ...workerEnv(packageRoot()) });
    devices.set(python, d);
  }
  return d;
}

type Found = { python: string; why?: undefined } | { python?: undefined; why: string };

/** The worker's interpreter when it can run the trainer; otherwise why not (for the offer to set up). */
async function findEnvironment(ctx: Ctx): Promise<Found> {
  const found = await lookForEnvironment(ctx);
  // The Runs view's "set up" welcome shows once an environment was looked for and none found.
  void vscode.commands.executeCommand('setContext', READY_KEY, found.python !== undefined);
  void vscode.commands.executeCommand('setContext', 'bertStudio.environmentChecked', true);
  return found;
}

async function lookForEnvironment(ctx: Ctx): Promise<Found> {
  const resolved = await pythonFor(ctx);
  if (!resolved.path) return { why: 'No Python environment for training was found (no bertStudio.pythonPath, no .venv in the workspace).' };
  const check = await checkOnce(resolved.path);
  if (!check.ok) {
    checks.delete(resolved.path); // a broken interpreter may be fixed: ask again next time
    return { why: `The Python at ${resolved.path} does not run (${check.problem}).` };
  }
  if (check.missing.length) {
    checks.delete(resolved.path);
    return { why: `The Python environment at ${resolved.path} lacks ${check.missing.join(', ')}.` };
  }
  return { python: resolved.path };
}

/**
 * The interpreter a run starts with, ready to train: waits for a set-up in progress (with a
 * cancellable notification), or offers the set-up when there is no usable environment. Undefined
 * when there is none (the user was told why).
 */
export async function ensureEnvironment(ctx: Ctx): Promise<string | undefined> {
  if (settingUp) {
    const waited = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'BERT Studio: waiting for the training environment set-up to finish', cancellable: true },
      (_p, token) => Promise.race([settingUp?.then(() => true, () => true), new Promise<boolean>((r) => token.onCancellationRequested(() => r(false)))]),
    );
    if (!waited) return undefined;
  }
  const found = await findEnvironment(ctx);
  if (found.python) return found.python;
  const setUp = 'Set Up Training Environment';
  if ((await vscode.window.showErrorMessage(`BERT Studio: ${found.why} Set up a training environment (a .venv with PyTorch and transformers) first.`, setUp)) === setUp) {
    await vscode.commands.executeCommand('bertStudio.setUpEnvironment');
    return settingUp ? undefined : (await findEnvironment(ctx)).python;
  }
  return undefined;
}

/** At activation: looks for the environment (for the views' welcome); once per workspace, when there is none, offers to set one up. */
async function promptOnce(ctx: Ctx): Promise<void> {
  if (!ctx.isTrusted() || !vscode.workspace.workspaceFolders?.length) return;
  const found = await findEnvironment(ctx);
  if (found.python || settingUp || ctx.extension.workspaceState.get<boolean>(PROMPTED_KEY)) return;
  await ctx.extension.workspaceState.update(PROMPTED_KEY, true);
  const setUp = 'Set Up';
  const choice = await vscode.window.showInformationMessage(`BERT Studio: ${found.why} Training needs one; set it up now (a .venv in this folder, a few minutes)?`, setUp, 'Not now');
  if (choice === setUp) await vscode.commands.executeCommand('bertStudio.setUpEnvironment');
}

export function registerEnvironment(ctx: Ctx): void {
  // After activation, off its path: asking an interpreter takes a moment.
  const timer = setTimeout(() => {
    promptOnce(ctx).catch((err: unknown) => ctx.log.warn(`environment check failed: ${String(err)}`));
  }, 1500);
  ctx.push({ dispose: () => clearTimeout(timer) });
  ctx.push(
    vscode.commands.registerCommand('bertStudio.getStarted', () =>
      vscode.commands.executeCommand('workbench.action.openWalkthrough', `${ctx.extension.extension.id}#bertStudio.gettingStarted`, false),
    ),
    vscode.commands.registerCommand('bertStudio.setUpEnvironment', async () => {
      if (!requireTrust(ctx, 'Setting up the training environment')) return;
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) {
        void vscode.window.showErrorMessage('BERT Studio: open a folder first: the environment is created as .venv inside it.');
        return;
      }
      const venvDir = path.join(folder.uri.fsPath, '.venv');
      const setting = ctx.config().get<string>('pythonPath')?.trim();
      if (settingUp) {
        void vscode.window.showInformationMessage('BERT Studio: the training environment is already being set up; its progress is in the notification.');
        return;
      }
      // A usable environment already (a provisioned machine, the walkthrough's first step done): nothing to install.
      const found = await findEnvironment(ctx);
      if (found.python) {
        void vscode.window.showInformationMessage(`BERT Studio: the training environment is ready (${found.python}); nothing to install.`);
        return;
      }
      let done: () => void = () => undefined;
      settingUp = new Promise<void>((r) => (done = r));
      void vscode.commands.executeCommand('setContext', 'bertStudio.settingUp', true);
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
        checks.clear();
        devices.clear();
        // The setting named the interpreter the .venv was made from: from now on the trainer runs
        // with the .venv (else every start would find the setting's Python without torch again).
        if (setting && setting !== python) {
          const where = ctx.config().inspect<string>('pythonPath');
          const target = where?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder : where?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
          await ctx.config().update('pythonPath', python, target).then(
            () => ctx.log.info(`bertStudio.pythonPath is now ${python} (it was ${setting}, the Python the environment was made from)`),
            (err: unknown) => ctx.log.warn(`could not set bertStudio.pythonPath to ${python}: ${String(err)}; set it yourself`),
          );
        }
        void vscode.commands.executeCommand('setContext', READY_KEY, true);
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
      } finally {
        settingUp = undefined;
        done();
        void vscode.commands.executeCommand('setContext', 'bertStudio.settingUp', false);
      }
    }),
  );
}
