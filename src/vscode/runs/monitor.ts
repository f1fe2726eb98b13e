import * as path from 'node:path';
import * as vscode from 'vscode';
import { cleanLogLine } from '../../core/dashboard/logText';
import type { DisplayState } from '../../core/runs/protocol';
import { runName } from '../../core/runs/names';
import { readStartFailure } from '../../core/runs/startFailure';
import type { RunInfo, RunStore } from '../../core/runs/store';
import { LineTail } from '../../core/runs/tail';
import { WORKER_LOG } from '../../core/runs/worker';
import type { Ctx } from '../ctx';
import { newestCheckpointStep } from './tree';

const LIVE: ReadonlySet<DisplayState> = new Set(['starting', 'running', 'stopping']);

export { runName };

/** Runs whose next state change a command reports itself (a failed start): the monitor stays quiet once. */
const quiet = new Set<string>();
export function quietOnce(id: string): void {
  quiet.add(id);
}

/**
 * Watches the runs folder: refreshes the views, shows the active run in the status bar, tells the
 * user when a run ends or fails, and streams live workers' logs into the worker output channel.
 * Everything comes from the files, so it reattaches to runs started before a window reload.
 */
export class RunMonitor implements vscode.Disposable {
  private readonly states = new Map<string, DisplayState>();
  private readonly logTails = new Map<string, LineTail>();
  private readonly logNames = new Map<string, string>();
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** What the views last showed: they are refreshed only when it changes. */
  private lastKey = '';
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly ctx: Ctx,
    private readonly store: () => RunStore | undefined,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('bertStudio.activeRun', vscode.StatusBarAlignment.Left, 50);
    this.statusItem.name = 'BERT Studio Run';
    this.disposables.push(this.statusItem, this.changed);
    const layout = ctx.layout();
    if (layout) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(layout.runsDir), '*/{status.json,spec.json,launch.json}'));
      const poke = (): void => this.poll();
      watcher.onDidChange(poke);
      watcher.onDidCreate(poke);
      watcher.onDidDelete(poke);
      this.disposables.push(watcher);
    }
    // The watcher misses changes on some file systems, and "interrupted" has no file event.
    this.timer = setInterval(() => this.poll(), 3000);
    this.poll(true);
  }

  poll(initial = false): void {
    const store = this.store();
    if (!store) return;
    const runs = store.list();
    let active: (typeof runs)[number] | undefined;
    for (const run of runs) {
      const before = this.states.get(run.id);
      this.states.set(run.id, run.state);
      if (LIVE.has(run.state)) {
        active ??= run;
        this.followLog(run, path.join(run.dir, WORKER_LOG));
      } else {
        this.unfollowLog(run.id);
      }
      if (!initial && before !== undefined && before !== run.state) {
        if (quiet.delete(run.id)) continue;
        this.announce(run);
      }
    }
    if (active) {
      const s = active.status;
      // While a resume loads its checkpoint, status.json says step 0: the checkpoint's step is the truth.
      const step = !s?.step && active.state === 'starting' ? (newestCheckpointStep(active.dir) ?? 0) : (s?.step ?? 0);
      this.statusItem.text = `$(sync~spin) ${runName(active)}: ${step}${s?.max_steps ? `/${s.max_steps}` : ''}`;
      this.statusItem.tooltip = `BERT Studio run "${runName(active)}" (${active.state}); click for its dashboard`;
      this.statusItem.command = { command: 'bertStudio.openDashboard', title: 'Open Dashboard', arguments: [active.id] };
      this.statusItem.show();
    } else {
      this.statusItem.hide();
    }
    const key = JSON.stringify(runs.map((r) => [r.id, r.state, r.spec?.name, r.status?.step, r.status?.max_steps, r.status?.best_metric, r.status?.updated, r.hasModel, r.hasOnnx]));
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.changed.fire();
  }

  private announce(run: RunInfo): void {
    const { id, state } = run;
    const name = runName(run);
    const best = run.status?.best_metric ?? undefined;
    const open = 'Open Dashboard';
    const retry = 'Retry';
    const resume = 'Resume';
    const after = (choice: string | undefined): void => {
      if (choice === open) void vscode.commands.executeCommand('bertStudio.openDashboard', id);
      else if (choice === retry) void vscode.commands.executeCommand('bertStudio.retryRun', id);
      else if (choice === resume) void vscode.commands.executeCommand('bertStudio.resumeRun', id);
      else if (choice === 'Show Log') (state === 'failed' ? this.ctx.log : this.ctx.workerLog).show(true);
    };
    if (state === 'completed') {
      void vscode.window.showInformationMessage(`BERT Studio: run "${name}" completed${best ? ` (${best.name} ${best.value.toFixed(4)})` : ''}.`, open).then(after);
    } else if (state === 'failed') {
      // The worker appends its traceback to worker.log: the BERT Studio log gets it too.
      const failure = readStartFailure(run.dir);
      if (failure.lines.length) this.ctx.log.error(`Run "${name}" failed (${run.dir}). The end of its worker.log:\n${failure.lines.join('\n')}`);
      void vscode.window.showErrorMessage(`BERT Studio: run "${name}" failed${failure.summary ? `: ${failure.summary}` : ''}.`, retry, open, 'Show Log').then(after);
    } else if (state === 'interrupted') {
      void vscode.window.showErrorMessage(`BERT Studio: run "${name}" was interrupted: its worker stopped unexpectedly. Resume continues from its last checkpoint.`, resume, open, 'Show Log').then(after);
    } else if (state === 'stopped') {
      void vscode.window.showInformationMessage(`BERT Studio: run "${name}" stopped at a checkpoint; Resume continues from there.`, open).then(after);
    }
  }

  private followLog(run: RunInfo, file: string): void {
    const id = run.id;
    if (this.logTails.has(id)) return;
    const name = runName(run);
    // Only new output (started at the end, no lines held back): the history is in the file.
    const tail = new LineTail(
      file,
      (lines) => {
        for (const line of lines) this.ctx.workerLog.info(`[${name}] ${cleanLogLine(line)}`);
      },
      { fromEnd: { lastLines: Number.POSITIVE_INFINITY, lastBytes: 0 } },
    );
    this.logTails.set(id, tail.start(1000));
    this.logNames.set(id, name);
  }

  private unfollowLog(id: string): void {
    const tail = this.logTails.get(id);
    if (!tail) return;
    const name = this.logNames.get(id) ?? id;
    tail.readNew().forEach((l) => this.ctx.workerLog.info(`[${name}] ${cleanLogLine(l)}`));
    tail.dispose();
    this.logTails.delete(id);
    this.logNames.delete(id);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.logTails.values()) t.dispose();
    this.logTails.clear();
    this.disposables.forEach((d) => d.dispose());
  }
}
