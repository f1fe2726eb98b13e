import * as vscode from 'vscode';
import { AttributionService } from '../../core/inference/attributions';
import { packageRoot } from '../../core/paths';
import { requireTrust, type Ctx } from '../ctx';
import { pythonFor } from '../environment/register';
import { Annotations } from './annotations';
import { AttentionPanel } from './attentionPanel';
import { DatasetLensProvider } from './datasetLens';
import { EngineHost } from './engineHost';
import { fillMaskAtSelection, FillMaskPanel } from './fillMask';
import { ActiveModels } from './models';

/**
 * Fill-mask, attention and inline annotations in the editor. Nothing here loads onnxruntime:
 * the engine is imported on the first request (EngineHost).
 */
export function registerInference(ctx: Ctx): void {
  const engines = new EngineHost(ctx);
  const models = new ActiveModels(ctx, engines);
  const fillMaskPanel = new FillMaskPanel(ctx, engines, models);
  // One Integrated Gradients worker and cache for the editor's tints and the attention viewer's column.
  const attributions = new AttributionService(async () => (await pythonFor(ctx)).path, packageRoot());
  const attention = new AttentionPanel(ctx, engines, models, attributions);
  const annotations = new Annotations(ctx, engines, models, attributions);
  const guarded = (what: string, fn: (...args: unknown[]) => Promise<unknown>) => (...args: unknown[]) => {
    if (!requireTrust(ctx, what)) return;
    fn(...args).catch((err: unknown) => {
      ctx.log.error(`inference: ${what} failed: ${String(err)}`);
      void vscode.window.showErrorMessage(`BERT Studio: ${(err as Error).message}`);
    });
  };
  ctx.push(
    engines,
    fillMaskPanel,
    attention,
    annotations,
    vscode.commands.registerCommand('bertStudio.useModel', guarded('Using a model', (arg) => models.use(arg))),
    vscode.commands.registerCommand('bertStudio.fillMask', guarded('Fill mask', () => fillMaskAtSelection(ctx, engines, models, () => fillMaskPanel))),
    vscode.commands.registerCommand('bertStudio.openFillMaskPanel', guarded('Fill-mask panel', async () => {
      const editor = vscode.window.activeTextEditor;
      fillMaskPanel.show(editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : undefined);
    })),
    vscode.commands.registerCommand('bertStudio.showAttention', guarded('Attention', () => attention.showForSelection())),
    vscode.commands.registerCommand('bertStudio.annotateEntities', guarded('Annotating entities', () => annotations.annotateEntities())),
    vscode.commands.registerCommand('bertStudio.classifyLines', guarded('Classifying lines', () => annotations.classifyLines())),
    vscode.commands.registerCommand('bertStudio.askQuestion', guarded('Question answering', () => annotations.askQuestion())),
    vscode.commands.registerCommand('bertStudio.explainSelection', guarded('Explaining the prediction', () => annotations.explainSelection())),
    vscode.commands.registerCommand('bertStudio.clearAnnotations', () => annotations.clearAnnotations()),
    vscode.languages.registerCodeLensProvider(
      [{ scheme: 'file', pattern: '**/*.{tsv,csv,jsonl}' }],
      new DatasetLensProvider(engines, models),
    ),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('bertStudio.inference.provider') || e.affectsConfiguration('bertStudio.inference.threadSpinning')) void engines.reset();
    }),
  );
}
