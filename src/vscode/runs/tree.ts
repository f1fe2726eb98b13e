import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { accuracyDescription, exportSummaryLines, readExportSummary } from '../../core/inference/exportInfo';
import type { DisplayState } from '../../core/runs/protocol';
import type { RunInfo, RunStore } from '../../core/runs/store';
import { StudyStore } from '../../core/sweeps/study';
import { groupRuns, StudyItem, trialRuns } from '../sweeps/tree';

const ICONS: Record<DisplayState, [string, string?]> = {
  pending: ['circle-outline'],
  starting: ['loading~spin'],
  running: ['sync~spin', 'charts.blue'],
  stopping: ['loading~spin', 'charts.yellow'],
  stopped: ['debug-pause', 'charts.yellow'],
  completed: ['pass', 'charts.green'],
  failed: ['error', 'charts.red'],
  interrupted: ['warning', 'charts.orange'],
};

export function formatEta(info: RunInfo, now = Date.now() / 1000): string | undefined {
  const s = info.status;
  if (!s?.step || !s.max_steps || !s.started || !s.updated || s.step >= s.max_steps) return undefined;
  const perStep = (s.updated - s.started) / s.step;
  const left = Math.max(0, (s.max_steps - s.step) * perStep - (now - s.updated));
  return left >= 3600 ? `${(left / 3600).toFixed(1)} h` : left >= 60 ? `${Math.round(left / 60)} min` : `${Math.round(left)} s`;
}

/** The newest checkpoint's step of a run folder (a resume continues from it), if any. */
export function newestCheckpointStep(runDir: string): number | undefined {
  let newest: number | undefined;
  try {
    for (const d of fs.readdirSync(path.join(runDir, 'checkpoints'))) {
      const m = /^step-(\d+)$/.exec(d);
      if (m) newest = Math.max(newest ?? 0, Number(m[1]));
    }
  } catch {
    // no checkpoints folder
  }
  return newest;
}

export class RunItem extends vscode.TreeItem {
  constructor(readonly run: RunInfo) {
    super(run.spec?.name || run.id, vscode.TreeItemCollapsibleState.None);
    this.id = `run:${run.id}`;
    const s = run.status;
    const parts: string[] = [run.state];
    // A resuming worker rewrites status.json from step 0 until it has loaded its checkpoint: show that step.
    const resumingFrom = run.state === 'starting' && !s?.step ? newestCheckpointStep(run.dir) : undefined;
    if (resumingFrom !== undefined) parts.push(`resuming from step ${resumingFrom}`);
    else if (s?.step !== undefined) parts.push(`step ${s.step}${s.max_steps ? `/${s.max_steps}` : ''}`);
    const eta = run.state === 'running' ? formatEta(run) : undefined;
    if (eta) parts.push(`ETA ${eta}`);
    if (s?.best_metric) parts.push(`${s.best_metric.name} ${s.best_metric.value.toFixed(4)}`);
    this.description = parts.join(' · ');
    const [icon, color] = ICONS[run.state];
    this.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    this.contextValue = `run.${run.state}`;
    this.tooltip = new vscode.MarkdownString(
      [`**${run.spec?.name || run.id}**`, `id: ${run.id}`, `task: ${run.spec?.task ?? '?'}`, `model: ${run.spec?.model.name_or_path ?? '?'}`, `folder: ${run.dir}`].join('\n\n'),
    );
    this.command = { command: 'bertStudio.selectRun', title: 'Show in the Dashboard', arguments: [run.id] };
  }

  /** Commands invoked from the tree get this item; `runId` lets other features read it too. */
  get runId(): string {
    return this.run.id;
  }
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunItem | StudyItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly store: () => RunStore | undefined) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(item: RunItem | StudyItem): vscode.TreeItem {
    return item;
  }

  /** Runs, with a study's trials grouped under it (src/vscode/sweeps/tree.ts). */
  getChildren(element?: RunItem | StudyItem): (RunItem | StudyItem)[] {
    const store = this.store();
    const runs = store?.list() ?? [];
    if (element instanceof StudyItem) return trialRuns(runs, element.studyId).map((r) => new RunItem(r));
    const studies = store ? new StudyStore(path.join(path.dirname(store.runsDir), 'studies')).list() : [];
    return groupRuns(runs, studies).map((g) => ('run' in g ? new RunItem(g.run) : new StudyItem(g.study)));
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export class ModelItem extends vscode.TreeItem {
  constructor(readonly run: RunInfo) {
    super(run.spec?.name || run.id, vscode.TreeItemCollapsibleState.None);
    this.id = `model:${run.id}`;
    const best = run.status?.best_metric;
    // The fp32 and int8 graphs' metric on validation, as measured at export (onnx/export.json).
    const exported = run.hasOnnx ? readExportSummary(run.dir) : undefined;
    const onnx = run.hasOnnx ? `ONNX${accuracyDescription(exported) ? ` ${accuracyDescription(exported)}` : ''}` : 'PyTorch only';
    this.description = [run.spec?.task, best ? `${best.name} ${best.value.toFixed(4)}` : undefined, onnx].filter(Boolean).join(' · ');
    this.iconPath = new vscode.ThemeIcon(run.hasOnnx ? 'package' : 'file-binary');
    this.contextValue = run.hasOnnx ? 'model' : 'model.noOnnx';
    this.tooltip = [`${run.dir}/model`, ...exportSummaryLines(exported)].join('\n');
    this.command = run.hasOnnx ? { command: 'bertStudio.useModel', title: 'Use Model', arguments: [run.dir] } : undefined;
  }

  /** The model's folder: what Use Model (the row's inline icon) receives with this item. */
  get folder(): string {
    return this.run.dir;
  }

  get runId(): string {
    return this.run.id;
  }
}

export class ModelsTreeProvider implements vscode.TreeDataProvider<ModelItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly store: () => RunStore | undefined) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(item: ModelItem): vscode.TreeItem {
    return item;
  }

  getChildren(): ModelItem[] {
    return (this.store()?.list() ?? []).filter((r) => r.hasModel).map((r) => new ModelItem(r));
  }

  dispose(): void {
    this.changed.dispose();
  }
}
