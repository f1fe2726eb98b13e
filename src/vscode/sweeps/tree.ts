import * as vscode from 'vscode';
import type { StudyDisplayState, StudyInfo } from '../../core/sweeps/study';

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

/**
 * The Runs view's top level: runs outside any study, and one entry per study in place of its trials
 * (where its newest trial would be; a study with no trial run yet first). A trial whose study
 * folder is gone is shown as a plain run.
 */
export function groupRuns<R extends { readonly spec?: { readonly study?: { readonly id: string } } }>(runs: readonly R[], studies: readonly StudyInfo[]): ({ run: R } | { study: StudyInfo })[] {
  const byId = new Map(studies.map((s) => [s.id, s]));
  const placed = new Set<string>();
  const out: ({ run: R } | { study: StudyInfo })[] = studies.filter((s) => !runs.some((r) => r.spec?.study?.id === s.id)).map((study) => ({ study }));
  for (const run of runs) {
    const study = run.spec?.study ? byId.get(run.spec.study.id) : undefined;
    if (!study) out.push({ run });
    else if (!placed.has(study.id)) {
      placed.add(study.id);
      out.push({ study });
    }
  }
  return out;
}

/** A study's trial runs, by trial number. */
export function trialRuns<R extends { readonly spec?: { readonly study?: { readonly id: string; readonly trial: number } } }>(runs: readonly R[], studyId: string): R[] {
  return runs.filter((r) => r.spec?.study?.id === studyId).sort((a, b) => (a.spec?.study?.trial ?? 0) - (b.spec?.study?.trial ?? 0));
}
