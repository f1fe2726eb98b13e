import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CJK_FONT_FALLBACK, MAX_ATTENTION_TOKENS, WEBVIEW_MESSAGE, type AttentionSet, type AttributionsMessage, type AttributionStateMessage, type ErrorMessage, type Explain, type HostMessage, type ShowMessage, type WebviewMessage } from '../../../webview/attention/protocol';
import { attributionProblem, attributionSummary, placeAttributions } from '../../core/inference/attentionAttributions';
import { AttributionError, type Attributions, type AttributionService } from '../../core/inference/attributions';
import { modelDisplayName } from '../../core/inference/modelName';
import type { Span } from '../../core/inference/offsets';
import type { InferenceTask } from '../../core/inference/types';
import type { Ctx } from '../ctx';
import type { EngineHost } from './engineHost';
import type { ActiveModels } from './models';
import { InferencePanel } from './panel';

const TASK_ORDER: InferenceTask[] = ['fill-mask', 'token-classification', 'sequence-classification', 'question-answering'];

/**
 * "Show Attention for Selection": the attention viewer, with a second model to compare and, for a
 * sequence classifier, an Attributions column (Integrated Gradients of the predicted or a chosen
 * label, computed on demand through the editor's AttributionService: the same worker and cache);
 * for a token classifier, of a predicted entity's tag logits (the entities the engine finds in the text).
 */
export class AttentionPanel extends InferencePanel {
  /** What a reloaded page is sent again: the maps, then the attributions shown beside them. */
  private shown: ShowMessage | ErrorMessage | undefined;
  private attributed: AttributionsMessage | undefined;
  private text = '';
  private models: string[] = [];
  /** The first model's token spans (UTF-16, null for special tokens): where attributions are placed. */
  private spans: readonly (Span | null)[] = [];
  private explain: Explain | undefined;
  private attributing: AbortController | undefined;

  constructor(
    ctx: Ctx,
    private readonly engines: EngineHost,
    private readonly active: ActiveModels,
    private readonly attributions: AttributionService,
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
    this.attributing?.abort();
    this.attributed = undefined;
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
    if (m.type === 'show' || m.type === 'error') this.shown = m;
    if (m.type === 'attributions') this.attributed = m;
    if (this.ready) void this.panel?.webview.postMessage(m);
  }

  protected override closed(): void {
    this.attributing?.abort();
    super.closed();
  }

  private async compute(): Promise<void> {
    const controller = this.nextRequest();
    try {
      const engine = await this.engines.get();
      const sets: AttentionSet[] = [];
      for (const model of this.models) {
        const maps = await engine.attention(model, this.text, { signal: controller.signal, maxTokens: MAX_ATTENTION_TOKENS });
        if (!sets.length) this.spans = maps.spans;
        sets.push({ model: path.basename(model), tokens: maps.labels, layers: maps.layers, heads: maps.heads, data: maps.data });
      }
      const info = await engine.info(this.models[0], { signal: controller.signal });
      const first = this.models[0];
      const explained = info.task === 'sequence-classification' || info.task === 'token-classification';
      const problem = explained ? attributionProblem(first) : undefined;
      const entities = info.task === 'token-classification' && !problem
        ? (await engine.tokenClassify(first, this.text, { signal: controller.signal })).map((e) => ({ label: e.type, text: e.text, start: e.start, end: e.end }))
        : undefined;
      this.explain = explained ? { model: modelDisplayName(first), labels: [...info.labels], ...(entities ? { entities } : {}), ...(problem ? { problem } : {}) } : undefined;
      if (sets.length === 2 && (sets[0].tokens.join('\u0001') !== sets[1].tokens.join('\u0001') || sets[0].layers !== sets[1].layers || sets[0].heads !== sets[1].heads)) {
        throw new Error('The two models tokenize the text differently or have different shapes: no diff possible.');
      }
      if (controller.signal.aborted) return;
      this.attributed = undefined;
      this.post({ type: 'show', text: this.text, sets, ...(this.explain ? { explain: this.explain } : {}) });
      // Explained before (in the editor, or here): shown at once, from the cache.
      const cached = this.explain && !this.explain.problem ? this.attributions.cached(first, this.request(undefined, 0)) : undefined;
      if (cached) this.showAttributions(cached, false, true);
    } catch (err) {
      if (!controller.signal.aborted) this.post({ type: 'error', message: (err as Error).message });
    }
  }

