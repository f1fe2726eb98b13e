// Messages between the attention viewer (webview/attention/main.ts) and the host
// (src/vscode/inference/attentionPanel.ts), typed once as guards (src/shared/guard.ts); each side
// checks what it receives (src/core/webview/messages.ts, webview/shared/messages.ts).

import { arrayOf, count, guard, isRecord, message, oneOf, refine, str, tagged, type Infer } from '../../src/shared/guard';

export const MAX_EXPORT_CHARS = 64 * 1024 * 1024;

export interface AttentionSet {
  readonly model: string;
  readonly tokens: readonly string[];
  readonly layers: number;
  readonly heads: number;
  /** Row-major [layers][heads][seq][seq], seq = tokens.length. */
  readonly data: Float32Array;
}

const tokens = arrayOf(str());
/** A set whose data holds exactly layers × heads × seq × seq weights (a Float32Array survives postMessage). */
export const ATTENTION_SET = guard<AttentionSet>((s, at) => {
  if (!isRecord(s)) return `${at}: expected an object`;
  const p = str().problem(s.model, `${at}.model`) ?? tokens.problem(s.tokens, `${at}.tokens`) ?? count.problem(s.layers, `${at}.layers`) ?? count.problem(s.heads, `${at}.heads`);
  if (p) return p;
  if (!(s.data instanceof Float32Array)) return `${at}.data: expected a Float32Array`;
  const n = (s.tokens as unknown[]).length;
  return s.data.length === (s.layers as number) * (s.heads as number) * n * n ? undefined : `${at}.data: ${s.data.length} weights for ${s.layers}×${s.heads}×${n}×${n}`;
});

export const ToHost = { Ready: 'ready', Compare: 'compare', Export: 'export' } as const;
export const ToWebview = { Show: 'show', Error: 'error' } as const;

// Host → webview
export const HOST_MESSAGE = tagged({
  [ToWebview.Show]: message(ToWebview.Show, { text: str(), sets: arrayOf(ATTENTION_SET, 2, 1) }),
  [ToWebview.Error]: message(ToWebview.Error, { message: str() }),
});
export type HostMessage = Infer<typeof HOST_MESSAGE>;
export type ShowMessage = Extract<HostMessage, { type: 'show' }>;
export type ErrorMessage = Extract<HostMessage, { type: 'error' }>;

// Webview → host: an export is a PNG data URL or an SVG document, under a plain file name.
export const WEBVIEW_MESSAGE = tagged({
  [ToHost.Ready]: message(ToHost.Ready),
  [ToHost.Compare]: message(ToHost.Compare),
  [ToHost.Export]: refine(message(ToHost.Export, { format: oneOf('png', 'svg'), data: str(MAX_EXPORT_CHARS), name: str(80, /^[\w .-]{1,80}$/) }), (m) =>
    (m.format === 'png' ? m.data.startsWith('data:image/png;base64,') : m.data.startsWith('<svg')) ? undefined : `data is not ${m.format === 'png' ? 'a PNG data URL' : 'an SVG document'}`,
  ),
});
export type WebviewMessage = Infer<typeof WEBVIEW_MESSAGE>;
export type ExportMessage = Extract<WebviewMessage, { type: 'export' }>;

export const isWebviewMessage = WEBVIEW_MESSAGE;
export const isHostMessage = HOST_MESSAGE;

/** Fonts that hold CJK glyphs, after the editor's own: the panel's labels and its PNG/SVG export use them. */
export const CJK_FONT_FALLBACK = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif';
