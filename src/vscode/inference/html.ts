import * as vscode from 'vscode';
import { webviewPage } from '../../core/webview/page';

/** Scripts only from our bundle with a per-load nonce; assets only from dist/webview and media. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    retainContextWhenHidden: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** The attention and fill-mask pages: dist/webview/<name>.js with the panel's own CSS. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, name: string, title: string, css: string): string {
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${name}.js`));
  return webviewPage({ cspSource: webview.cspSource, title, scriptUri: script.toString(), inlineStyle: css });
}