  private async receive(m: WebviewMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        for (const m of [this.shown, this.shown?.type === 'show' ? this.attributed : undefined]) if (m) void this.panel?.webview.postMessage(m);
        return;
      case 'attribute':
        await this.attribute(m.target, m.entity);
        return;
      case 'cancelAttribution':
        this.attributing?.abort();
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

  /**
   * What the column asks the worker: a classifier's `target` label (else the predicted one); a token
   * classifier's entity `entity` of explain.entities (its characters).
   */
  private request(target: string | undefined, entity: number | undefined): { text: string; target?: string; span?: [number, number] } {
    const e = this.explain?.entities?.[entity ?? 0];
    if (this.explain?.entities) return { text: this.text, ...(e ? { span: [e.start, e.end] as [number, number] } : {}) };
    return { text: this.text, ...(target ? { target } : {}) };
  }

  /** The Attributions column: Integrated Gradients of `target` (else the predicted label), or of an entity, on the first model, cancellable. */
  private async attribute(target: string | undefined, entity: number | undefined): Promise<void> {
    const model = this.models[0];
    if (!model || !this.explain || this.explain.problem) return;
    this.attributing?.abort();
    const controller = new AbortController();
    this.attributing = controller;
    const text = this.text;
    const state = (s: AttributionStateMessage): void => {
      if (this.attributing === controller) this.post(s);
    };
    state({ type: 'attributionState', state: 'running' });
    try {
      const req = this.request(target, entity);
      const cached = this.attributions.cached(model, req);
      const result = cached ?? (await this.attributions.attribute(model, { ...req, signal: controller.signal }));
      if (this.attributing !== controller || this.text !== text) return;
      this.showAttributions(result, !!target || !!entity, !!cached);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return state({ type: 'attributionState', state: 'cancelled' });
      if (!(err instanceof AttributionError)) this.ctx.log.error(`attention: attributions failed: ${(err as Error).stack ?? String(err)}`);
      state({ type: 'attributionState', state: 'failed', message: (err as Error).message });
    } finally {
      if (this.attributing === controller) this.attributing = undefined;
    }
  }

  private showAttributions(result: Attributions, chosen: boolean, cached: boolean): void {
    const placed = placeAttributions(this.spans, result.tokens);
    this.post({ type: 'attributions', model: this.explain?.model ?? modelDisplayName(this.models[0]), chosen, cached, ...(result.target ? { target: result.target.text } : {}), ...attributionSummary(result, placed) });
  }
}

const CSS = `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 8px 12px; }
.bar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
button, select { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); padding: 3px 8px; }
button:hover { background: var(--vscode-button-hoverBackground); }
select { color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border-color: var(--vscode-dropdown-border, transparent); }
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
.row { display: flex; gap: 16px; align-items: flex-start; }
.row > :first-child { flex: 1 1 auto; min-width: 0; }
.attr { flex: 0 0 auto; min-width: 180px; max-width: 40%; border-left: 1px solid var(--vscode-panel-border); padding-left: 10px; }
.attr-head { font-weight: 600; margin-bottom: 4px; }
.attr-caption { margin: 6px 0 2px; }
.attr-tokens { display: flex; flex-direction: column; align-items: flex-start; margin-top: 6px; }
.attr-tokens span { height: 16px; line-height: 16px; font-family: var(--vscode-editor-font-family), ${CJK_FONT_FALLBACK}; font-size: 12px; padding: 0 4px; white-space: pre; border-radius: 2px; border: 1px solid transparent; cursor: default; }
.vscode-high-contrast .attr-tokens span.pos, .vscode-high-contrast-light .attr-tokens span.pos { border: 1px solid var(--vscode-contrastBorder); }
.vscode-high-contrast .attr-tokens span.neg, .vscode-high-contrast-light .attr-tokens span.neg { border: 1px dashed var(--vscode-contrastBorder); }
`;
