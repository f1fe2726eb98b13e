import * as vscode from 'vscode';
import { attributionTints, type Attributions, type AttributionService, TINT_LEVELS } from '../../core/inference/attributions';
import { MAX_CHUNK_CHARS, textChunks } from '../../core/inference/chunks';
import { entitySummary, modelDisplayName } from '../../core/inference/modelName';
import type { InferenceTask } from '../../core/inference/types';
import { attributionQuantity, tintColour } from '../../shared/attributionTints';
import type { Ctx } from '../ctx';
import { withInferenceProgress, type EngineHost } from './engineHost';
import type { ActiveModels } from './models';

const PALETTE = ['charts.blue', 'charts.orange', 'charts.green', 'charts.purple', 'charts.red', 'charts.yellow'];
const MAX_LINES = 2000;

export class Annotations implements vscode.Disposable {
  private readonly entityTypes = new Map<string, vscode.TextEditorDecorationType>();
  private readonly labelTypes = new Map<string, vscode.TextEditorDecorationType>();
  private readonly answerType = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.findMatchHighlightBackground'),
    border: '1px solid',
    borderColor: new vscode.ThemeColor('charts.green'),
  });
  /** The entity (or words) a token classifier's attributions explain. */
  private readonly explainedType = vscode.window.createTextEditorDecorationType({
    border: '1px dotted',
    borderColor: new vscode.ThemeColor('focusBorder'),
    borderRadius: '2px',
  });

  /** Token attribution tints: index 0..4 toward the label (green), 5..9 against it (red), by strength. */
  private tints: vscode.TextEditorDecorationType[] | undefined;
  /** What the annotations of the active editor came from: stays until cleared or another editor is shown. */
  private readonly status = vscode.window.createStatusBarItem('bertStudio.annotations', vscode.StatusBarAlignment.Left, 40);
  private readonly annotated = new Map<string, { text: string; tooltip: vscode.MarkdownString }>();
  /** Per document: the decorations set on it, by type. */
  private readonly applied = new Map<string, Map<vscode.TextEditorDecorationType, readonly vscode.DecorationOptions[]>>();
  private readonly watch: vscode.Disposable;

  constructor(
    private readonly ctx: Ctx,
    private readonly engines: EngineHost,
    private readonly models: ActiveModels,
    /** Shared with the attention viewer: one worker per model, one cache. */
    private readonly attributions: AttributionService,
  ) {
    this.status.name = 'BERT Studio annotations';
    this.status.command = 'bertStudio.clearAnnotations';
    this.watch = vscode.window.onDidChangeActiveTextEditor((e) => this.showStatus(e));
  }

  /**
   * Sets decorations and remembers them per document: an editor closed and opened again (a preview
   * tab replaced, say) is a new editor without them, and gets them back with its status entry.
   */
  private decorate(editor: vscode.TextEditor, type: vscode.TextEditorDecorationType, options: readonly vscode.DecorationOptions[]): void {
    editor.setDecorations(type, options);
    const uri = editor.document.uri.toString();
    const applied = this.applied.get(uri) ?? this.applied.set(uri, new Map()).get(uri);
    if (options.length) applied?.set(type, options);
    else applied?.delete(type);
  }

  /** The status bar entry for `editor`'s annotations (hidden when it has none), and its decorations again. */
  private showStatus(editor: vscode.TextEditor | undefined): void {
    const shown = editor && this.annotated.get(editor.document.uri.toString());
    if (!shown) return this.status.hide();
    for (const [type, options] of this.applied.get(editor.document.uri.toString()) ?? []) editor.setDecorations(type, options);
    this.status.text = shown.text;
    this.status.tooltip = shown.tooltip;
    this.status.show();
  }

  private remember(editor: vscode.TextEditor, text: string, tooltip: vscode.MarkdownString): void {
    tooltip.appendMarkdown('\n\n*Click to clear the annotations.*');
    this.annotated.set(editor.document.uri.toString(), { text, tooltip });
    this.showStatus(editor);
  }

  /** Theme-aware tints: translucent green/red that read on light and dark themes, plus the high-contrast border. */
  private tintTypes(): vscode.TextEditorDecorationType[] {
    this.tints ??= [1, -1].flatMap((sign) =>
      Array.from({ length: TINT_LEVELS }, (_, i) => {
        return vscode.window.createTextEditorDecorationType({
          light: { backgroundColor: tintColour(sign * (i + 1), 'light') },
          dark: { backgroundColor: tintColour(sign * (i + 1), 'dark') },
          // Visible only in high-contrast themes, where contrastBorder is set.
          border: `1px ${sign > 0 ? 'solid' : 'dashed'}`,
          borderColor: new vscode.ThemeColor('contrastBorder'),
          borderRadius: '2px',
        });
      }),
    );
    return this.tints;
  }

  /**
   * bertStudio.explainSelection: Integrated Gradients, tinted per token with the value on hover. A
   * sequence classifier explains its label on the selection (two selections for a pair classifier);
   * a token classifier explains the predicted entity at the selection or the cursor (else the word
   * there), over the paragraph around it.
   */
  async explainSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const model = await this.explainedModel();
    if (!model) return;
    if (model.task === 'token-classification') return this.explainEntity(editor, model.folder);
    const selected = editor.selections.filter((s) => !s.isEmpty);
    if (selected.length === 0) {
      void vscode.window.showInformationMessage('BERT Studio: select the text to explain (two ranges for a sentence-pair model).');
      return;
    }
    const doc = editor.document;
    const [first, second] = selected;
    const text = doc.getText(first).slice(0, MAX_CHUNK_CHARS);
    const pair = second ? doc.getText(second).slice(0, MAX_CHUNK_CHARS) : undefined;
    const name = modelDisplayName(model.folder);
    const result = await withInferenceProgress(`BERT Studio: explaining the prediction of ${name}…`, (signal) => this.attributions.attribute(model.folder, { text, pair, signal }));
    if (!result) return;
    this.tintAttributions(editor, result, name, (segment) => doc.offsetAt((segment === 0 ? first : second).start));
    this.decorate(editor, this.explainedType, []);
    const legend = new vscode.MarkdownString(`**Attributions** (Integrated Gradients, ${result.steps} steps) by ${name}\n\n`);
    legend.appendMarkdown(`- prediction: ${result.label} ${(result.probability * 100).toFixed(1)}% (${(result.baseline_probability * 100).toFixed(1)}% on the padding baseline)\n`);
    legend.appendMarkdown('- green raises the probability of the label, red lowers it; the deeper, the stronger\n');
    this.finishLegend(legend, result);
    this.remember(editor, `$(symbol-color) ${result.label} ${(result.probability * 100).toFixed(0)}%: attributions`, legend);
  }

  /**
   * The model Explain uses: the active classification or named-entity model (asked when both are
   * set); another task's model is refused by name, with what works.
   */
  private async explainedModel(): Promise<{ task: InferenceTask; folder: string } | undefined> {
    const explained: InferenceTask[] = ['sequence-classification', 'token-classification'];
    const active = explained.flatMap((task) => {
      const folder = this.models.get(task);
      return folder ? [{ task, folder }] : [];
    });
    if (active.length === 2) {
      const pick = await vscode.window.showQuickPick(
        active.map((m) => ({ label: modelDisplayName(m.folder), description: m.task === 'token-classification' ? 'named entities: explains the entity at the cursor' : 'classification: explains the label of the selection', model: m })),
        { title: 'Explain with which model?' },
      );
      return pick?.model;
    }
    if (active.length === 1) return active[0];
    const other = (['question-answering', 'fill-mask'] as const).find((t) => this.models.get(t));
    const why = other ? `the active ${other} model (${modelDisplayName(this.models.get(other)!)}) cannot be explained yet: ` : '';
    const choice = await vscode.window.showInformationMessage(`BERT Studio: ${why}choose a classification or named-entity model to explain (a training run: attributions need its PyTorch weights). A classifier explains its label on the selection, a named-entity model the entity at the cursor.`, 'Choose Model…');
    if (choice !== 'Choose Model…') return undefined;
    const task = await this.models.use(undefined);
    if (!task) return undefined;
    if (!explained.includes(task)) {
      void vscode.window.showInformationMessage(`BERT Studio: that is a ${task} model, which attributions cannot explain yet; it is in use for its own commands. Explain works with a classification or named-entity model.`);
      return undefined;
    }
    return { task, folder: this.models.get(task)! };
  }

  /**
   * A token classifier: the entity at the selection (or the cursor; else the word there) in its
   * paragraph, the attributions of its predicted tags' logits over the paragraph's tokens.
   */
  private async explainEntity(editor: vscode.TextEditor, folder: string): Promise<void> {
    const doc = editor.document;
    const [from, to] = [doc.offsetAt(editor.selection.start), doc.offsetAt(editor.selection.end)];
    // The paragraph Annotate Entities would read around it.
    const chunk = textChunks(doc.getText()).find((c) => c.offset <= from && from <= c.offset + c.text.length);
    if (!chunk) {
      void vscode.window.showInformationMessage('BERT Studio: put the cursor on a word, or select an entity, to explain what the named-entity model predicts there.');
      return;
    }
    const span: [number, number] = [from - chunk.offset, Math.min(to, chunk.offset + chunk.text.length) - chunk.offset];
    const name = modelDisplayName(folder);
    const result = await withInferenceProgress(`BERT Studio: explaining the entity predicted by ${name}…`, (signal) => this.attributions.attribute(folder, { text: chunk.text, span, signal }));
    if (!result?.target) return;
    const target = result.target;
    this.tintAttributions(editor, result, name, () => chunk.offset);
    const range = new vscode.Range(doc.positionAt(chunk.offset + target.start), doc.positionAt(chunk.offset + target.end));
    this.decorate(editor, this.explainedType, [{ range }]);
    const what = target.entity ? `the entity "${target.text}" (${result.label})` : `"${target.text}", outside every predicted entity (${target.tags.join(' ')})`;
    const legend = new vscode.MarkdownString(`**Attributions** (Integrated Gradients, ${result.steps} steps) by ${name}\n\n`);
    legend.appendMarkdown(`- explained: ${what}, tags ${target.tags.join(' ')} at ${(result.probability * 100).toFixed(1)}% on average\n`);
    legend.appendMarkdown(`- the quantity: the sum of those tags' logits, ${(result.value ?? 0).toFixed(3)} (${(result.baseline_value ?? 0).toFixed(3)} on the padding baseline), over the paragraph's tokens\n`);
    legend.appendMarkdown('- green raises the logits, red lowers them; the deeper, the stronger\n');
    this.finishLegend(legend, result);
    this.remember(editor, `$(symbol-color) ${result.label} "${target.text.slice(0, 30)}": attributions`, legend);
  }

  /** Tints each token (`base(segment)`: where its text starts in the document) with the value on hover. */
  private tintAttributions(editor: vscode.TextEditor, result: Attributions, name: string, base: (segment: number) => number): void {
    const doc = editor.document;
    const quantity = attributionQuantity(result.label, result.target?.text);
    const byType = new Map<number, vscode.DecorationOptions[]>();
    for (const { token, level } of attributionTints(result.tokens)) {
      if (level === 0) continue;
      const at = base(token.segment);
      const range = new vscode.Range(doc.positionAt(at + token.start), doc.positionAt(at + token.end));
      const hover = new vscode.MarkdownString();
      hover.appendText(`${token.attribution >= 0 ? '+' : '−'}${Math.abs(token.attribution).toFixed(4)} to ${quantity} · "${token.token}" · ${name}`);
      const index = level > 0 ? level - 1 : TINT_LEVELS - level - 1;
      (byType.get(index) ?? byType.set(index, []).get(index))?.push({ range, hoverMessage: hover });
    }
    this.tintTypes().forEach((t, i) => this.decorate(editor, t, byType.get(i) ?? []));
  }

  private finishLegend(legend: vscode.MarkdownString, result: Attributions): void {
    legend.appendMarkdown(`- completeness: the attributions sum to ${result.sum.toFixed(4)} against a change of ${result.delta.toFixed(4)} (${(result.completeness_error * 100).toFixed(1)}% apart)\n`);
    if (result.truncated) legend.appendMarkdown("- the text was cut to the model's length\n");
  }

  /** bertStudio.clearAnnotations: removes entity, label, answer and attribution annotations from the active editor. */
  clearAnnotations(): void {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    for (const t of this.tints ?? []) this.decorate(editor, t, []);
    this.clear(editor, this.entityTypes);
    this.clear(editor, this.labelTypes);
    this.decorate(editor, this.answerType, []);
    this.decorate(editor, this.explainedType, []);
    this.annotated.delete(editor.document.uri.toString());
    this.applied.delete(editor.document.uri.toString());
    this.showStatus(editor);
  }

  private typeFor(map: Map<string, vscode.TextEditorDecorationType>, key: string, make: (colour: vscode.ThemeColor) => vscode.DecorationRenderOptions): vscode.TextEditorDecorationType {
    let t = map.get(key);
    if (!t) {
      t = vscode.window.createTextEditorDecorationType(make(new vscode.ThemeColor(PALETTE[map.size % PALETTE.length])));
      map.set(key, t);
    }
    return t;
  }

  private clear(editor: vscode.TextEditor, map: Map<string, vscode.TextEditorDecorationType>): void {
    for (const t of map.values()) this.decorate(editor, t, []);
  }

  /** Entity decorations in the selection (else the whole document), coloured per type, with label and probability on hover. */
  async annotateEntities(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const model = await this.models.require('token-classification');
    if (!model) return;
    const doc = editor.document;
    const sel = editor.selection;
    // Offsets go through positionAt, so \r\n and multi-byte characters land where they are.
    const pieces = sel.isEmpty ? textChunks(doc.getText()) : textChunks(doc.getText(sel), doc.offsetAt(sel.start));
    const modelName = modelDisplayName(model);
    const inlineLabels = vscode.workspace.getConfiguration('bertStudio.annotations').get<boolean>('inlineEntityTypes', false);
    const found = await withInferenceProgress('BERT Studio: annotating entities…', async (signal) => {
      const engine = await this.engines.get();
      const byType = new Map<string, vscode.DecorationOptions[]>();
      for (const c of pieces) {
        for (const e of await engine.tokenClassify(model, c.text, { signal })) {
          const range = new vscode.Range(doc.positionAt(c.offset + e.start), doc.positionAt(c.offset + e.end));
          const hover = new vscode.MarkdownString();
          hover.appendText(`${e.type} · ${(e.probability * 100).toFixed(1)}% · ${modelName}`);
          const inline: vscode.DecorationOptions['renderOptions'] = inlineLabels ? { after: { contentText: e.type } } : undefined;
          (byType.get(e.type) ?? byType.set(e.type, []).get(e.type))?.push({ range, hoverMessage: hover, ...(inline ? { renderOptions: inline } : {}) });
        }
      }
      return byType;
    });
    if (!found) return;
    this.clear(editor, this.entityTypes);
    const counts = new Map<string, number>();
    const legend = new vscode.MarkdownString(`**Entities** by ${modelName}\n\n`);
    for (const [type, options] of found) {
      counts.set(type, options.length);
      const deco = this.typeFor(this.entityTypes, type, (c) => ({
        border: '2px solid',
        borderColor: c,
        borderRadius: '3px',
        overviewRulerColor: c,
        after: { color: c, fontStyle: 'italic', margin: '0 0 0 0.2em' },
      }));
      this.decorate(editor, deco, options);
      // typeFor gives the n-th type the n-th palette colour.
      const colour = PALETTE[[...this.entityTypes.keys()].indexOf(type) % PALETTE.length];
      legend.appendMarkdown(`- ${type}: ${options.length}, outlined in ${colour.replace('charts.', '')}\n`);
    }
    const summary = entitySummary(counts);
    this.ctx.log.info(`inference: ${summary} in ${doc.uri.fsPath} (${modelName})`);
    if (counts.size === 0) {
      void vscode.window.showInformationMessage(`BERT Studio: ${modelName} found no entities in ${sel.isEmpty ? 'this file' : 'the selection'}.`);
      legend.appendMarkdown('No entities found.\n');
    }
    this.remember(editor, `$(symbol-field) ${summary}`, legend);
  }

  /**
   * End-of-line label hints (per non-empty line). A pair classifier (MRPC, RTE: config
   * `bert_studio_text_pair`) reads two segments: the two selected ranges when there are two
   * selections, else each non-empty line with the next one (the hint sits on the first).
   */
  async classifyLines(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const model = await this.models.require('sequence-classification');
    if (!model) return;
    const doc = editor.document;
    const info = await withInferenceProgress('BERT Studio: loading the model…', async (signal) => (await this.engines.get()).info(model, { signal }));
    if (!info) return;
    const selected = editor.selections.filter((s) => !s.isEmpty);
    if (info.textPair && selected.length >= 2) return this.classifySelectedPair(editor, model, selected[0], selected[1]);
    const all = Array.from({ length: Math.min(doc.lineCount, MAX_LINES) }, (_, i) => doc.lineAt(i)).filter((l) => !l.isEmptyOrWhitespace);
    // A pair classifier labels each line together with the next one.
    const lines = info.textPair ? all.slice(0, -1) : all;
    const pairs = info.textPair ? all.slice(1).map((l) => l.text.slice(0, MAX_CHUNK_CHARS)) : undefined;
    if (info.textPair && lines.length === 0) {
      void vscode.window.showInformationMessage('BERT Studio: this model classifies sentence pairs. Select two ranges (hold Alt to add the second), or write the second sentence on the next line.');
      return;
    }
    const result = await withInferenceProgress(`BERT Studio: classifying ${lines.length} ${pairs ? 'line pairs' : 'lines'}…`, async (signal) => {
      const engine = await this.engines.get();
      const classified = await engine.classify(model, lines.map((l) => l.text.slice(0, MAX_CHUNK_CHARS)), { signal, ...(pairs ? { pairs } : {}) });
      return { classified, maxLength: info.maxLength };
    });
    if (!result) return;
    const labels = result.classified;
    this.clear(editor, this.labelTypes);
    const byLabel = new Map<string, vscode.DecorationOptions[]>();
    labels.forEach((c, i) => {
      const hover = new vscode.MarkdownString();
      if (pairs) hover.appendText(`With the next line (${all[i + 1].lineNumber + 1}) as the second sentence.\n\n`);
      hover.appendText(c.probabilities.map((p) => `${p.label}: ${(p.probability * 100).toFixed(1)}%`).join('  ·  '));
      const cut = c.truncated || lines[i].text.length > MAX_CHUNK_CHARS;
      if (cut) hover.appendText(`\n\nOnly the start of this line was classified: the model reads at most ${result.maxLength} tokens.`);
      const options: vscode.DecorationOptions = {
        range: lines[i].range,
        hoverMessage: hover,
        renderOptions: { after: { contentText: `  ${c.label} ${(c.probability * 100).toFixed(0)}%${cut ? ' (start only)' : ''}` } },
      };
      (byLabel.get(c.label) ?? byLabel.set(c.label, []).get(c.label))?.push(options);
    });
    for (const [label, options] of byLabel) {
      const deco = this.typeFor(this.labelTypes, label, (colour) => ({ after: { color: colour, fontStyle: 'italic', margin: '0 0 0 1em' } }));
      this.decorate(editor, deco, options);
    }
    const legend = new vscode.MarkdownString(`**Labels** by ${modelDisplayName(model)}${pairs ? ' (each line with the next)' : ''}\n\n`);
    for (const [label, options] of [...byLabel].sort((a, b) => b[1].length - a[1].length)) legend.appendMarkdown(`- ${label}: ${options.length}\n`);
    this.remember(editor, `$(tag) ${labels.length} ${pairs ? 'pairs' : 'lines'} labelled`, legend);
  }

  /** A pair classifier on two selected ranges: the label on both, and a message. */
  private async classifySelectedPair(editor: vscode.TextEditor, model: string, first: vscode.Selection, second: vscode.Selection): Promise<void> {
    const doc = editor.document;
    const [a, b] = [doc.getText(first), doc.getText(second)];
    const result = await withInferenceProgress('BERT Studio: classifying the sentence pair…', async (signal) => (await this.engines.get()).classify(model, [a], { signal, pairs: [b] }));
    const c = result?.[0];
    if (!c) return;
    this.clear(editor, this.labelTypes);
    const hover = new vscode.MarkdownString();
    hover.appendText(c.probabilities.map((p) => `${p.label}: ${(p.probability * 100).toFixed(1)}%`).join('  ·  '));
    const deco = this.typeFor(this.labelTypes, c.label, (colour) => ({ border: '1px dashed', borderColor: colour, after: { color: colour, fontStyle: 'italic', margin: '0 0 0 1em' } }));
    const text = `${c.label} ${(c.probability * 100).toFixed(0)}%${c.truncated ? ' (cut to the model\'s length)' : ''}`;
    this.decorate(editor, deco, [
      { range: first, hoverMessage: hover, renderOptions: { after: { contentText: `  1st of the pair: ${text}` } } },
      { range: second, hoverMessage: hover, renderOptions: { after: { contentText: `  2nd of the pair: ${text}` } } },
    ]);
    this.remember(editor, `$(tag) pair: ${c.label}`, new vscode.MarkdownString(`**Pair** labelled by ${modelDisplayName(model)}`));
    void vscode.window.showInformationMessage(`BERT Studio: ${modelDisplayName(model)} labels the pair ${c.label} (${(c.probability * 100).toFixed(1)}%).`);
  }

  /** "Ask a Question about the Selection": highlights the answer span in the selection. */
  async askQuestion(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty) return;
    const model = await this.models.require('question-answering');
    if (!model) return;
    const question = await vscode.window.showInputBox({ prompt: 'Question about the selected text', placeHolder: 'Who…? When…? Where…?' });
    if (!question?.trim()) return;
    const doc = editor.document;
    const base = doc.offsetAt(editor.selection.start);
    const context = doc.getText(editor.selection);
    const answer = await withInferenceProgress('BERT Studio: finding the answer…', async (signal) => (await this.engines.get()).answer(model, question, context, { signal }));
    if (answer === undefined) return;
    const range = new vscode.Range(doc.positionAt(base + answer.start), doc.positionAt(base + answer.end));
    const hover = new vscode.MarkdownString();
    hover.appendText(`Answer to "${question}" · score ${(answer.score * 100).toFixed(1)}% · ${modelDisplayName(model)}`);
    this.decorate(editor, this.answerType, [{ range, hoverMessage: hover }]);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    this.remember(editor, '$(question) answer', new vscode.MarkdownString(`**Answer** by ${modelDisplayName(model)} to "${question.replace(/[*_`[\]]/g, '')}"`));
    void vscode.window.showInformationMessage(`BERT Studio: ${modelDisplayName(model)} answers: ${answer.text} (${(answer.score * 100).toFixed(1)}%)`);
  }

  dispose(): void {
    for (const t of [...this.entityTypes.values(), ...this.labelTypes.values(), ...(this.tints ?? []), this.answerType, this.explainedType, this.status, this.watch, this.attributions]) t.dispose();
  }
}
