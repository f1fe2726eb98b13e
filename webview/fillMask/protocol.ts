// Messages between the fill-mask panel (webview/fillMask/main.ts) and the host
// (src/vscode/inference/fillMask.ts), typed once as guards (src/shared/guard.ts); each side checks
// what it receives (src/core/webview/messages.ts, webview/shared/messages.ts).

import { arrayOf, bool, int, message, nullable, num, object, str, tagged, type Infer } from '../../src/shared/guard';

export const MAX_TEXT = 20_000;

// pieces: the vocabulary entries filling the masks (one for a single mask; a whole word's, left to right).
export const CANDIDATE = object({ token: str(), text: str(), probability: num(0), sequence: str(), pieces: arrayOf(str(), 64) });
export type Candidate = Infer<typeof CANDIDATE>;

export const ToHost = { Ready: 'ready', Query: 'query' } as const;
export const ToWebview = { Model: 'model', Result: 'result', Error: 'error' } as const;

const id = int();

// Webview → host
export const WEBVIEW_MESSAGE = tagged({
  [ToHost.Ready]: message(ToHost.Ready),
  [ToHost.Query]: message(ToHost.Query, { id, text: str(MAX_TEXT), topK: int(1, 50) }),
});
export type WebviewMessage = Infer<typeof WEBVIEW_MESSAGE>;
export type QueryMessage = Extract<WebviewMessage, { type: 'query' }>;

// Host → webview
export const HOST_MESSAGE = tagged({
  [ToWebview.Model]: message(ToWebview.Model, { name: nullable(str()), text: str() }),
  [ToWebview.Result]: message(ToWebview.Result, { id, candidates: arrayOf(CANDIDATE), ms: num(0), masks: int(1, 64), exact: bool }),
  [ToWebview.Error]: message(ToWebview.Error, { id, message: str() }),
});
export type HostMessage = Infer<typeof HOST_MESSAGE>;
export type ModelMessage = Extract<HostMessage, { type: 'model' }>;
export type ResultMessage = Extract<HostMessage, { type: 'result' }>;
export type ErrorMessage = Extract<HostMessage, { type: 'error' }>;

export const isWebviewMessage = WEBVIEW_MESSAGE;
export const isHostMessage = HOST_MESSAGE;
