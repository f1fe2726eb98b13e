import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { packageRoot } from '../../core/paths';
import { workerEnv } from '../../core/python/workerEnv';
import { TASKS, type Task } from '../../core/runs/protocol';
import { listDatasets, runInputsFromManifest, type SnapshotRunInputs } from '../../core/datasets/snapshot';
import { describeLines, describeModel, modelTaskProblem } from '../../core/models/describe';
import { cachedModel, listCachedModels, looksLikeHubId, runModelFolder } from '../../core/models/resolve';
import { createRun, type CreatedRun, type RunEnvironment } from '../../core/runs/create';
import { checkTrainingChanges, defaultModelFolder, trainingFieldNames, trainingValueHint } from '../../core/runs/launch';
import { defaultTraining, parseChanges, type PreflightProblem } from '../../core/runs/spec';
import { isFinishing, isRunId, RunFolderError, type RunStore } from '../../core/runs/store';
import { launchWorker, stopWorker, waitUntilStarted } from '../../core/runs/worker';
import { requireTrust, type Ctx } from '../ctx';
import { pythonFor } from '../environment/register';

/** Imported dataset snapshots with what a run takes from each manifest (read once, in core). */
async function snapshotChoices(datasetsDir: string): Promise<(SnapshotRunInputs & { id: string })[]> {
  return (await listDatasets(datasetsDir)).map((d) => ({ id: d.id, ...runInputsFromManifest(d.dir, d.manifest) }));
}

/** A run id from a command argument: a string, or a tree item with `runId`/`id`. */
export function runIdFrom(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object') {
    const o = arg as { runId?: unknown; run?: { id?: unknown } };
    if (typeof o.runId === 'string') return o.runId;
    if (typeof o.run?.id === 'string') return o.run.id;
  }
  return undefined;
}

