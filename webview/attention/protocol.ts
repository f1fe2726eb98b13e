// Messages between the attention viewer (webview/attention/main.ts) and the host
// (src/vscode/inference/attentionPanel.ts), typed once as guards (src/shared/guard.ts); each side
// checks what it receives (src/core/webview/messages.ts, webview/shared/messages.ts).

import { arrayOf, bool, count, guard, int, isRecord, message, nullable, num, object, oneOf, optional, refine, str, tagged, type Infer } from '../../src/shared/guard';
import { TINT_LEVELS } from '../../src/shared/attributionTints';

export const MAX_EXPORT_CHARS = 64 * 1024 * 1024;
/** Up to 256 tokens: the viewer stays readable (a 256×256 heatmap at 3 px a cell). */
export const MAX_ATTENTION_TOKENS = 256;

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

export const ToHost = { Ready: 'ready', Compare: 'compare', Export: 'export', Attribute: 'attribute', CancelAttribution: 'cancelAttribution' } as const;
export const ToWebview = { Show: 'show', Error: 'error', Attributions: 'attributions', AttributionState: 'attributionState' } as const;

const NAME = str(300);
const LABELS = arrayOf(NAME, 10_000);

/** A token classifier's predicted entity in the text: UTF-16 offsets into it. */
const ENTITY = object({ label: NAME, text: str(2000), start: count, end: count }, { exact: true });

/**
 * What the Attributions column may explain: the first model when it is a sequence classifier (its
 * name and labels) or a token classifier (its labels and the entities it predicts in the text, any
 * of which can be explained), or why it cannot (`problem`: an ONNX export without its PyTorch weights).
 */
export const EXPLAIN = object({ model: NAME, labels: LABELS, entities: optional(arrayOf(ENTITY, 5000)), problem: optional(str(2000)) }, { exact: true });
export type Explain = Infer<typeof EXPLAIN>;

/**
 * Integrated Gradients of `label` on the first model's tokens: `values[i]` for token i (null for
 * special tokens and tokens past the worker's cut), `levels[i]` its tint (as the editor's).
 */
const ATTRIBUTIONS = refine(
  message(ToWebview.Attributions, {
    model: NAME,
    label: NAME,
    /** The label (or entity) was chosen in the column (else the predicted label, or the first entity). */
    chosen: bool,
    /** A token classifier: the text of the entity (or word) whose predicted tags' logit sum is explained. */
    target: optional(str(2000)),
    probability: num(0, 1),
    baselineProbability: num(0, 1),
    steps: count,
    completenessError: num(0),
    truncated: bool,
    cached: bool,
    values: arrayOf(nullable(num())),
    levels: arrayOf(int(-TINT_LEVELS, TINT_LEVELS)),
    unplaced: count,
  }),
  (m) => (m.values.length === m.levels.length ? undefined : `${m.values.length} values for ${m.levels.length} levels`),
);

// Host → webview
export const HOST_MESSAGE = tagged({
  [ToWebview.Show]: message(ToWebview.Show, { text: str(), sets: arrayOf(ATTENTION_SET, 2, 1), explain: optional(EXPLAIN) }),
  [ToWebview.Error]: message(ToWebview.Error, { message: str() }),
  [ToWebview.Attributions]: ATTRIBUTIONS,
  [ToWebview.AttributionState]: message(ToWebview.AttributionState, { state: oneOf('running', 'cancelled', 'failed'), message: optional(str(4000)) }),
});
export type HostMessage = Infer<typeof HOST_MESSAGE>;
export type ShowMessage = Extract<HostMessage, { type: 'show' }>;
export type ErrorMessage = Extract<HostMessage, { type: 'error' }>;
export type AttributionsMessage = Extract<HostMessage, { type: 'attributions' }>;
export type AttributionStateMessage = Extract<HostMessage, { type: 'attributionState' }>;

// Webview → host: an export is a PNG data URL or an SVG document, under a plain file name.
export const WEBVIEW_MESSAGE = tagged({
  [ToHost.Ready]: message(ToHost.Ready),
  [ToHost.Compare]: message(ToHost.Compare),
  /** Compute the Attributions column: for `target`, else the predicted label; a token classifier: `entity` (an index into explain.entities), else the first. */
  [ToHost.Attribute]: message(ToHost.Attribute, { target: optional(NAME), entity: optional(count) }),
  [ToHost.CancelAttribution]: message(ToHost.CancelAttribution),
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
