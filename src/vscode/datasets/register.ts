import * as path from 'node:path';
import * as vscode from 'vscode';
import { importDataset, listDatasets, removeDataset, requestFromManifest, type DatasetEntry } from '../../core/datasets/snapshot';
import type { DatasetStatistics } from '../../core/datasets/stats';
import type { DatasetRequest, ValidationReport } from '../../core/datasets/types';
import { RevalidateOnSave } from '../../core/datasets/revalidate';
import { validateDataset } from '../../core/datasets/validate';
import type { Ctx } from '../ctx';
import { DatasetDiagnostics } from './diagnostics';
import { datasetsWithProblems } from '../../core/datasets/restoreProblems';
import { buildImportRequest, changeDataset } from './importFlow';
import { DatasetStatsPanel, readCachedStats, STATS_VIEW_TYPE } from './statsPanel';
import { DatasetsTree, type DatasetNode } from './tree';

function summary(r: ValidationReport): string {
  const splits = Object.entries(r.splits).map(([k, v]) => `${v?.examples.toLocaleString('en-US')} ${k}`).join(' / ');
  return `${splits}; ${r.errors} errors, ${r.warnings} warnings`;
}

/** A dataset id from a command argument: a string or a tree node. */
function idFrom(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const node = arg as DatasetNode | undefined;
  return node?.kind === 'dataset' ? node.entry.id : undefined;
}

