/** Results of the inference engine; plain data, safe to post to a webview or print as JSON. */
import type { Span } from './offsets';

export type InferenceTask = 'fill-mask' | 'sequence-classification' | 'token-classification' | 'question-answering';
export type Precision = 'fp32' | 'int8';
export type Provider = 'cpu' | 'cuda';

export interface RequestOptions {
  readonly signal?: AbortSignal;
}

export interface FillMaskCandidate {
  readonly tokenId: number;
  /** Vocabulary entry, e.g. "great" or "##ly". */
  readonly token: string;
  /** Text that replaces the mask, as the tokenizer decodes the token ("##", "Ġ" and "▁" gone). */
  readonly text: string;
  readonly probability: number;
  /** The input with this candidate in place of the mask. */
  readonly sequence: string;
  /** Several consecutive masks (a whole word): the ids and vocabulary entries filling them, left to right. */
  readonly tokenIds?: readonly number[];
  readonly tokens?: readonly string[];
}

export interface FillMaskResult {
  /** Character span of the mask token in the input. */
  readonly maskSpan: Span;
  /** The model's own mask token ("[MASK]", "<mask>"). */
  readonly maskToken: string;
  /** Set when the text spelt the mask another way ("[MASK]" for a "<mask>" model): it was read as the model's. */
  readonly note?: string;
  /** Consecutive masks filled jointly (absent for one): candidates are whole words ranked by the chain rule. */
  readonly masks?: number;
  /** With `masks`: whether the ranking is the exact top k (false when the search ran out of budget and completed greedily). */
  readonly exact?: boolean;
  readonly candidates: readonly FillMaskCandidate[];
}

export interface Classification {
  readonly label: string;
  readonly probability: number;
  /** Probability of every label, in id order (independent sigmoids for a multi-label model). */
  readonly probabilities: readonly { readonly label: string; readonly probability: number }[];
  /** Multi-label models only: every label whose probability reaches the model's threshold, in id order. */
  readonly labels?: readonly string[];
  /** Set when the text had more tokens than the model reads (ModelInfo.maxLength): only its start was classified. */
  readonly truncated?: true;
}

export interface EntitySpan {
  /** Entity type without its B-/I- prefix, e.g. "PER". */
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** Mean probability of the words in the entity. */
  readonly probability: number;
}

export interface Answer {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly score: number;
}

export interface AttentionMaps {
  readonly tokens: readonly string[];
  /**
   * Each token as it reads (for the viewer): byte-level BPE decoded ("Ġcity" -> "city"), SentencePiece
   * without its "▁"; a piece that continues a word is marked "##" whatever the tokenizer type.
   */
  readonly labels: readonly string[];
  /** Character span of each token in the input; null for [CLS]/[SEP]. */
  readonly spans: readonly (Span | null)[];
  readonly layers: number;
  readonly heads: number;
  /** Row-major [layers][heads][seq][seq]: weight of key j for query i at ((l*heads+h)*seq+i)*seq+j. */
  readonly data: Float32Array;
  /** weights[l][h][i] is row i (a view into data) of layer l, head h. */
  readonly weights: readonly (readonly (readonly Float32Array[])[])[];
}

export interface ModelInfo {
  readonly folder: string;
  readonly task: InferenceTask;
  readonly labels: readonly string[];
  readonly provider: Provider;
  readonly precision: Precision;
  readonly hasAttentions: boolean;
  /** The graph the main session was created from (model_cpu.onnx, model.onnx, ...). */
  readonly graphFile: string;
  /** Tokens per sequence the engine feeds this model (special tokens included); longer texts are windowed or truncated. */
  readonly maxLength: number;
  /** The max_seq_length the model was trained at (config `bert_studio_trained_max_length`), when recorded. */
  readonly trainedMaxLength?: number;
  /** A classifier trained on sentence pairs: the editor sends two segments (config `bert_studio_text_pair`). */
  readonly textPair?: boolean;
  /** Whether the main session's CPU threads spin within a request now, and why (engine option `spinning`). */
  readonly spinning: SpinningState;
}

export interface SpinningState {
  /** What the session was created with (its options' `intra_op.allow_spinning`). */
  readonly spinning: boolean;
  /** Why: the setting, or what `auto` measured ("0.1 of 2 cores busy with other work, ..."). */
  readonly reason: string;
}

/** Where a model's cold load went, in ms (the benchmark reports them; the log shows them). */
export interface LoadTimings {
  /** Finding the folder and reading config.json. */
  readonly configMs: number;
  /** Creating the onnxruntime session of the main graph (synchronous inside onnxruntime-node). */
  readonly sessionMs: number;
  /** Parsing tokenizer.json/tokenizer_config.json and building the tokenizer (files read during the session). */
  readonly tokenizerMs: number;
  /** The first forward pass of the main graph (feeds, run, outputs); undefined until there was one. */
  readonly firstRunMs?: number;
  readonly graphFile: string;
  /**
   * Spinning `auto` with no decision yet: how long the load waited for a CPU window long enough to
   * decide (beyond the tokenizer's construction, which it overlaps); 0 otherwise.
   */
  readonly cpuWindowMs: number;
  /** Whether the main session was created with spinning threads, and why. */
  readonly spinning: SpinningState;
}
