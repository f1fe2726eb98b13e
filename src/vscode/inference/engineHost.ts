import * as vscode from 'vscode';
import type { InferenceEngine } from '../../core/inference/engine';
import { parseThreadSpinning } from '../../core/inference/spinning';
import type { Provider } from '../../core/inference/types';
import type { Ctx } from '../ctx';

/** The engine, imported on first use so onnxruntime never loads during activation. */
export class EngineHost implements vscode.Disposable {
  private engine: Promise<InferenceEngine> | undefined;
  /** The settings the engine was made with (provider, thread spinning): another value makes a new one. */
  private settings: string | undefined;
  private warned: string | undefined;

  constructor(private readonly ctx: Ctx) {}

  async get(): Promise<InferenceEngine> {
    const provider: Provider = this.ctx.config().get<string>('inference.provider') === 'cuda' ? 'cuda' : 'cpu';
    const spinning = parseThreadSpinning(this.ctx.config().get('inference.threadSpinning'));
    if (spinning.problem && spinning.problem !== this.warned) {
      this.warned = spinning.problem;
      this.ctx.log.warn(spinning.problem);
      void vscode.window.showWarningMessage(`BERT Studio: ${spinning.problem}`);
    }
    const settings = `${provider}/${spinning.mode}`;
    if (this.engine && settings !== this.settings) void this.reset();
    if (!this.engine) {
      this.settings = settings;
      this.engine = import('../../core/inference/engine').then(
        ({ InferenceEngine }) => new InferenceEngine({ provider, spinning: spinning.mode, idleMs: 5 * 60_000, log: (m) => this.ctx.log.info(`inference: ${m}`) }),
      );
    }
    return this.engine;
  }

  async reset(): Promise<void> {
    const e = this.engine;
    this.engine = undefined;
    if (e) await (await e).dispose();
  }

  dispose(): void {
    void this.reset();
  }
}

/** Runs `fn` under a cancellable notification; cancelling aborts the engine request. */
export async function withInferenceProgress<T>(title: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
  const controller = new AbortController();
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_p, token) => {
      token.onCancellationRequested(() => controller.abort(new vscode.CancellationError()));
      return fn(controller.signal);
    });
  } catch (err) {
    if (err instanceof vscode.CancellationError || controller.signal.aborted) return undefined;
    void vscode.window.showErrorMessage(`BERT Studio: ${(err as Error).message}`);
    return undefined;
  }
}
