import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { measuredThroughput } from '../../core/runs/estimate';
import { packageRoot } from '../../core/paths';
import { workerEnv } from '../../core/python/workerEnv';
import { TASKS, type Task } from '../../core/runs/protocol';
import { listDatasets, runInputsFromManifest, type SnapshotRunInputs } from '../../core/datasets/snapshot';
import { describeLines, describeModel, modelTaskProblem } from '../../core/models/describe';
import { cachedModel, listCachedModels, looksLikeHubId, runModelFolder } from '../../core/models/resolve';
import { wizardTitle } from '../../core/runs/advancedFields';
import { createRun, type CreatedRun, type RunEnvironment } from '../../core/runs/create';
import { checkTrainingChanges, defaultModelFolder, trainingFieldNames } from '../../core/runs/launch';
import { parseChanges, type PreflightProblem } from '../../core/runs/spec';
import { isFinishing, isRunId, RunFolderError, type RunStore } from '../../core/runs/store';
import { launchWorker, stopWorker, waitUntilStarted } from '../../core/runs/worker';
import { requireTrust, type Ctx } from '../ctx';
import { cudaDevicesOf, ensureEnvironment, pythonFor } from '../environment/register';
import { deviceChoices } from '../../core/python/check';
import { readStartFailure } from '../../core/runs/startFailure';
import { TASK_INFO } from '../../shared/tasks';
import { quietOnce, runName } from './monitor';
import { registerAdvancedEditor } from './advancedEditor';
import { askTrainingFields, pickDevice } from './wizard';

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
  const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: runName(r), description: `${r.state} · ${r.spec?.task ?? ''}`, detail: r.id, id: r.id })), { placeHolder });
  return pick?.id;
}

