import * as path from 'node:path';
import * as vscode from 'vscode';
import { listDatasets, sourceStates, type DatasetEntry, type SourceState } from '../../core/datasets/snapshot';
import type { DatasetStatistics } from '../../core/datasets/stats';
import { SPLITS } from '../../core/datasets/types';

export type DatasetNode =
  | { readonly kind: 'dataset'; readonly entry: DatasetEntry; readonly changed: boolean }
  | { readonly kind: 'detail'; readonly label: string; readonly description?: string; readonly tooltip?: string; readonly icon: string; readonly file?: string; readonly warn?: boolean };

/** The Datasets view: one item per snapshot; its splits, sources (changed?) and problems below. */
export class DatasetsTree implements vscode.TreeDataProvider<DatasetNode> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private states = new Map<string, { split: string; path: string; state: SourceState; reason?: string }[]>();
  private entries: DatasetEntry[] = [];
  readonly stats = new Map<string, DatasetStatistics>();

  constructor(
    private readonly datasetsDir: () => string | undefined,
    /** Only sources inside it are read (a manifest is user-editable). */
    private readonly workspace: () => string | undefined = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
  ) {}

  refresh(): void {
    this.changed.fire();
  }

  list(): readonly DatasetEntry[] {
    return this.entries;
  }

  async getChildren(node?: DatasetNode): Promise<DatasetNode[]> {
    if (!node) {
      const dir = this.datasetsDir();
      this.entries = dir ? await listDatasets(dir) : [];
      const out: DatasetNode[] = [];
      for (const entry of this.entries) {
        const states = await sourceStates(entry.manifest, { workspace: this.workspace() }).catch(() => []);
        this.states.set(entry.id, states.map((s) => ({ split: s.source.split, path: String(s.source.path), state: s.state, reason: s.reason })));
        out.push({ kind: 'dataset', entry, changed: states.some((s) => s.state === 'changed' || s.state === 'missing') });
      }
      return out;
    }
    if (node.kind !== 'dataset') return [];
    const m = node.entry.manifest;
    const kids: DatasetNode[] = [];
    for (const split of SPLITS) {
      const s = m.splits[split];
      if (!s) continue;
      const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k} ${v}`).join(' · ') : undefined;
      kids.push({ kind: 'detail', label: split, description: `${s.count.toLocaleString('en-US')}${labels ? ` — ${labels}` : ''}`, icon: 'list-flat', file: path.join(node.entry.dir, s.file) });
    }
    for (const s of this.states.get(node.entry.id) ?? []) {
      const bad = s.state === 'changed' || s.state === 'missing';
      kids.push({
        kind: 'detail',
        label: path.basename(s.path),
        description: `${s.split} source${s.state === 'changed' ? ' — changed since import' : s.state === 'missing' ? ' — missing' : s.state === 'unchecked' ? ' — not checked' : ''}`,
        tooltip: `${s.path}${bad ? '\nThe snapshot still holds the data as imported; import again to use the new version.' : s.reason ? `\nNot checked: ${s.reason}.` : ''}`,
        icon: bad ? 'warning' : 'file',
        file: s.state === 'unchanged' || s.state === 'changed' ? s.path : undefined,
        warn: bad,
      });
    }
    const st = this.stats.get(node.entry.id);
    if (st) {
      for (const s of st.splits) {
        kids.push({ kind: 'detail', label: `${s.split} tokens`, description: `p50 ${s.tokens.p50} · p95 ${s.tokens.p95} · max ${s.tokens.max} · ${(s.tokens.truncatedShare * 100).toFixed(1)}% > ${st.maxSeqLength}`, icon: 'graph' });
      }
    }
    const p = m.problems;
    if (p.errors || p.warnings) {
      kids.push({ kind: 'detail', label: `${p.errors} errors, ${p.warnings} warnings`, description: Object.entries(p.byCode).map(([k, v]) => `${k} ${v}`).join(', '), icon: p.errors ? 'error' : 'warning' });
    }
    return kids;
  }

  getTreeItem(node: DatasetNode): vscode.TreeItem {
    if (node.kind === 'dataset') {
      const m = node.entry.manifest;
      const item = new vscode.TreeItem(m.name, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `dataset:${node.entry.id}`;
      item.contextValue = 'dataset';
      item.description = `${m.task} · ${Object.entries(m.splits).map(([k, v]) => `${k} ${v?.count.toLocaleString('en-US')}`).join(' · ')}${node.changed ? ' · source changed' : ''}`;
      item.iconPath = new vscode.ThemeIcon(node.changed ? 'warning' : 'database');
      item.tooltip = new vscode.MarkdownString(`**${m.name}** (${m.format}, ${m.task})\n\nImported ${new Date(m.created).toLocaleString()}\n\n${m.sources.map((s) => `- ${s.split}: \`${s.path}\``).join('\n')}`);
      item.command = { command: 'bertStudio.showDatasetStatistics', title: 'Show Statistics', arguments: [node.entry.id] };
      return item;
    }
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.description = node.description;
    item.tooltip = node.tooltip ?? node.description;
    item.iconPath = new vscode.ThemeIcon(node.icon);
    if (node.file) {
      item.resourceUri = vscode.Uri.file(node.file);
      item.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(node.file)] };
    }
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
