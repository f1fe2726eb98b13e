/** Messages between the fill-mask panel (webview/fillMask/main.ts) and the host (src/vscode/inference/fillMaskPanel.ts). */

export interface Candidate {
  readonly token: string;
  readonly text: string;
  readonly probability: number;
  readonly sequence: string;
}

// Webview → host
export interface ReadyMessage { readonly type: 'ready' }
export interface QueryMessage { readonly type: 'query'; readonly id: number; readonly text: string; readonly topK: number }
export type WebviewMessage = ReadyMessage | QueryMessage;

// Host → webview
export interface ModelMessage { readonly type: 'model'; readonly name: string | null; readonly text: string }
export interface ResultMessage { readonly type: 'result'; readonly id: number; readonly candidates: readonly Candidate[]; readonly ms: number }
export interface ErrorMessage { readonly type: 'error'; readonly id: number; readonly message: string }
export type HostMessage = ModelMessage | ResultMessage | ErrorMessage;

export const MAX_TEXT = 20_000;

const isObj = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null;

export function isWebviewMessage(m: unknown): m is WebviewMessage {
  if (!isObj(m)) return false;
  if (m.type === 'ready') return true;
  return (
    m.type === 'query' && Number.isSafeInteger(m.id) && typeof m.text === 'string' && m.text.length <= MAX_TEXT &&
    Number.isInteger(m.topK) && (m.topK as number) >= 1 && (m.topK as number) <= 50
  );
}

function isCandidate(c: unknown): c is Candidate {
  return isObj(c) && typeof c.token === 'string' && typeof c.text === 'string' && typeof c.probability === 'number' && typeof c.sequence === 'string';
}

export function isHostMessage(m: unknown): m is HostMessage {
  if (!isObj(m)) return false;
  switch (m.type) {
    case 'model':
      return (m.name === null || typeof m.name === 'string') && typeof m.text === 'string';
    case 'result':
      return Number.isSafeInteger(m.id) && typeof m.ms === 'number' && Array.isArray(m.candidates) && m.candidates.every(isCandidate);
    case 'error':
      return Number.isSafeInteger(m.id) && typeof m.message === 'string';
    default:
      return false;
  }
}