async function pickRun(store: RunStore, arg: unknown, filter: (state: string) => boolean, placeHolder: string): Promise<string | undefined> {
  const id = runIdFrom(arg);
  if (id !== undefined) {
    if (isRunId(id)) return id;
    void vscode.window.showErrorMessage(`BERT Studio: "${id}" is not a run id (letters, digits, ".", "_" and "-"); pick the run in the Runs view instead.`);
    return undefined;
  }
  const runs = store.list().filter((r) => filter(r.state));
  if (!runs.length) {
    void vscode.window.showInformationMessage(`BERT Studio: no run to ${placeHolder.toLowerCase()}.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: r.id, description: `${r.state} · ${r.spec?.task ?? ''}` })), { placeHolder });
  return pick?.label;
}

/** What the pre-launch checks need from the editor: the datasets folder, Python, the default model. */
function runEnvironment(datasetsDir: string, python: string | undefined): RunEnvironment {
  return { datasetsDir, python, defaultModel: async () => (python ? defaultModelFolder(python, workerEnv(packageRoot())) : undefined) };
}

type ModelItem = vscode.QuickPickItem & { model?: string; action?: 'folder' | 'hub' };

/**
 * Step 2 of New Training Run: the base model. The shipped default, recent choices, the models of
 * the Hugging Face cache (read offline), finished runs of this workspace, a folder, or a hub id.
 * A model with a local folder is described (architecture, parameters, positions, vocabulary,
 * tokenizer) and confirmed before the run is made; problems with it are the pre-launch check's.
 */
async function pickModel(store: RunStore, task: Task, recent: readonly string[]): Promise<string | undefined> {
  const cached = listCachedModels();
  const runs = store.list().flatMap((r) => {
    const folder = r.state === 'completed' || r.state === 'stopped' ? runModelFolder(r.dir) : undefined;
    return folder ? [{ id: r.id, folder, task: r.spec?.task }] : [];
  });
  const items: ModelItem[] = [
    { label: 'default', description: 'MiniLM-L6-H384-uncased, shipped with the training environment', model: 'default' },
    ...recent.filter((m) => m !== 'default').map((m) => ({ label: m, description: 'recent', model: m })),
    ...(cached.length ? [{ label: 'Hugging Face cache', kind: vscode.QuickPickItemKind.Separator } as ModelItem] : []),
    ...cached.map((m) => ({ label: m.id, description: 'Hugging Face cache (offline)', detail: m.folder, model: m.folder })),
    ...(runs.length ? [{ label: 'Runs of this workspace', kind: vscode.QuickPickItemKind.Separator } as ModelItem] : []),
    ...runs.map((r) => ({ label: r.id, description: `run · ${r.task ?? ''}`, detail: r.folder, model: r.folder })),
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(folder) Local folder…', description: 'a Hugging Face model folder', action: 'folder' },
    { label: '$(cloud) Hub id…', description: 'e.g. bert-base-uncased (downloaded by the worker; online only)', action: 'hub' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'New Training Run (2/5): base model', matchOnDescription: true, matchOnDetail: true });
  if (!pick) return undefined;
  let model = pick.model;
  if (pick.action === 'folder') {
    const uri = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model folder' });
    if (!uri?.[0]) return undefined;
    model = uri[0].fsPath;
  } else if (pick.action === 'hub') {
    const id = await vscode.window.showInputBox({ title: 'Hugging Face hub id', validateInput: (v) => (looksLikeHubId(v) ? undefined : 'owner/name, e.g. FacebookAI/roberta-base') });
    if (!id) return undefined;
    model = cachedModel(id)?.folder ?? id;
  }
  if (!model || model === 'default' || !fs.existsSync(path.join(model, 'config.json'))) return model;
  let lines: string[];
  try {
    lines = describeLines(await describeModel(model));
  } catch {
    return model; // unreadable: the pre-launch check names the problem
  }
  const problem = modelTaskProblem(model, task);
  const ok = await vscode.window.showInformationMessage(`Train ${task} from ${pick.model === model && pick.label !== model ? pick.label : path.basename(model)}?`, { modal: true, detail: [...lines, ...(problem ? ['', `Refused: ${problem}`] : [])].join('\n') }, 'Use This Model');
  return ok ? model : undefined;
}

/** Refused runs: every problem with its field and fix, in one modal; no run folder was made. */
function showProblems(problems: readonly PreflightProblem[]): void {
  void vscode.window.showErrorMessage(`BERT Studio: the run was not started:\n${problems.map((p) => `${p.field}: ${p.message}`).join('\n')}`, { modal: true });
}

/** Asks for `key=value` edits of training fields; undefined when cancelled. */
async function askTrainingChanges(task: Task, title: string, prompt: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  const text = await vscode.window.showInputBox({
    title,
    prompt,
    placeHolder: required ? 'learning_rate=3e-5, num_train_epochs=2' : 'optional: eval_steps=100, max_seq_length=256, early_stopping_patience=3',
    validateInput: (v) => {
      const parsed = parseChanges(v);
      if (!parsed) return 'Write key=value pairs separated by commas';
      if (required && !Object.keys(parsed).length) return 'Change at least one field';
      return checkTrainingChanges(task, parsed).map((p) => p.message).join(' ') || undefined;
    },
  });
  return text === undefined ? undefined : parseChanges(text);
}

/** Asks for one numeric training field, checked as the run will be (type and range). */
async function askNumber(task: Task, field: string, value: unknown): Promise<number | undefined> {
  const v = await vscode.window.showInputBox({
    title: `New Training Run (4/5): ${field}`,
    value: String(value),
    validateInput: (s) => (s.trim() !== '' && Number.isFinite(Number(s)) ? checkTrainingChanges(task, { [field]: Number(s) })[0]?.message : 'Enter a number'),
  });
  return v === undefined ? undefined : Number(v);
}

/** createRun, with its problems (or a folder that cannot be made) shown; the new run, or undefined. */
async function createRunOrSay(store: RunStore, source: Parameters<typeof createRun>[1], env: RunEnvironment): Promise<CreatedRun | undefined> {
  try {
    const created = await createRun(store, source, env);
    if (!created.run) showProblems(created.problems);
    return created.run;
  } catch (err) {
    void vscode.window.showErrorMessage(`BERT Studio: ${err instanceof RunFolderError ? err.message : `cannot create the run: ${(err as Error).message}`}`);
    return undefined;
  }
}

export function registerRunCommands(ctx: Ctx, store: () => RunStore | undefined, refresh: () => void): void {
  const needStore = (): RunStore | undefined => {
    const s = store();
    if (!s) void vscode.window.showErrorMessage('BERT Studio: open a folder first: runs live in its .bert-studio folder.');
    return s;
  };

  const start = async (runDir: string, resume: boolean): Promise<boolean> => {
    const python = await pythonFor(ctx);
    if (!python.path) {
      const setUp = 'Set Up Training Environment';
      if ((await vscode.window.showErrorMessage('BERT Studio: no Python environment for the worker.', setUp)) === setUp) {
        await vscode.commands.executeCommand('bertStudio.setUpEnvironment');
      }
      return false;
    }
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'BERT Studio: starting the worker', cancellable: true }, async (_p, token) => {
      const worker = launchWorker({ python: python.path as string, runDir, resume, env: workerEnv(packageRoot()), detached: true });
      ctx.log.info(`worker ${worker.pid} for ${runDir} (${python.source}: ${python.path})`);
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        const outcome = await waitUntilStarted(runDir, worker, abort.signal, { timeoutMs: 60_000, graceMs: 5000 });
        if (outcome.kind === 'cancelled') {
          // A new run cancelled before it trained anything leaves nothing behind; a resumed one keeps its folder.
          if (!resume && !fs.existsSync(path.join(runDir, 'checkpoints'))) fs.rmSync(runDir, { recursive: true, force: true });
          ctx.log.info(`start of ${runDir} cancelled`);
          refresh();
          return false;
        }
        refresh();
        if (outcome.kind === 'exited') {
          const choice = await vscode.window.showErrorMessage(`BERT Studio: the worker exited with code ${outcome.code} before starting.`, 'Show Log');
          if (choice) void vscode.window.showTextDocument(vscode.Uri.file(path.join(runDir, 'worker.log')));
          return false;
        }
        if (outcome.kind === 'timeout') ctx.log.warn(`worker ${worker.pid} has not reported after 60 s; following it anyway`);
        return true;
      } finally {
        sub.dispose();
      }
    });
  };

  ctx.push(
    vscode.commands.registerCommand('bertStudio.newRun', async () => {
      if (!requireTrust(ctx, 'Starting a training run')) return;
      const s = needStore();
      const layout = ctx.layout();
      if (!s || !layout) return;
      const datasets = await snapshotChoices(layout.datasetsDir);
      const taskPick = await vscode.window.showQuickPick(
        TASKS.map((t) => ({ label: t, description: datasets.filter((d) => d.task === t).length ? `${datasets.filter((d) => d.task === t).length} dataset(s)` : '' })),
        { title: 'New Training Run (1/5): task' },
      );
      if (!taskPick) return;
      const task = taskPick.label as Task;
      const recent = ctx.extension.globalState.get<string[]>('bertStudio.recentModels', []);
      const model = await pickModel(s, task, recent);
      if (!model) return;
      const candidates = datasets.filter((d) => !d.task || d.task === task);
      const dataPick = await vscode.window.showQuickPick(
        [...candidates.map((d) => ({ label: d.id, description: `${d.task ?? ''}${d.multiLabel ? ' (multi-label)' : ''} ${d.trainCount ? `· ${d.trainCount} examples` : ''}`, dataset: d })), { label: '$(file) Data file…', description: 'train on a file directly (TSV, CoNLL, SQuAD JSON, text)', dataset: undefined }],
        { title: 'New Training Run (3/5): dataset snapshot' },
      );
      if (!dataPick) return;
      let trainFile: string | undefined;
      if (!dataPick.dataset) {
        const uri = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Train on this file' });
        if (!uri?.[0]) return;
        trainFile = uri[0].fsPath;
      }
      // Trainer's names throughout, so a run's spec reads like a Trainer configuration.
      const defaults = defaultTraining(task);
      const epochs = await askNumber(task, 'num_train_epochs', defaults.num_train_epochs);
      if (epochs === undefined) return;
      const lr = await askNumber(task, 'learning_rate', defaults.learning_rate);
      if (lr === undefined) return;
      const batch = await askNumber(task, 'per_device_train_batch_size', defaults.per_device_train_batch_size);
      if (batch === undefined) return;
      const more = await askTrainingChanges(task, 'New Training Run (4/5): other training fields', `Trainer-style names, defaults for ${task}: ${trainingFieldNames(task).filter((n) => !['num_train_epochs', 'learning_rate', 'per_device_train_batch_size'].includes(n)).map((n) => `${n}=${trainingValueHint(n, defaults[n])}`).join(', ')}`, false);
      if (more === undefined) return;
      const configured = ctx.config().get<string>('defaultDevice') ?? 'auto';
      const devicePick = await vscode.window.showQuickPick(
        [...new Set([configured, 'auto', 'cpu', 'cuda', 'cuda:0', 'cuda:1'])].map((d) => ({ label: d, description: d === configured ? 'bertStudio.defaultDevice' : d === 'auto' ? 'CUDA when available, else CPU' : '' })),
        { title: 'New Training Run (5/5): device' },
      );
      if (!devicePick) return;
      const python = await pythonFor(ctx);
      // The same checks and the same folder-making as `bert-studio train` (core/runs/create.ts).
      const created = await createRunOrSay(s, {
        request: {
          task,
          model,
          dataset: dataPick.dataset?.id,
          train: trainFile,
          device: devicePick.label,
          training: { num_train_epochs: epochs, learning_rate: lr, per_device_train_batch_size: batch, ...more },
        },
      }, { ...runEnvironment(layout.datasetsDir, python.path), workspace: path.dirname(layout.root) });
      if (!created) return;
      await ctx.extension.globalState.update('bertStudio.recentModels', [model, ...recent.filter((m) => m !== model)].slice(0, 8));
      if (await start(created.dir, false)) void vscode.commands.executeCommand('bertStudio.openDashboard', created.id);
    }),

    vscode.commands.registerCommand('bertStudio.stopRun', async (arg: unknown) => {
      // Stop signals a process: trusted workspaces only (package.json also hides it in restricted mode).
      if (!requireTrust(ctx, 'Stopping a run')) return;
      const s = needStore();
      if (!s) return;
      const id = await pickRun(s, arg, (st) => st === 'running' || st === 'starting' || st === 'stopping', 'Stop');
      if (!id) return;
      let info: ReturnType<RunStore['get']>;
      try {
        info = s.get(id); // refuses anything that is not a run id (InvalidRunIdError says what one is)
      } catch (err) {
        void vscode.window.showErrorMessage(`BERT Studio: ${(err as Error).message}`);
        return;
      }
      if (!['starting', 'running', 'stopping'].includes(info.state)) {
        void vscode.window.showInformationMessage(`BERT Studio: ${id} is ${info.state}; there is nothing to stop.`);
        refresh();
        return;
      }
      if (isFinishing(info.status)) {
        void vscode.window.showInformationMessage(`BERT Studio: ${id} has finished training and is writing its model and export; it will end as completed.`);
        return;
      }
      const grace = (ctx.config().get<number>('stopGracePeriodSeconds') ?? 30) * 1000;
      let refused: string | undefined;
      // No pid from the caller: stopWorker signals the worker the run folder records, once /proc confirms it is this run's.
      const how = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Studio: stopping ${id} (checkpointing)` }, () => stopWorker(info.dir, undefined, grace, 200, (r) => (refused = r)));
      if (refused) ctx.log.warn(`stop ${id}: ${refused}`);
      if (how === 'killed') void vscode.window.showWarningMessage(`BERT Studio: ${id} did not stop within the grace period and was killed; resume continues from its last checkpoint.`);
      else if (how === 'not-ours') void vscode.window.showWarningMessage(`BERT Studio: ${id}'s recorded worker could not be confirmed (${refused}), so no process was signalled; the stop file asks the worker to stop at its next step.`);
      refresh();
    }),

    vscode.commands.registerCommand('bertStudio.resumeRun', async (arg: unknown) => {
      if (!requireTrust(ctx, 'Resuming a run')) return;
      const s = needStore();
      if (!s) return;
      const id = await pickRun(s, arg, (st) => ['stopped', 'interrupted', 'failed'].includes(st), 'Resume');
      if (!id) return;
      if (await start(s.runDir(id), true)) void vscode.commands.executeCommand('bertStudio.openDashboard', id);
    }),

    vscode.commands.registerCommand('bertStudio.deleteRun', async (arg: unknown) => {
      const s = needStore();
      if (!s) return;
      const id = await pickRun(s, arg, (st) => !['running', 'starting', 'stopping'].includes(st), 'Delete');
      if (!id) return;
      const info = s.get(id);
      if (['running', 'starting', 'stopping'].includes(info.state)) {
        void vscode.window.showErrorMessage(`BERT Studio: stop ${id} before deleting it.`);
        return;
      }
      const ok = await vscode.window.showWarningMessage(`Delete run ${id} with its checkpoints and exported model?`, { modal: true }, 'Delete');
      if (ok !== 'Delete') return;
      fs.rmSync(info.dir, { recursive: true, force: true });
      refresh();
    }),

    vscode.commands.registerCommand('bertStudio.duplicateRun', async (arg: unknown) => {
      if (!requireTrust(ctx, 'Starting a training run')) return;
      const s = needStore();
      if (!s) return;
      const id = await pickRun(s, arg, () => true, 'Duplicate');
      if (!id) return;
      const source = s.get(id).spec;
      if (!source) return;
      const parsed = await askTrainingChanges(source.task, `Duplicate ${id} with changes`, `Training fields to change, Trainer-style names: ${trainingFieldNames(source.task).join(', ')}`, true);
      if (!parsed) return;
      const spec = { ...source, name: `${source.name ?? source.task} (copy)`, training: { ...source.training, ...parsed } };
      const python = await pythonFor(ctx);
      const layout = ctx.layout();
      if (!layout) return;
      const created = await createRunOrSay(s, { spec }, runEnvironment(layout.datasetsDir, python.path));
      if (created && (await start(created.dir, false))) void vscode.commands.executeCommand('bertStudio.openDashboard', created.id);
    }),

    vscode.commands.registerCommand('bertStudio.refreshRuns', () => refresh()),
  );
}