/** Datasets view, import/validate/statistics commands and diagnostics. */
export function registerDatasets(ctx: Ctx): void {
  const datasetsDir = (): string | undefined => ctx.layout()?.datasetsDir;
  const tree = new DatasetsTree(datasetsDir);
  const diagnostics = new DatasetDiagnostics();
  /** Files validated or imported this session → their request, re-validated when one is saved. */
  const onSave = new RevalidateOnSave((req) => validate(req, true).then(() => tree.refresh()));

  const onStats = (id: string, s: DatasetStatistics): void => {
    tree.stats.set(id, s);
    tree.refresh();
  };

  const remember = (req: DatasetRequest): void => onSave.remember(req);

  const validate = async (req: DatasetRequest, quiet: boolean): Promise<ValidationReport | undefined> => {
    const report = await vscode.window.withProgress(
      { location: quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification, title: 'Validating dataset', cancellable: !quiet },
      async (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        let last = 0;
        return validateDataset(req, {
          signal: ac.signal,
          onProgress: (p) => {
            const pct = (100 * p.bytesDone) / Math.max(1, p.bytesTotal);
            progress.report({ message: path.basename(p.file), increment: Math.max(0, pct - last) });
            last = pct;
          },
        }).catch((err: Error) => {
          if (err.name !== 'AbortError') throw err;
          return undefined;
        });
      },
    );
    if (report) {
      diagnostics.show(report);
      remember(req);
    }
    return report;
  };

  const entryFor = async (arg: unknown): Promise<DatasetEntry | undefined> => {
    const dir = datasetsDir();
    if (!dir) return undefined;
    const all = await listDatasets(dir);
    const id = idFrom(arg);
    if (id) return all.find((d) => d.id === id);
    if (all.length === 0) {
      void vscode.window.showInformationMessage('No datasets imported yet.');
      return undefined;
    }
    const chosen = await vscode.window.showQuickPick(
      all.map((d) => ({ label: d.manifest.name, description: d.manifest.task, entry: d })),
      { title: 'Dataset' },
    );
    return chosen?.entry;
  };

  const importCommand = async (uri?: vscode.Uri, uris?: vscode.Uri[]): Promise<void> => {
    const dir = datasetsDir();
    if (!dir) {
      void vscode.window.showWarningMessage('BERT Studio: open a folder first; datasets are kept in its .bert-studio folder.');
      return;
    }
    let files = (uris && uris.length ? uris : uri ? [uri] : []).filter((u) => u.scheme === 'file').map((u) => u.fsPath);
    if (files.length === 0) {
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: true,
        title: 'Import dataset: pick the training file (and dev/test files, optionally)',
        filters: { 'Data files': ['csv', 'tsv', 'jsonl', 'json', 'txt', 'conll', 'iob', 'parquet', 'arrow'], 'All files': ['*'] },
      });
      if (!picked?.length) return;
      files = picked.map((u) => u.fsPath);
    }
    const req = await buildImportRequest(files);
    if (!req) return;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Importing ${path.basename(req.files.train)}`, cancellable: true },
      async (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        let last = 0;
        try {
          return await importDataset(req, dir, {
            // The Problems view lists every bad row; the message below says how many were left out.
            skipBadRows: true,
            signal: ac.signal,
            onProgress: (p) => {
              const pct = (100 * p.bytesDone) / Math.max(1, p.bytesTotal);
              progress.report({ message: path.basename(p.file), increment: Math.max(0, pct - last) });
              last = pct;
            },
          });
        } catch (err) {
          if ((err as Error).name === 'AbortError') return undefined;
          throw err;
        }
      },
    );
    if (!result) return;
    diagnostics.show(result.report);
    remember(req);
    tree.refresh();
    if (!result.ok) {
      const choice = await vscode.window.showErrorMessage(`Dataset not imported: ${result.reason}`, 'Show Problems');
      if (choice) await vscode.commands.executeCommand('workbench.actions.view.problems');
      return;
    }
    ctx.log.info(`imported dataset ${result.id}: ${summary(result.report)}`);
    const actions = result.report.errors || result.report.warnings ? ['Show Statistics', 'Show Problems'] : ['Show Statistics'];
    const skipped = result.skipped ? ` ${result.skipped} row${result.skipped === 1 ? '' : 's'} with errors left out.` : '';
    const choice = await vscode.window.showInformationMessage(`Imported "${result.id}": ${summary(result.report)}.${skipped}`, ...actions);
    if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
    else if (choice === 'Show Statistics' && result.id) await vscode.commands.executeCommand('bertStudio.showDatasetStatistics', result.id);
  };

  const validateCommand = async (arg?: unknown): Promise<void> => {
    // From an editor or the explorer: validate that file as its dataset (or as a new one).
    const uri = arg instanceof vscode.Uri ? arg : arg === undefined ? vscode.window.activeTextEditor?.document.uri : undefined;
    if (uri && uri.scheme === 'file') {
      const known = onSave.requestFor(uri.fsPath);
      const req = known ?? (await buildImportRequest([uri.fsPath]));
      if (!req) return;
      const r = await validate(req, false);
      if (r) void vscode.window.setStatusBarMessage(`BERT Studio: ${path.basename(uri.fsPath)} — ${summary(r)}`, 8000);
      return;
    }
    const entry = await entryFor(arg);
    if (!entry) return;
    const r = await validate(requestFromManifest(entry.manifest), false);
    if (r) void vscode.window.showInformationMessage(`${entry.manifest.name}: ${summary(r)}.`);
    tree.refresh();
  };

  const revalidateOnSave = (doc: vscode.TextDocument): void => {
    if (doc.uri.scheme === 'file') onSave.saved(doc.uri.fsPath);
  };

  const loadWatched = async (): Promise<void> => {
    const dir = datasetsDir();
    if (!dir) return;
    for (const d of await listDatasets(dir)) {
      remember(requestFromManifest(d.manifest));
      const s = await readCachedStats(d.dir);
      if (s) tree.stats.set(d.id, s);
    }
    tree.refresh();
  };

  const view = vscode.window.createTreeView('bertStudio.datasets', { treeDataProvider: tree, showCollapseAll: true });
  const layout = ctx.layout();
  const watcher = layout ? vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(layout.datasetsDir, '*/manifest.json')) : undefined;
  if (watcher) {
    const changed = (u: vscode.Uri): void => {
      tree.refresh();
      const dir = datasetsDir();
      if (dir) void DatasetStatsPanel.reload(path.basename(path.dirname(u.fsPath)), dir);
    };
    watcher.onDidCreate(changed);
    watcher.onDidChange(changed);
    watcher.onDidDelete(changed);
  }

  // After a window reload: the Problems panel gets back the diagnostics of datasets imported with problems.
  const restore = setTimeout(() => {
    const dir = datasetsDir();
    if (!dir) return;
    void (async () => {
      for (const { request } of await datasetsWithProblems(dir)) await validate(request, true);
    })().catch((err: unknown) => ctx.log.warn(`restoring dataset problems failed: ${String(err)}`));
  }, 2000);

  ctx.push(
    { dispose: () => clearTimeout(restore) },
    view,
    tree,
    diagnostics,
    ...(watcher ? [watcher] : []),
    vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, diagnostics, { providedCodeActionKinds: DatasetDiagnostics.kinds }),
    vscode.workspace.onDidSaveTextDocument(revalidateOnSave),
    vscode.commands.registerCommand('bertStudio.importDataset', importCommand),
    vscode.commands.registerCommand('bertStudio.validateDataset', validateCommand),
    vscode.commands.registerCommand('bertStudio.refreshDatasets', () => tree.refresh()),
    vscode.commands.registerCommand('bertStudio.nameLabels', async (arg?: unknown): Promise<boolean> => {
      const entry = await entryFor(arg);
      const dir = datasetsDir();
      if (!entry || !dir || !(await changeDataset(entry, dir, 'labelNames'))) return false;
      tree.refresh();
      return true;
    }),
    vscode.commands.registerCommand('bertStudio.addTestSplit', async (arg?: unknown) => {
      const entry = await entryFor(arg);
      const dir = datasetsDir();
      if (entry && dir && (await changeDataset(entry, dir, 'test'))) tree.refresh();
    }),
    vscode.commands.registerCommand('bertStudio.showDatasetStatistics', async (arg?: unknown) => {
      const entry = await entryFor(arg);
      if (entry) await DatasetStatsPanel.show(ctx, entry, onStats);
    }),
    vscode.commands.registerCommand('bertStudio.removeDataset', async (arg?: unknown) => {
      const entry = await entryFor(arg);
      const dir = datasetsDir();
      if (!entry || !dir) return;
      const ok = await vscode.window.showWarningMessage(
        `Remove dataset "${entry.manifest.name}"? Its snapshot is deleted; the source files stay. Runs that trained on it keep their results.`,
        { modal: true },
        'Remove',
      );
      if (ok !== 'Remove') return;
      await removeDataset(dir, entry.id);
      tree.stats.delete(entry.id);
      tree.refresh();
      await DatasetStatsPanel.reload(entry.id, dir);
    }),
    vscode.window.registerWebviewPanelSerializer(STATS_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
        const id = (state as { datasetId?: unknown } | undefined)?.datasetId;
        const dir = datasetsDir();
        if (typeof id !== 'string' || !dir) {
          panel.dispose();
          return;
        }
        await DatasetStatsPanel.revive(ctx, panel, id, dir, onStats);
      },
    }),
    onSave,
  );
  void loadWatched();
}
