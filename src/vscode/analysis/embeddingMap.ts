// "BERT Studio: Show Embedding Map" (palette, and a run's context menu in the Runs view): one panel
// per run that runs the worker's `embeddings` (a cached map opens at once), shows the points
// (webview/embeddings) and opens a selected example at its source line. The logic is
// src/core/analysis/embeddingMap.ts; the page names points by position only, and their sources are
// checked (src/core/dashboard/sourceAccess.ts) before anything opens.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { computeEmbeddingMap, embeddingMapHtml, pageMap, runSplits, type EmbeddingMapFile } from '../../core/analysis/embeddingMap';
import { checkSource, runDataSources } from '../../core/dashboard/sourceAccess';
import { packageRoot } from '../../core/paths';
import { EvaluationError } from '../../core/runs/evaluate';
import { runName } from '../../core/runs/names';
import { RunStore, type RunInfo } from '../../core/runs/store';
import { receiveChecked } from '../../core/webview/messages';
import { isRecord } from '../../shared/guard';
import { SETTINGS, ToHost, ToWebview, WEBVIEW_MESSAGE, type HostMessage, type Settings, type Status, type WebviewMessage } from '../../../webview/embeddings/protocol';
import { requireTrust, type Ctx } from '../ctx';
import { pythonFor } from '../environment/register';
import { pickRun } from '../runs/evaluateCommands';

export const EMBEDDING_MAP_VIEW_TYPE = 'bertStudio.embeddingMap';
const TASKS = ['sequence_classification', 'token_classification'];

function fits(r: RunInfo): boolean {
  return TASKS.includes(r.spec?.task ?? '');
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
}

export class EmbeddingMapPanel {
  private static readonly open = new Map<string, EmbeddingMapPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private status: Status = 'idle';
  private message: string | undefined;
  private map: EmbeddingMapFile | undefined;
  private cached = false;
  private abort: AbortController | undefined;

