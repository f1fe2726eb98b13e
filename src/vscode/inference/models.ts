import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveModelFolder } from '../../core/inference/folder';
import type { InferenceTask } from '../../core/inference/types';
import type { Ctx } from '../ctx';
import type { EngineHost } from './engineHost';

const KEY = 'bertStudio.inference.activeModels';
const TASK_NAMES: Record<InferenceTask, string> = {
  'fill-mask': 'fill-mask',
  'sequence-classification': 'classification',
  'token-classification': 'named-entity',
  'question-answering': 'question-answering',
};

/** The model used for each task, kept in workspaceState. */
export class ActiveModels {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly ctx: Ctx,
    private readonly engines: EngineHost,
  ) {}

  private all(): Partial<Record<InferenceTask, string>> {
    return this.ctx.extension.workspaceState.get<Partial<Record<InferenceTask, string>>>(KEY) ?? {};
  }

  get(task: InferenceTask): string | undefined {
    return this.all()[task];
  }

  /** The model for `task`, asking for a folder when none is set. */
  async require(task: InferenceTask): Promise<string | undefined> {
    const current = this.get(task);
    if (current) return current;
    const choice = await vscode.window.showInformationMessage(`BERT Studio: choose a ${TASK_NAMES[task]} model (a run or a folder with model.onnx).`, 'Choose Model…');
    if (choice !== 'Choose Model…') return undefined;
    const set = await this.use(undefined);
    return set === task ? this.get(task) : undefined;
  }

  /** bertStudio.useModel: a folder (string, Uri, or a tree item with one), else an open dialog. */
  async use(arg: unknown): Promise<InferenceTask | undefined> {
    let folder = folderOf(arg);
    if (!folder) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        openLabel: 'Use Model',
        title: 'Model folder: a training run, or a folder with model.onnx, config.json and tokenizer.json',
        defaultUri: this.ctx.layout() ? vscode.Uri.file(this.ctx.layout()!.runsDir) : undefined,
      });
      folder = picked?.[0]?.fsPath;
    }
    if (!folder) return undefined;
    try {
      resolveModelFolder(folder);
      const engine = await this.engines.get();
      const info = await engine.info(folder);
      await this.ctx.extension.workspaceState.update(KEY, { ...this.all(), [info.task]: folder });
      this.changed.fire();
      void vscode.window.showInformationMessage(`BERT Studio: using ${path.basename(folder)} as the ${TASK_NAMES[info.task]} model (${info.provider}).`);
      return info.task;
    } catch (err) {
      void vscode.window.showErrorMessage(`BERT Studio: ${(err as Error).message}`);
      return undefined;
    }
  }
}

function folderOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'object' && arg !== null) {
    const o = arg as Record<string, unknown>;
    for (const k of ['folder', 'path', 'dir', 'modelDir']) if (typeof o[k] === 'string') return o[k];
    if (o.resourceUri instanceof vscode.Uri) return o.resourceUri.fsPath;
  }
  return undefined;
}
