import * as vscode from 'vscode';
import { WEBVIEW_MESSAGE, type HostMessage, type WebviewMessage } from '../../../webview/fillMask/protocol';
import { maskSelection } from '../../core/inference/fillMaskWords';
import { MASK_SPELLINGS } from '../../core/inference/tokenizerInfo';
import type { Ctx } from '../ctx';
import { withInferenceProgress, type EngineHost } from './engineHost';
import type { ActiveModels } from './models';
import { InferencePanel } from './panel';

/** Written in place of a selected word; the engine reads it as the model's own mask token ("<mask>" for RoBERTa). */
const MASK = '[MASK]';
const OPEN_PANEL = 'Open Fill-Mask Panel';

/**
 * "Fill Mask at Selection": a selection containing a mask ([MASK] or <mask>, whichever the model
 * uses; the other spelling is read as the model's) is filled in place; otherwise the
 * selected word is masked within its line, one mask per token of the word (a Chinese word of two
 * characters gets two, filled jointly as one word), and replaced by the chosen completion.
 */
export async function fillMaskAtSelection(ctx: Ctx, engines: EngineHost, models: ActiveModels, panel: () => FillMaskPanel): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('BERT Studio: select text containing [MASK] (or <mask>), or a word to mask, then run Fill Mask at Selection.');
    return;
  }
  const model = await models.require('fill-mask');
  if (!model) return;
  const doc = editor.document;
  const sel = editor.selection;
  const selected = doc.getText(sel);
  let input: string;
  let inputAt: number; // document offset of input's first character
  let maskEnd: number | undefined; // document offset where the masked text ends (a masked word: its end)
  let word: [number, number] | undefined; // the selected word's columns in its line, to be masked
  if (MASK_SPELLINGS.some((m) => selected.includes(m))) {
    input = selected;
    inputAt = doc.offsetAt(sel.start);
  } else {
    const line = doc.lineAt(sel.start.line);
    const end = sel.end.line === sel.start.line ? sel.end.character : line.range.end.character;
    input = line.text;
    inputAt = doc.offsetAt(line.range.start);
    maskEnd = doc.offsetAt(new vscode.Position(sel.start.line, end));
    word = [sel.start.character, end];
  }
  const result = await withInferenceProgress('BERT Studio: filling the mask…', async (signal) => {
    const engine = await engines.get();
    // The selected word masked by as many masks as it has tokens (a two-character Chinese word: two),
    // so that the model predicts a whole word, ranked jointly.
    if (word) input = maskSelection(input, word[0], word[1], (await engine.encode(model, input.slice(word[0], word[1]))).spans.filter((s) => s !== null).length, MASK);
    return engine.fillMask(model, input, 10, { signal });
  });
  if (!result) return;
  const end = doc.positionAt(maskEnd ?? inputAt + result.maskSpan[1]);
  type Item = vscode.QuickPickItem & { fill?: string; from?: number };
  const items: Item[] = result.candidates.map((c) => ({
    label: c.text,
    description: `${(c.probability * 100).toFixed(1)}%${c.tokens && c.tokens.length > 1 ? `  ·  ${c.tokens.join(' · ')}` : ''}`,
    detail: c.sequence.length > 160 ? `${c.sequence.slice(0, 157)}…` : c.sequence,
    fill: c.text,
    // The edit matches c.sequence: a piece that continues the word before also takes the space before the mask.
    from: inputAt + c.sequence.length - c.text.length - (input.length - result.maskSpan[1]),
  }));
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: `$(preview) ${OPEN_PANEL}` });
  const title = result.masks ? `Fill ${result.masks} × ${result.maskToken} as one word — ${result.candidates.length} words ranked jointly${result.exact === false ? ' (approximate)' : ''}` : `Fill ${result.maskToken} — ${result.candidates.length} completions`;
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: result.note, matchOnDetail: true });
  if (!pick) return;
  if (pick.fill === undefined || pick.from === undefined) {
    panel().show(input);
    return;
  }
  const fill = pick.fill;
  const range = new vscode.Range(doc.positionAt(pick.from), end);
  const ok = await editor.edit((b) => b.replace(range, fill));
  if (!ok) ctx.log.warn('fill-mask: the editor refused the edit (document changed?)');
}

/** A panel that fills the mask as the user types (debounced in the webview; stale requests aborted here). */
export class FillMaskPanel extends InferencePanel {
  private pendingText = 'The capital of France is [MASK].';

  constructor(
    ctx: Ctx,
    private readonly engines: EngineHost,
    private readonly models: ActiveModels,
  ) {
    super(ctx);
  }

  show(text?: string): void {
    if (text !== undefined) this.pendingText = text;
    if (this.panel) {
      this.panel.reveal();
      this.sendModel();
      return;
    }
    this.create('bertStudio.fillMaskPanel', 'Fill Mask', vscode.ViewColumn.Beside, 'fillMask', CSS, WEBVIEW_MESSAGE, (m) => this.receive(m), this.models.onDidChange(() => this.sendModel()));
  }

  private post(m: HostMessage): void {
    void this.panel?.webview.postMessage(m);
  }

  private sendModel(): void {
    if (!this.ready) return;
    const model = this.models.get('fill-mask');
    this.post({ type: 'model', name: model ?? null, text: this.pendingText });
  }

  private receive(m: WebviewMessage): void {
    if (m.type === 'ready') {
      this.ready = true;
      this.sendModel();
      return;
    }
    this.pendingText = m.text;
    const controller = this.nextRequest();
    void this.query(m.id, m.text, m.topK, controller.signal);
  }

  private async query(id: number, text: string, topK: number, signal: AbortSignal): Promise<void> {
    const model = this.models.get('fill-mask');
    if (!model) {
      this.post({ type: 'error', id, message: 'No fill-mask model: run "BERT Studio: Use Model for Inference" on a masked-LM export.' });
      return;
    }
    const started = Date.now();
    try {
      const engine = await this.engines.get();
      const r = await engine.fillMask(model, text, topK, { signal });
      if (!signal.aborted) this.post({ type: 'result', id, ms: Date.now() - started, masks: r.masks ?? 1, exact: r.exact ?? true, candidates: r.candidates.map(({ token, text: t, probability, sequence, tokens }) => ({ token, text: t, probability, sequence, pieces: tokens ? [...tokens] : [token] })) });
    } catch (err) {
      if (!signal.aborted) this.post({ type: 'error', id, message: (err as Error).message });
    }
  }
}

const CSS = `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 12px; }
textarea { width: 100%; min-height: 6em; box-sizing: border-box; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size);
  color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); }
input[type=number] { width: 4.5em; padding: 2px 4px; font-family: var(--vscode-font-family); color: var(--vscode-input-foreground);
  background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); }
textarea:focus, input:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.row { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
.meta { opacity: .75; font-size: 90%; }
ol { padding-left: 1.5em; }
li { margin: 4px 0; }
.bar { display: inline-block; height: .7em; background: var(--vscode-charts-blue); margin-right: 6px; vertical-align: middle; }
.tok { font-family: var(--vscode-editor-font-family); font-weight: 600; }
.seq { opacity: .8; font-size: 90%; }
.err { color: var(--vscode-errorForeground); }
`;