  /** Shows the run's panel (a new one, or the open one revealed) and computes the map for `settings`. */
  static show(ctx: Ctx, run: RunInfo, settings?: Settings): EmbeddingMapPanel {
    const existing = EmbeddingMapPanel.open.get(run.dir);
    if (existing) {
      existing.panel.reveal();
      if (settings) void existing.compute(settings);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(EMBEDDING_MAP_VIEW_TYPE, `Embedding Map: ${runName(run)}`, vscode.ViewColumn.Active, EmbeddingMapPanel.options(ctx));
    const p = new EmbeddingMapPanel(ctx, panel, run, settings ?? EmbeddingMapPanel.defaults(run));
    void p.compute(p.settings);
    return p;
  }

  /** A panel restored after a reload: the run and settings come from the page's saved state. */
  static revive(ctx: Ctx, panel: vscode.WebviewPanel, run: RunInfo, settings: Settings | undefined): void {
    const p = new EmbeddingMapPanel(ctx, panel, run, settings ?? EmbeddingMapPanel.defaults(run));
    if (ctx.isTrusted()) void p.compute(p.settings);
    else p.message = 'Computing the map needs a trusted workspace (it runs the Python worker).';
  }

  static options(ctx: Ctx): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, enableCommandUris: false, retainContextWhenHidden: false, localResourceRoots: [vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist', 'webview')] };
  }

  static defaults(run: RunInfo): Settings {
    return { split: runSplits(run.spec)[0], method: 'pca', pooling: 'mean' };
  }

  private constructor(
    private readonly ctx: Ctx,
    private readonly panel: vscode.WebviewPanel,
    private readonly run: RunInfo,
    private settings: Settings,
  ) {
    EmbeddingMapPanel.open.set(run.dir, this);
    const dist = vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist', 'webview');
    panel.webview.options = EmbeddingMapPanel.options(ctx);
    panel.webview.html = embeddingMapHtml({
      cspSource: panel.webview.cspSource,
      title: `Embedding Map: ${runName(run)}`,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'embeddings.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'embeddings.css')).toString(),
      runId: run.id,
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage(receiveChecked('embedding map', WEBVIEW_MESSAGE, (m) => void this.receive(m), (line) => ctx.log.warn(line))),
    );
  }

  private title(): string {
    const model = this.map ? path.relative(this.run.dir, this.map.model) || this.map.model : this.run.hasModel ? 'model' : 'best';
    return `Embedding map: ${runName(this.run)} (model ${model}/, ${this.run.spec?.task ?? 'unknown task'})`;
  }

  private async post(m: HostMessage): Promise<void> {
    if (this.ready) await this.panel.webview.postMessage(m);
  }

  private async postState(): Promise<void> {
    await this.post({
      type: ToWebview.State,
      runId: this.run.id,
      title: this.title(),
      settings: this.settings,
      splits: runSplits(this.run.spec),
      status: this.status,
      ...(this.message !== undefined ? { message: this.message } : {}),
      ...(this.map ? { map: pageMap(this.map, this.cached, workspaceRoot()) } : {}),
    });
  }

  private async receive(m: WebviewMessage): Promise<void> {
    switch (m.type) {
      case ToHost.Ready:
        this.ready = true;
        await this.postState();
        return;
      case ToHost.Compute:
        await this.compute(m.settings);
        return;
      case ToHost.Cancel:
        this.abort?.abort();
        return;
      case ToHost.Open:
        await this.openPoint(m.point);
        return;
    }
  }

  async compute(settings: Settings): Promise<void> {
    if (this.status === 'running') return;
    if (!requireTrust(this.ctx, 'Computing an embedding map')) return;
    this.settings = settings;
    const python = await pythonFor(this.ctx);
    if (!python.path) {
      this.status = 'error';
      this.message = 'No Python environment for the worker; run "BERT Studio: Set Up Training Environment" first.';
      await this.postState();
      return;
    }
    const controller = new AbortController();
    this.abort = controller;
    this.status = 'running';
    this.message = undefined;
    await this.postState();
    try {
      const what = `${settings.split} split, ${settings.method.toUpperCase()}`;
      const { summary, map } = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Studio: embedding map of ${runName(this.run)} (${what})`, cancellable: true }, (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        return computeEmbeddingMap({
          python: python.path as string,
          run: this.run.dir,
          settings,
          packageRoot: packageRoot(),
          signal: controller.signal,
          onStderr: (line) => {
            this.ctx.workerLog.info(line);
            if (/^(embedding|projecting) /.test(line)) {
              progress.report({ message: line });
              void this.post({ type: ToWebview.Progress, message: line });
            }
          },
        });
      });
      this.map = map;
      this.cached = summary.cached;
      this.status = 'done';
      this.message = undefined;
    } catch (err) {
      if ((err as Error).name === 'AbortError') {
        this.status = this.map ? 'done' : 'idle';
        this.message = 'Cancelled.';
      } else {
        if (!(err instanceof EvaluationError)) this.ctx.log.error(`embedding map ${this.run.id}: ${(err as Error).stack ?? String(err)}`);
        this.status = 'error';
        this.message = (err as Error).message;
      }
    } finally {
      if (this.abort === controller) this.abort = undefined;
    }
    await this.postState();
  }

  private async openPoint(position: number): Promise<void> {
    const point = this.map?.points[position];
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    if (!point || !folders.length) return;
    const check = checkSource(point.source, { workspaces: folders, dataSources: runDataSources(this.run.spec, this.ctx.layout()?.datasetsDir), base: folders[0] as string });
    if (!check.ok) {
      this.ctx.log.warn(`embedding map: not opening example source: ${check.reason}`);
      void vscode.window.showWarningMessage(`BERT Studio: cannot open the example's source: ${check.reason}.`);
      return;
    }
    const pos = new vscode.Position(check.line - 1, 0);
    // Beside the map, keeping the focus in it, so that the next example opens in the same place.
    await vscode.window.showTextDocument(vscode.Uri.file(check.file), { selection: new vscode.Range(pos, pos), preview: true, viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
  }

  private dispose(): void {
    this.abort?.abort();
    EmbeddingMapPanel.open.delete(this.run.dir);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** The run and settings a restored page saved (its vscode.setState), if they still name a run here. */
function savedRun(store: RunStore | undefined, state: unknown): { run: RunInfo; settings?: Settings } | undefined {
  if (!store || !isRecord(state) || typeof state.runId !== 'string') return undefined;
  try {
    const run = store.get(state.runId);
    if (!run.spec) return undefined;
    const s = state.settings;
    return { run, ...(SETTINGS(s) && runSplits(run.spec).includes(s.split) ? { settings: s } : {}) };
  } catch {
    return undefined; // an id that is not a run id any more
  }
}

export function registerEmbeddingMap(ctx: Ctx): void {
  const store = (): RunStore | undefined => {
    const layout = ctx.layout();
    return layout ? new RunStore(layout.runsDir) : undefined;
  };
  ctx.push(vscode.commands.registerCommand('bertStudio.showEmbeddingMap', async (arg?: unknown) => {
    if (!requireTrust(ctx, 'Computing an embedding map')) return;
    const run = await pickRun(store(), arg, (r) => r.hasModel && fits(r), 'map the embeddings of');
    if (!run) return;
    if (!run.spec || !fits(run)) {
      void vscode.window.showWarningMessage(`BERT Studio: the embedding map colours examples by label: pick a classification or NER run (${runName(run)} is ${run.spec?.task ?? 'not a training run'}).`);
      return;
    }
    if (!run.hasModel && !fs.existsSync(path.join(run.dir, 'best', 'config.json'))) {
      void vscode.window.showWarningMessage(`BERT Studio: ${runName(run)} has no trained model yet (no model/ or best/); finish or resume its training first.`);
      return;
    }
    EmbeddingMapPanel.show(ctx, run);
  }));
  ctx.push(vscode.window.registerWebviewPanelSerializer(EMBEDDING_MAP_VIEW_TYPE, {
    deserializeWebviewPanel: async (panel, state) => {
      const saved = savedRun(store(), state);
      if (!saved) {
        panel.dispose();
        return;
      }
      EmbeddingMapPanel.revive(ctx, panel, saved.run, saved.settings);
    },
  }));
}
