import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DisplayState } from '../../core/runs/protocol';
import type { RunStore } from '../../core/runs/store';
import { LineTail } from '../../core/runs/tail';
import { WORKER_LOG } from '../../core/runs/worker';
import type { Ctx } from '../ctx';

const LIVE: ReadonlySet<DisplayState> = new Set(['starting', 'running', 'stopping']);

/**
 * Watches the runs folder: refreshes the views, shows the active run in the status bar, tells the
 * user when a run ends or fails, and streams live workers' logs into the worker output channel.
 * Everything comes from the files, so it reattaches to runs started before a window reload.
 */
export class RunMonitor implements vscode.Disposable {
  private readonly states = new Map<string, DisplayState>();
  private readonly logTails = new Map<string, LineTail>();
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
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
        this.followLog(run.id, path.join(run.dir, WORKER_LOG));
      } else {
        this.unfollowLog(run.id);
      }
      if (!initial && before !== undefined && before !== run.state) this.announce(run.id, run.state, run.status?.best_metric ?? undefined);
    }
    if (active) {
      const s = active.status;
      this.statusItem.text = `$(sync~spin) ${active.spec?.name || active.id}: ${s?.step ?? 0}${s?.max_steps ? `/${s.max_steps}` : ''}`;
      this.statusItem.tooltip = `BERT Studio run ${active.id} (${active.state}); click for its dashboard`;
      this.statusItem.command = { command: 'bertStudio.openDashboard', title: 'Open Dashboard', arguments: [active.id] };
      this.statusItem.show();
    } else {
      this.statusItem.hide();
    }
    this.changed.fire();
  }

  private announce(id: string, state: DisplayState, best?: { name: string; value: number }): void {
    const open = 'Open Dashboard';
    const after = (choice: string | undefined): void => {
      if (choice === open) void vscode.commands.executeCommand('bertStudio.openDashboard', id);
    };
    if (state === 'completed') {
      void vscode.window.showInformationMessage(`BERT Studio: run ${id} completed${best ? ` (${best.name} ${best.value.toFixed(4)})` : ''}.`, open).then(after);
    } else if (state === 'failed' || state === 'interrupted') {
      void vscode.window.showErrorMessage(`BERT Studio: run ${id} ${state === 'failed' ? 'failed' : 'was interrupted (its worker died); it can be resumed'}.`, open, 'Show Log').then((c) => {
        if (c === 'Show Log') this.ctx.workerLog.show();
        else after(c);
      });
    } else if (state === 'stopped') {
      void vscode.window.showInformationMessage(`BERT Studio: run ${id} stopped at a checkpoint; it can be resumed.`, open).then(after);
    }
  }

  private followLog(id: string, file: string): void {
    if (this.logTails.has(id)) return;
    // Only new output (started at the end, no lines held back): the history is in the file.
    const tail = new LineTail(
      file,
      (lines) => {
        for (const line of lines) this.ctx.workerLog.info(`[${id}] ${line}`);
      },
      { fromEnd: { lastLines: Number.POSITIVE_INFINITY, lastBytes: 0 } },
    );
    this.logTails.set(id, tail.start(1000));
  }

  private unfollowLog(id: string): void {
    const tail = this.logTails.get(id);
    if (!tail) return;
    tail.readNew().forEach((l) => this.ctx.workerLog.info(`[${id}] ${l}`));
    tail.dispose();
    this.logTails.delete(id);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.logTails.values()) t.dispose();
    this.logTails.clear();
    this.disposables.forEach((d) => d.dispose());
  }
}
