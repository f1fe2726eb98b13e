/** Messages between the attention viewer (webview/attention/main.ts) and the host (src/vscode/inference/attentionPanel.ts). */

export interface AttentionSet {
  readonly model: string;
  readonly tokens: readonly string[];
  readonly layers: number;
  readonly heads: number;
  /** Row-major [layers][heads][seq][seq], seq = tokens.length. */
  readonly data: Float32Array;
}

// Host → webview
export interface ShowMessage { readonly type: 'show'; readonly text: string; readonly sets: readonly AttentionSet[] }
export interface ErrorMessage { readonly type: 'error'; readonly message: string }
export type HostMessage = ShowMessage | ErrorMessage;

// Webview → host
export interface ReadyMessage { readonly type: 'ready' }
export interface CompareMessage { readonly type: 'compare' }
export interface ExportMessage { readonly type: 'export'; readonly format: 'png' | 'svg'; readonly data: string; readonly name: string }
export type WebviewMessage = ReadyMessage | CompareMessage | ExportMessage;

export const MAX_EXPORT_CHARS = 64 * 1024 * 1024;

const isObj = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null;

export function isWebviewMessage(m: unknown): m is WebviewMessage {
  if (!isObj(m)) return false;
  if (m.type === 'ready' || m.type === 'compare') return true;
  if (m.type !== 'export' || typeof m.data !== 'string' || m.data.length > MAX_EXPORT_CHARS) return false;
  if (typeof m.name !== 'string' || !/^[\w .-]{1,80}$/.test(m.name)) return false;
  if (m.format === 'png') return m.data.startsWith('data:image/png;base64,');
  return m.format === 'svg' && m.data.startsWith('<svg');
}

function isSet(s: unknown): s is AttentionSet {
  if (!isObj(s) || typeof s.model !== 'string' || !Array.isArray(s.tokens) || !s.tokens.every((t) => typeof t === 'string')) return false;
  if (!Number.isInteger(s.layers) || !Number.isInteger(s.heads) || !(s.data instanceof Float32Array)) return false;
  const n = s.tokens.length;
  return s.data.length === (s.layers as number) * (s.heads as number) * n * n;
}

export function isHostMessage(m: unknown): m is HostMessage {
  if (!isObj(m)) return false;
  if (m.type === 'error') return typeof m.message === 'string';
  return m.type === 'show' && typeof m.text === 'string' && Array.isArray(m.sets) && m.sets.length >= 1 && m.sets.length <= 2 && m.sets.every(isSet);
}
