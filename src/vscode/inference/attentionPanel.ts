import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CJK_FONT_FALLBACK, WEBVIEW_MESSAGE, type AttentionSet, type HostMessage, type WebviewMessage } from '../../../webview/attention/protocol';
import type { InferenceTask } from '../../core/inference/types';
import type { Ctx } from '../ctx';
import type { EngineHost } from './engineHost';
import type { ActiveModels } from './models';
import { InferencePanel } from './panel';

/** Up to 256 tokens: the viewer stays readable (a 256×256 heatmap at 3 px a cell). */
export const MAX_ATTENTION_TOKENS = 256;
const TASK_ORDER: InferenceTask[] = ['fill-mask', 'token-classification', 'sequence-classification', 'question-answering'];

/** "Show Attention for Selection": the attention viewer, with a second model to compare. */
export class AttentionPanel extends InferencePanel {
  private last: HostMessage | undefined;
  private text = '';
  private models: string[] = [];

  constructor(
    ctx: Ctx,
    private readonly engines: EngineHost,
    private readonly active: ActiveModels,
  ) {
    super(ctx);
  }

  async showForSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty) return;
    const model = TASK_ORDER.map((t) => this.active.get(t)).find((m): m is string => !!m) ?? (await this.active.require('fill-mask'));
    if (!model) return;
    this.text = editor.document.getText(editor.selection);
    this.models = [model];
    this.open();
    await this.compute();
  }

  private open(): void {
    if (this.panel) {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    this.create('bertStudio.attentionPanel', 'Attention', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, 'attention', CSS, WEBVIEW_MESSAGE, (m) => void this.receive(m));
  }

  private post(m: HostMessage): void {
    this.last = m;
    if (this.ready) void this.panel?.webview.postMessage(m);
  }

  private async compute(): Promise<void> {
    const controller = this.nextRequest();
    try {
      const engine = await this.engines.get();
      const sets: AttentionSet[] = [];
      for (const model of this.models) {
        const maps = await engine.attention(model, this.text, { signal: controller.signal, maxTokens: MAX_ATTENTION_TOKENS });
        sets.push({ model: path.basename(model), tokens: maps.labels, layers: maps.layers, heads: maps.heads, data: maps.data });
      }
      if (sets.length === 2 && (sets[0].tokens.join('\u0001') !== sets[1].tokens.join('\u0001') || sets[0].layers !== sets[1].layers || sets[0].heads !== sets[1].heads)) {
        throw new Error('The two models tokenize the text differently or have different shapes: no diff possible.');
      }
      if (!controller.signal.aborted) this.post({ type: 'show', text: this.text, sets });
    } catch (err) {
      if (!controller.signal.aborted) this.post({ type: 'error', message: (err as Error).message });
    }
  }

  private async receive(m: WebviewMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        if (this.last) void this.panel?.webview.postMessage(this.last);
        return;
      case 'compare': {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Compare', title: 'Second model (an export with model_attentions.onnx)' });
        if (!picked?.[0] || !this.models[0]) return;
        this.models = [this.models[0], picked[0].fsPath];
        await this.compute();
        return;
      }
      case 'export': {
        const ext = m.format;
        const base = this.ctx.layout()?.root ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
        const target = await vscode.window.showSaveDialog({
          defaultUri: base ? vscode.Uri.file(path.join(base, `${m.name}.${ext}`)) : undefined,
          filters: ext === 'png' ? { 'PNG image': ['png'] } : { 'SVG image': ['svg'] },
        });
        if (!target) return;
        const bytes = ext === 'png' ? Buffer.from(m.data.slice('data:image/png;base64,'.length), 'base64') : Buffer.from(m.data, 'utf8');
        await fs.writeFile(target.fsPath, bytes);
        void vscode.window.showInformationMessage(`BERT Studio: saved ${path.basename(target.fsPath)}.`);
        return;
      }
    }
  }
}

const CSS = `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 8px 12px; }
.bar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
button, select { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 3px 8px; }
select { color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); }
button.on { box-shadow: inset 0 -2px 0 var(--vscode-button-foreground); }
button:focus-visible, select:focus-visible, .cell:focus-visible, .heatmap:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
.grid { display: flex; flex-direction: column; gap: 6px; }
.layer { display: flex; align-items: flex-start; gap: 6px; }
.layer-name { flex: none; width: 2.2em; padding-top: 20px; font-size: 11px; color: var(--vscode-descriptionForeground); text-align: right; }
.layer-heads { display: flex; flex-wrap: wrap; gap: 4px; min-width: 0; }
.cell { display: flex; flex-direction: column; align-items: center; width: 60px; font-size: 10px; cursor: pointer; }
.cell canvas { border: 1px solid var(--vscode-panel-border, var(--vscode-contrastBorder, transparent)); image-rendering: pixelated; }
.cell.sel canvas { outline: 2px solid var(--vscode-focusBorder); }
.heat { image-rendering: pixelated; }
.heatmap { display: grid; margin-top: 6px; width: max-content; }
.hm-rows, .hm-cols { position: relative; font-size: 11px; line-height: 1; font-family: var(--vscode-editor-font-family), ${CJK_FONT_FALLBACK}; color: var(--vscode-foreground); }
.hm-label { position: absolute; white-space: pre; padding: 1px; }
.hm-rows .hm-label { right: 4px; transform: translateY(-50%); }
.hm-cols .hm-label { bottom: 4px; writing-mode: vertical-rl; transform: translateX(-50%); }
.hm-label.hi { background: var(--vscode-editor-selectionBackground); outline: 1px solid var(--vscode-contrastActiveBorder, transparent); }
.tip { position: fixed; pointer-events: none; background: var(--vscode-editorHoverWidget-background); border: 1px solid var(--vscode-editorHoverWidget-border);
  padding: 2px 6px; font-family: var(--vscode-editor-font-family); font-size: 12px; display: none; }
.heads { position: relative; display: flex; justify-content: space-between; width: 420px; }
.col { display: flex; flex-direction: column; z-index: 1; }
.col span { height: 16px; line-height: 16px; font-family: var(--vscode-editor-font-family), ${CJK_FONT_FALLBACK}; font-size: 12px; padding: 0 4px; cursor: default; white-space: pre; }
.col span.hi { background: var(--vscode-editor-selectionBackground); }
.lines { position: absolute; left: 0; top: 0; }
.err { color: var(--vscode-errorForeground); }
.meta { opacity: .75; font-size: 90%; }
`;
