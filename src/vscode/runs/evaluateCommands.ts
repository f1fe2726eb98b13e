// Models view: "Evaluate on…" (the worker scores the run's model on a dataset split or a file, into
// <run>/evaluations/<name>/, and the result joins the run's events beside the validation figures)
// and "Predict File…" (the host engine labels every example of a file, written beside it and opened).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { besideInput, predictFile, PredictInputError } from '../../core/inference/batchPredict';
import { listDatasets } from '../../core/datasets/snapshot';
import { packageRoot } from '../../core/paths';
import { evaluateRun, EvaluationError, resolveEvalData } from '../../core/runs/evaluate';
import type { RunInfo, RunStore } from '../../core/runs/store';
import { requireTrust, type Ctx } from '../ctx';
import { pythonFor } from '../environment/register';
import { EngineHost } from '../inference/engineHost';
import { runIdFrom } from './commands';

/** The run a command is about: its tree item or id, else asked among the runs that fit. */
export async function pickRun(store: RunStore | undefined, arg: unknown, fits: (r: RunInfo) => boolean, what: string): Promise<RunInfo | undefined> {
  if (!store) return undefined;
  const id = runIdFrom(arg);
  if (id) return store.get(id);
  const runs = store.list().filter(fits);
  if (!runs.length) {
    void vscode.window.showInformationMessage(`BERT Studio: no trained model to ${what} yet.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: r.spec?.name || r.id, description: r.spec?.task, run: r })), { placeHolder: `Model to ${what}` });
  return pick?.run;
}

const FILE = 'Choose a file…';

export function registerEvaluateCommands(ctx: Ctx, store: () => RunStore | undefined): void {
  const engines = new EngineHost(ctx);
  ctx.push(engines);

  ctx.push(vscode.commands.registerCommand('bertStudio.evaluateModel', async (arg?: unknown) => {
    if (!requireTrust(ctx, 'Evaluating a model')) return;
    const layout = ctx.layout();
    const run = await pickRun(store(), arg, (r) => r.hasModel, 'evaluate');
    if (!layout || !run) return;
    const splits = (await listDatasets(layout.datasetsDir))
      .filter((d) => d.manifest.task === run.spec?.task)
      .flatMap((d) => (['test', 'validation'] as const).filter((s) => d.manifest.splits[s]).map((s) => ({ label: `${d.id}:${s}`, description: `${d.manifest.splits[s]?.count ?? 0} examples` })));
    const choice = await vscode.window.showQuickPick([...splits, { label: FILE, description: 'a labelled CSV, TSV, JSONL, CoNLL or SQuAD file' }], { placeHolder: `Evaluate ${run.spec?.name || run.id} on…` });
    if (!choice) return;
    let data = choice.label;
    if (data === FILE) {
      const files = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Evaluate on this file' });
      if (!files?.[0]) return;
      data = files[0].fsPath;
    }
    const python = await pythonFor(ctx);
    if (!python.path) {
      void vscode.window.showErrorMessage('BERT Studio: no Python environment for the worker; run "BERT Studio: Set Up Training Environment" first.');
      return;
    }
    try {
      const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Studio: evaluating on ${path.basename(data)}`, cancellable: true }, async (_p, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        const target = await resolveEvalData(data, layout.datasetsDir);
        return evaluateRun({ python: python.path as string, model: run.dir, data: target, packageRoot: packageRoot(), signal: controller.signal, onStderr: (l) => ctx.workerLog.info(l) });
      });
      const shown = Object.entries(report.metrics).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${(v as number).toFixed(4)}`).join(', ');
      const open = 'Open Predictions';
      const action = await vscode.window.showInformationMessage(`BERT Studio: ${report.name} (${report.split}, ${report.examples} examples): ${shown}`, ...(report.predictions ? [open] : []));
      if (action === open) await vscode.window.showTextDocument(vscode.Uri.file(path.join(report.out, report.predictions as string)));
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      if (!(err instanceof EvaluationError)) ctx.log.error(`evaluate ${run.id} on ${data}: ${(err as Error).stack ?? String(err)}`);
      void vscode.window.showErrorMessage(`BERT Studio: ${(err as Error).message}`);
    }
  }));

  ctx.push(vscode.commands.registerCommand('bertStudio.predictFile', async (arg?: unknown) => {
    if (!requireTrust(ctx, 'Predicting a file')) return;
    const run = await pickRun(store(), arg, (r) => r.hasOnnx, 'predict with');
    if (!run) return;
    const files = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Predict this file', filters: { 'Text data': ['txt', 'tsv', 'csv', 'jsonl'], 'All files': ['*'] } });
    const input = files?.[0]?.fsPath;
    if (!input) return;
    const output = besideInput(input);
    try {
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Studio: predicting ${path.basename(input)}`, cancellable: true }, async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort(new vscode.CancellationError()));
        const engine = await engines.get();
        const t0 = Date.now();
        let last = 0;
        return predictFile(engine, run.dir, input, output, {
          signal: controller.signal,
          onProgress: (done, read, bytes) => {
            const pct = bytes ? (100 * read) / bytes : 0;
            const rate = done / Math.max(0.001, (Date.now() - t0) / 1000);
            progress.report({ increment: pct - last, message: `${done} examples · ${rate.toFixed(1)}/s` });
            last = pct;
          },
        });
      });
      await vscode.window.showTextDocument(vscode.Uri.file(result.output));
      void vscode.window.showInformationMessage(`BERT Studio: ${result.examples} predictions written to ${path.basename(result.output)} (${(result.examples / Math.max(0.001, result.seconds)).toFixed(1)} examples/s).`);
    } catch (err) {
      if (err instanceof vscode.CancellationError || (err as Error).name === 'AbortError') return;
      if (!(err instanceof PredictInputError)) ctx.log.error(`predict file ${input}: ${(err as Error).stack ?? String(err)}`);
      void vscode.window.showErrorMessage(`BERT Studio: ${(err as Error).message}`);
    }
  }));
}
