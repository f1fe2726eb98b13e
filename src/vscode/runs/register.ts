import * as vscode from 'vscode';
import { onInvalidRecord } from '../../core/runs/protocol';
import { RunStore } from '../../core/runs/store';
import type { Ctx } from '../ctx';
import { registerRunCommands } from './commands';
import { registerEvaluateCommands } from './evaluateCommands';
import { RunMonitor } from './monitor';
import { ModelsTreeProvider, RunsTreeProvider } from './tree';

/** Runs and Models views, New Training Run, stop/resume/delete, status bar and notifications. */
export function registerRuns(ctx: Ctx): void {
  const store = (): RunStore | undefined => {
    const layout = ctx.layout();
    return layout ? new RunStore(layout.runsDir) : undefined;
  };
  const runs = new RunsTreeProvider(store);
  const models = new ModelsTreeProvider(store);
  const refresh = (): void => {
    runs.refresh();
    models.refresh();
  };
  // Run-folder records that fail their contract are ignored; the log says which and why (once each).
  ctx.push(onInvalidRecord((file, reason) => ctx.log.warn(`ignored ${file}: ${reason}`), { onceEach: true }));
  ctx.push(runs, models, vscode.window.registerTreeDataProvider('bertStudio.runs', runs), vscode.window.registerTreeDataProvider('bertStudio.models', models));
  registerRunCommands(ctx, store, () => monitor?.poll());
  registerEvaluateCommands(ctx, store);
  // The monitor reads every run's files; start it after activation returns to keep that cheap.
  let monitor: RunMonitor | undefined;
  const timer = setTimeout(() => {
    monitor = new RunMonitor(ctx, store);
    monitor.onDidChange(refresh);
    ctx.push(monitor);
  }, 0);
  ctx.push({ dispose: () => clearTimeout(timer) });
}
