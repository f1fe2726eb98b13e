import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { receiveChecked } from '../../core/webview/messages';
import type { Guard } from '../../shared/guard';
import { webviewHtml, webviewOptions } from './html';

/**
 * What the attention and fill-mask panels share: one webview panel at a time, its listeners, and
 * the request in flight (a new request aborts the previous one; closing the panel aborts it too).
 */
export abstract class InferencePanel implements vscode.Disposable {
  protected panel: vscode.WebviewPanel | undefined;
  protected readonly disposables: vscode.Disposable[] = [];
  protected ready = false;
  protected inflight: AbortController | undefined;

  constructor(protected readonly ctx: Ctx) {}

  /**
   * Creates the panel showing dist/webview/<page>.js; `listen` adds listeners disposed with it.
   * `onMessage` gets only messages that pass the page's guard (`messages`); others are logged and dropped.
   */
  protected create<M>(viewType: string, title: string, column: vscode.ViewColumn | { viewColumn: vscode.ViewColumn; preserveFocus?: boolean }, page: string, css: string, messages: Guard<M>, onMessage: (m: M) => void, ...listen: vscode.Disposable[]): vscode.WebviewPanel {
    const uri = this.ctx.extension.extensionUri;
    const panel = vscode.window.createWebviewPanel(viewType, title, column, webviewOptions(uri));
    panel.webview.html = webviewHtml(panel.webview, uri, page, title, css);
    this.panel = panel;
    this.disposables.push(panel.webview.onDidReceiveMessage(receiveChecked(`${page} panel`, messages, onMessage, (line) => this.ctx.log.warn(line))), panel.onDidDispose(() => this.closed()), ...listen);
    return panel;
  }

  /** Aborts the request in flight and returns the controller of the next one. */
  protected nextRequest(): AbortController {
    this.inflight?.abort(new vscode.CancellationError());
    const controller = new AbortController();
    this.inflight = controller;
    return controller;
  }

  protected closed(): void {
    this.inflight?.abort(new vscode.CancellationError());
    this.panel = undefined;
    this.ready = false;
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }

  dispose(): void {
    this.panel?.dispose();
    this.closed();
  }
}