/** A worker that died before starting: its traceback into the BERT Studio log, and Retry. */
async function reportStartFailure(ctx: Ctx, store: RunStore, runDir: string, code: number | null): Promise<void> {
  const id = path.basename(runDir);
  quietOnce(id); // this notification replaces the Runs monitor's "failed" one
  const name = runName(store.get(id));
  const failure = readStartFailure(runDir);
  ctx.log.error(`Run "${name}" failed to start: its worker exited with code ${code} (${runDir}). The end of its worker.log:\n${failure.lines.join('\n')}`);
  const retry = 'Retry';
  const showLog = 'Show Log';
  const setUp = 'Set Up Training Environment';
  const incomplete = failure.missingModule ? ` The training environment lacks "${failure.missingModule}": set it up, then retry.` : '';
  const choice = await vscode.window.showErrorMessage(
    `BERT Studio: run "${name}" failed to start${failure.summary ? `: ${failure.summary}` : ` (its worker exited with code ${code})`}.${incomplete}`,
    ...(failure.missingModule ? [setUp] : []),
    retry,
    showLog,
  );
  if (choice === retry) void vscode.commands.executeCommand('bertStudio.retryRun', id);
  else if (choice === showLog) ctx.log.show(true);
  else if (choice === setUp) void vscode.commands.executeCommand('bertStudio.setUpEnvironment');
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
  const pick = await vscode.window.showQuickPick(items, { title: wizardTitle('base model'), matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true });
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

/** Whether a run folder holds a checkpoint to resume from. */
function hasCheckpoint(runDir: string): boolean {
  try {
    return fs.readdirSync(path.join(runDir, 'checkpoints')).some((d) => /^step-\d+$/.test(d));
  } catch {
    return false;
  }
}

/** Resolves once the run is no longer live (or `done` settles), checking its files every 300 ms. */
function untilEnded(store: RunStore, id: string, done: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!['starting', 'running', 'stopping'].includes(store.get(id).state)) finish();
    }, 300);
    const finish = (): void => {
      clearInterval(timer);
      resolve();
    };
    void done.finally(finish);
  });
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
  registerAdvancedEditor(ctx);

  /** `created`: the run folder was made for this start (a cancel removes it); a retried or resumed run keeps it. */
  const start = async (runDir: string, resume: boolean, created = !resume): Promise<boolean> => {
    // Waits for a set-up in progress, or offers one: a half-installed environment cannot start a worker.
    const python = await ensureEnvironment(ctx);
    if (!python) return false;
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'BERT Studio: starting the worker', cancellable: true }, async (_p, token) => {
      const worker = launchWorker({ python, runDir, resume, env: workerEnv(packageRoot()), detached: true });
      ctx.log.info(`worker ${worker.pid} for ${runDir} (${python})`);
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        const outcome = await waitUntilStarted(runDir, worker, abort.signal, { timeoutMs: 60_000, graceMs: 5000 });
        if (outcome.kind === 'cancelled') {
          // A new run cancelled before it trained anything leaves nothing behind; a resumed one keeps its folder.
          if (created && !fs.existsSync(path.join(runDir, 'checkpoints'))) fs.rmSync(runDir, { recursive: true, force: true });
          ctx.log.info(`start of ${runDir} cancelled`);
          refresh();
          return false;
        }
        refresh();
        if (outcome.kind === 'exited') {
          const s = store();
          if (s) void reportStartFailure(ctx, s, runDir, outcome.code);
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
      // Before any question: wait for a set-up in progress, or offer one.
      const python = await ensureEnvironment(ctx);
      if (!python) return;
      const cuda = cudaDevicesOf(python); // imports torch: asked now, needed at the last step
      const datasets = await snapshotChoices(layout.datasetsDir);
      const taskPick = await vscode.window.showQuickPick(
        TASKS.map((t) => {
          const n = datasets.filter((d) => d.task === t).length;
          // The spec's name beside the title: it is what the CLI, spec.json and the docs say.
          return { label: TASK_INFO[t].title, description: `${t}${n ? ` · ${n} dataset${n === 1 ? '' : 's'}` : ''}`, detail: TASK_INFO[t].description, task: t };
        }),
        { title: wizardTitle('task'), matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
      );
      if (!taskPick) return;
      const task = taskPick.task;
      const recent = ctx.extension.globalState.get<string[]>('bertStudio.recentModels', []);
      const model = await pickModel(s, task, recent);
      if (!model) return;
      const candidates = datasets.filter((d) => !d.task || d.task === task);
      const dataPick = await vscode.window.showQuickPick(
        [...candidates.map((d) => ({ label: d.id, description: `${d.task ?? ''}${d.multiLabel ? ' (multi-label)' : ''} ${d.trainCount ? `· ${d.trainCount} examples` : ''}`, dataset: d })), { label: '$(file) Data file…', description: 'train on a file directly (TSV, CoNLL, SQuAD JSON, text)', dataset: undefined }],
        { title: wizardTitle('dataset snapshot'), ignoreFocusOut: true },
      );
      if (!dataPick) return;
      let trainFile: string | undefined;
      if (!dataPick.dataset) {
        const uri = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Train on this file' });
        if (!uri?.[0]) return;
        trainFile = uri[0].fsPath;
      }
      // A live estimate of steps and time (from an earlier run of this model here, when there is one).
      const examples = dataPick.dataset?.trainCount;
      const configuredDevice = ctx.config().get<string>('defaultDevice') ?? 'auto';
      const throughput = measuredThroughput(s.list(), model, task, configuredDevice);
      // The training fields, each checked as typed (core/runs/advancedFields.ts, launch.ts's rules).
      const training = await askTrainingFields(ctx, { task, multiLabel: dataPick.dataset?.multiLabel, examples, throughput });
      if (!training) return;
      const configured = ctx.config().get<string>('defaultDevice') ?? 'auto';
      // Only devices this environment has: cuda entries when its torch sees CUDA devices; the setting's first.
      const devices = cuda.then((names) => {
        const choices = deviceChoices(names).map((c) => (c.label === configured ? { ...c, description: [c.description, 'bertStudio.defaultDevice'].filter(Boolean).join(' · ') } : c));
        return [...choices.filter((c) => c.label === configured), ...choices.filter((c) => c.label !== configured)];
      });
      // Notes in the labels, no description hovers over the next row (wizard.ts, pickDevice).
      const device = await pickDevice(devices);
      if (!device) return;
      // The same checks and the same folder-making as `bert-studio train` (core/runs/create.ts).
      const created = await createRunOrSay(s, {
        request: {
          task,
          model,
          dataset: dataPick.dataset?.id,
          train: trainFile,
          device,
          training,
        },
      }, { ...runEnvironment(layout.datasetsDir, python), workspace: path.dirname(layout.root) });
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
      const name = runName(info);
      if (!['starting', 'running', 'stopping'].includes(info.state)) {
        void vscode.window.showInformationMessage(`BERT Studio: run "${name}" is ${info.state}; there is nothing to stop.`);
        refresh();
        return;
      }
      if (isFinishing(info.status)) {
        void vscode.window.showInformationMessage(`BERT Studio: run "${name}" has finished training and is writing its model and export; it will end as completed.`);
        return;
      }
      const grace = (ctx.config().get<number>('stopGracePeriodSeconds') ?? 30) * 1000;
      let refused: string | undefined;
      // No pid from the caller: stopWorker signals the worker the run folder records, once /proc confirms it is this run's.
      const stopping = stopWorker(info.dir, undefined, grace, 200, (r) => (refused = r));
      // The "stopping" notification closes as soon as the run says it stopped (the worker may take a moment more to exit).
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Studio: stopping run "${name}" (saving a checkpoint)` }, () => Promise.race([stopping, untilEnded(s, id, stopping)]));
      const how = await stopping;
      if (refused) ctx.log.warn(`stop ${id}: ${refused}`);
      if (how === 'killed') void vscode.window.showWarningMessage(`BERT Studio: run "${name}" did not stop within the grace period and was killed; Resume continues from its last checkpoint.`);
      else if (how === 'not-ours') void vscode.window.showWarningMessage(`BERT Studio: the worker recorded for run "${name}" could not be confirmed (${refused}), so no process was signalled; the stop file asks the worker to stop at its next step.`);
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
        void vscode.window.showErrorMessage(`BERT Studio: stop run "${runName(info)}" before deleting it.`);
        return;
      }
      const ok = await vscode.window.showWarningMessage(`Delete run "${runName(info)}" with its checkpoints and exported model?`, { modal: true, detail: info.dir }, 'Delete');
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
      const parsed = await askTrainingChanges(source.task, `Duplicate "${runName(s.get(id))}" with changes`, `Training fields to change, Trainer-style names: ${trainingFieldNames(source.task).join(', ')}`, true);
      if (!parsed) return;
      const spec = { ...source, name: `${source.name ?? source.task} (copy)`, training: { ...source.training, ...parsed } };
      const python = await pythonFor(ctx);
      const layout = ctx.layout();
      if (!layout) return;
      const created = await createRunOrSay(s, { spec }, runEnvironment(layout.datasetsDir, python.path));
      if (created && (await start(created.dir, false))) void vscode.commands.executeCommand('bertStudio.openDashboard', created.id);
    }),

    vscode.commands.registerCommand('bertStudio.retryRun', async (arg: unknown) => {
      if (!requireTrust(ctx, 'Retrying a run')) return;
      const s = needStore();
      if (!s) return;
      const id = await pickRun(s, arg, (st) => st === 'failed' || st === 'interrupted', 'Retry');
      if (!id) return;
      const info = s.get(id);
      if (info.state !== 'failed' && info.state !== 'interrupted') {
        void vscode.window.showInformationMessage(`BERT Studio: run "${runName(info)}" is ${info.state}; only a failed or interrupted run is retried.`);
        return;
      }
      // The same run folder and spec again: from its newest checkpoint when it has one, else from the start.
      if (await start(info.dir, hasCheckpoint(info.dir), false)) void vscode.commands.executeCommand('bertStudio.openDashboard', id);
    }),

    vscode.commands.registerCommand('bertStudio.refreshRuns', () => refresh()),
  );
}
