import * as vscode from 'vscode';
import type { StudyDisplayState, StudyInfo } from '../../core/sweeps/study';

export { groupRuns, trialRuns } from '../../core/sweeps/view';

const ICONS: Record<StudyDisplayState, [string, string?]> = {
  pending: ['circle-outline'],
  starting: ['loading~spin'],
  running: ['sync~spin', 'charts.blue'],
  stopped: ['debug-pause', 'charts.yellow'],
  completed: ['pass', 'charts.green'],
  failed: ['error', 'charts.red'],
  interrupted: ['warning', 'charts.orange'],
};

/** A study in the Runs view: its trials' runs are its children (src/vscode/runs/tree.ts groups them). */
export class StudyItem extends vscode.TreeItem {
  constructor(readonly study: StudyInfo) {
    super(study.definition?.name ?? study.id, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `study:${study.id}`;
    const s = study.status;
    const parts: string[] = [`sweep ${study.state}`, `${s?.finished ?? 0}/${study.definition?.n_trials ?? '?'} trials`];
    const pruned = s?.trials.filter((t) => t.state === 'pruned').length ?? 0;
    if (pruned) parts.push(`${pruned} pruned`);
    if (s?.best) parts.push(`best ${s.metric ?? ''} ${s.best.value.toFixed(4)}`);
    this.description = parts.join(' · ');
    const [icon, color] = ICONS[study.state];
    this.iconPath = new vscode.ThemeIcon(icon === 'pass' ? 'beaker' : icon, color ? new vscode.ThemeColor(color) : undefined);
    this.contextValue = `study.${study.state}`;
    this.tooltip = new vscode.MarkdownString([`**${study.id}**`, s?.message ?? '', `folder: ${study.dir}`].filter(Boolean).join('\n\n'));
    this.command = { command: 'bertStudio.openStudy', title: 'Open Study', arguments: [study.id] };
  }

  get studyId(): string {
    return this.study.id;
  }
}

