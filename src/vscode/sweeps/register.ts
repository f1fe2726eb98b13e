import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { packageRoot } from '../../core/paths';
import { workerEnv } from '../../core/python/workerEnv';
import { defaultModelFolder } from '../../core/runs/launch';
import { RunStore } from '../../core/runs/store';
import { checkSpace, parseSpaceArg } from '../../core/sweeps/space';
import { createStudy, launchStudy, StudyStore, stopStudy } from '../../core/sweeps/study';
import { requireTrust, type Ctx } from '../ctx';
import { ensureEnvironment } from '../environment/register';
import { runIdFrom } from '../runs/commands';
import { StudyPanel } from './panel';

/** A study id from a command argument: a StudyItem of the Runs view, or an id. */
function studyIdFrom(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const id = (arg as { studyId?: unknown } | undefined)?.studyId;
  return typeof id === 'string' ? id : undefined;
}

/** Hyperparameter searches: open a study, stop, resume, use its best trial, and start one from a run. */
export function registerSweeps(ctx: Ctx): void {
  const refresh = (): void => void vscode.commands.executeCommand('bertStudio.refreshRuns');
  const stores = (): { studies: StudyStore; runs: RunStore; datasetsDir: string; root: string } | undefined => {
    const layout = ctx.layout();
    if (!layout) {
      void vscode.window.showErrorMessage('BERT Studio: open a folder first: studies live in its .bert-studio folder.');
      return undefined;
    }
    return { studies: new StudyStore(layout.studiesDir), runs: new RunStore(layout.runsDir), datasetsDir: layout.datasetsDir, root: layout.root };
  };
  const pick = async (studies: StudyStore, arg: unknown, filter: (state: string) => boolean = () => true): Promise<string | undefined> => {
    const given = studyIdFrom(arg);
    if (given) return studies.has(given) ? given : void vscode.window.showErrorMessage(`BERT Studio: no study "${given}".`);
    const items = studies.list().filter((s) => filter(s.state)).map((s) => ({ label: s.definition?.name ?? s.id, description: `${s.state} · ${s.status?.finished ?? 0}/${s.definition?.n_trials ?? '?'} trials`, id: s.id }));
    if (!items.length) return void vscode.window.showInformationMessage('BERT Studio: no study to choose from. Start one with "Sweep from This Run" on a run, or `bert-studio sweep`.');
    return (await vscode.window.showQuickPick(items, { placeHolder: 'Choose a study' }))?.id;
  };
  const launch = async (studies: StudyStore, id: string, resume: boolean): Promise<void> => {
    const python = await ensureEnvironment(ctx);
    if (!python) return;
    const driver = launchStudy({ python, studyDir: studies.dir(id), resume, env: workerEnv(packageRoot()), detached: true });
    ctx.log.info(`sweep driver ${driver.pid} for study ${id} (${python})`);
    refresh();
    StudyPanel.show(ctx, studies, id);
  };

  ctx.push(
    vscode.commands.registerCommand('bertStudio.openStudy', async (arg: unknown) => {
      const s = stores();
      const id = s && (await pick(s.studies, arg));
      if (s && id) StudyPanel.show(ctx, s.studies, id);
    }),
    vscode.commands.registerCommand('bertStudio.stopStudy', async (arg: unknown) => {
      if (!requireTrust(ctx, 'Stopping a study')) return;
      const s = stores();
      const id = s && (await pick(s.studies, arg, (state) => state === 'running' || state === 'starting'));
      if (!s || !id) return;
      const how = stopStudy(s.studies.get(id));
      void vscode.window.showInformationMessage(how === 'signalled' ? `BERT Studio: stopping study ${id}: its trial checkpoints; Resume Study continues it.` : `BERT Studio: asked study ${id} to stop (stop file); its process could not be verified, so it was not signalled.`);
      refresh();
    }),
    vscode.commands.registerCommand('bertStudio.resumeStudy', async (arg: unknown) => {
      if (!requireTrust(ctx, 'Resuming a study')) return;
      const s = stores();
      const id = s && (await pick(s.studies, arg, (state) => state === 'stopped' || state === 'interrupted' || state === 'failed'));
      if (s && id) await launch(s.studies, id, true);
    }),
    vscode.commands.registerCommand('bertStudio.useBestTrial', async (arg: unknown) => {
      const s = stores();
      const id = s && (await pick(s.studies, arg));
      if (!s || !id) return;
      const best = s.studies.get(id).status?.best;
      if (!best?.run) return void vscode.window.showInformationMessage(`BERT Studio: study ${id} has no completed trial yet.`);
      const dir = s.runs.runDir(best.run);
      if (!fs.existsSync(path.join(dir, 'onnx', 'model.onnx'))) {
        return void vscode.window.showInformationMessage(`BERT Studio: the best trial's run ${best.run} has no ONNX export (the study ran with export off); train with its parameters, or use ${id} as --model from the CLI for PyTorch evaluation.`);
      }
      await vscode.commands.executeCommand('bertStudio.useModel', dir);
    }),
    vscode.commands.registerCommand('bertStudio.sweepFromRun', async (arg: unknown) => {
      if (!requireTrust(ctx, 'Starting a study')) return;
      const s = stores();
      const runId = runIdFrom(arg);
      if (!s || !runId) return;
      const spec = s.runs.get(runId).spec;
      if (!spec) return void vscode.window.showErrorMessage(`BERT Studio: run ${runId} has no readable spec.json.`);
      const spaceText = await vscode.window.showInputBox({
        title: `Sweep from ${spec.name ?? runId}: the search space`,
        prompt: 'Training fields to search: name=low..high[:log][:step=S] or name=a|b, comma-separated (or a JSON file)',
        value: 'learning_rate=1e-5..1e-4:log,per_device_train_batch_size=16|32,warmup_ratio=0..0.1',
        ignoreFocusOut: true,
        validateInput: (text) => {
          const parsed = parseSpaceArg(text, path.dirname(s.root));
          const problem = parsed.problems[0] ?? (parsed.space ? checkSpace(spec.task, parsed.space, spec.training)[0] : undefined);
          return problem ? `${problem.field}: ${problem.message}` : undefined;
        },
      });
      if (spaceText === undefined) return;
      const trials = await vscode.window.showInputBox({ title: 'Number of trials', value: '10', ignoreFocusOut: true, validateInput: (t) => (/^[1-9]\d{0,4}$/.test(t.trim()) ? undefined : 'a whole number of at least 1') });
      if (trials === undefined) return;
      const python = await ensureEnvironment(ctx);
      if (!python) return;
      const created = await createStudy(
        s.studies,
        { run: { spec }, space: parseSpaceArg(spaceText, path.dirname(s.root)).space, nTrials: Number(trials), name: `${spec.name ?? runId} sweep` },
        { datasetsDir: s.datasetsDir, python, workspace: path.dirname(s.root), defaultModel: () => defaultModelFolder(python, workerEnv(packageRoot())) },
      );
      if (!created.study) {
        const shown = created.problems.map((p) => `${p.field}: ${p.message}`);
        return void vscode.window.showErrorMessage(`BERT Studio: the study was not started: ${shown[0]}`, { detail: shown.join('\n'), modal: shown.length > 1 });
      }
      await launch(s.studies, created.study.id, false);
    }),
  );
}
