import type * as vscode from 'vscode';
import { createCtx } from './vscode/ctx';
import { registerDatasets } from './vscode/datasets/register';
import { registerRuns } from './vscode/runs/register';
import { registerSweeps } from './vscode/sweeps/register';
import { registerInference } from './vscode/inference/register';
import { registerEnvironment } from './vscode/environment/register';
import { registerDashboard } from './vscode/dashboard/register';
import { registerAnalysis } from './vscode/analysis/labelErrors';

/**
 * Activation stays cheap: it builds the context and registers views and commands. No model,
 * onnxruntime or worker is loaded here; features load those lazily on first use.
 */
export function activate(extension: vscode.ExtensionContext): void {
  const started = performance.now();
  const ctx = createCtx(extension);
  registerEnvironment(ctx);
  registerDatasets(ctx);
  registerRuns(ctx);
  registerSweeps(ctx);
  registerDashboard(ctx);
  registerInference(ctx);
  registerAnalysis(ctx);
  ctx.log.info(`activated in ${(performance.now() - started).toFixed(1)} ms`);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions; running workers are detached on purpose.
}
