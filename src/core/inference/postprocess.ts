/** Pure post-processing of logits: softmax, sigmoid, top-k, entity aggregation, answer spans. */
import type { Span } from './offsets';
import type { Classification, EntitySpan } from './types';

/** Probabilities of `length` logits from `offset`; into `out` (its first `length` entries) when given, else a new array. */
export function softmax(logits: ArrayLike<number>, offset = 0, length = logits.length - offset, out = new Float64Array(length)): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < length; i++) sum += out[i] = Math.exp(logits[offset + i] - max);
  for (let i = 0; i < length; i++) out[i] /= sum;
  return out;
}

/** One independent probability per logit (multi-label classification). */
export function sigmoid(logits: ArrayLike<number>, offset = 0, length = logits.length - offset): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = 1 / (1 + Math.exp(-logits[offset + i]));
  return out;
}

/**
 * A classification from per-label probabilities: the most probable label, and for a multi-label
 * model (sigmoid probabilities, `threshold` given) every label whose probability reaches it.
 */
export function toClassification(p: Float64Array, labels: readonly string[], threshold?: number): Classification {
  const probabilities = Array.from(p, (probability, i) => ({ label: labels[i] ?? `LABEL_${i}`, probability }));
  const best = topK(p, 1)[0];
  const result = { label: probabilities[best].label, probability: p[best], probabilities };
  if (threshold === undefined) return result;
  return { ...result, labels: probabilities.filter((x) => x.probability >= threshold).map((x) => x.label) };
}

/** Index of the largest of the first `length` values, the first one on a tie: topK(values, 1)[0], without allocating. */
export function argMax(values: ArrayLike<number>, length = values.length): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (!(values[i] <= values[best])) best = i;
  return best;
}

/** Indices of the k largest values, largest first (one pass; k is small). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === k && values[i] <= values[best[k - 1]]) continue;
    let j = best.length < k ? best.length : k - 1;
    best[j] = i;
    while (j > 0 && values[best[j]] > values[best[j - 1]]) {
      [best[j], best[j - 1]] = [best[j - 1], best[j]];
      j--;
    }
  }
  return best;
}

export interface TokenPrediction {
  readonly span: Span | null;
  /** A WordPiece continuation ("##..."): belongs to the previous token's word. */
  readonly continuation: boolean;
  readonly label: string;
  readonly probability: number;
}

function splitLabel(label: string): { prefix: 'B' | 'I' | null; type: string } {
  const m = /^([BIES])[-_](.+)$/.exec(label);
  if (!m) return { prefix: null, type: label };
  return { prefix: m[1] === 'B' || m[1] === 'S' ? 'B' : 'I', type: m[2] };
}

/** An entity over words `start` (inclusive) to `end` (exclusive). */
export interface WordChunk {
  type: string;
  start: number;
  end: number;
}

/**
 * The entities of a sequence of word labels: consecutive words merge into one entity while they
 * continue it (I-X after X, or the same unprefixed label); B-/S- start a new one and "O" (or "")
 * ends it. For IOB1 and IOB2 tags these are seqeval's entities (its default, non-strict decoding).
 */
export function entityChunks(labels: readonly string[]): WordChunk[] {
  const chunks: WordChunk[] = [];
  let current: WordChunk | undefined;
  labels.forEach((label, i) => {
    if (label === 'O' || label === '') {
      current = undefined;
      return;
    }
    const { prefix, type } = splitLabel(label);
    if (current && current.type === type && prefix !== 'B') current.end = i + 1;
    else chunks.push((current = { type, start: i, end: i + 1 }));
  });
  return chunks;
}

/**
 * Words take their first sub-token's label and merge into entities as entityChunks says. A word
 * with an empty span (whitespace alone: a byte-level "Ċ" token for a line break, spans trimmed by
 * the caller) is no word: it neither starts, continues nor ends an entity.
 */
export function aggregateEntities(text: string, tokens: readonly TokenPrediction[]): EntitySpan[] {
  interface Word { start: number; end: number; label: string; probability: number }
  const words: Word[] = [];
  for (const t of tokens) {
    if (!t.span) continue;
    const last = words[words.length - 1];
    if (t.continuation && last) last.end = Math.max(last.end, t.span[1]);
    else words.push({ start: t.span[0], end: t.span[1], label: t.label, probability: t.probability });
  }
  const kept = words.filter((w) => w.start < w.end);
  return entityChunks(kept.map((w) => w.label)).map((c) => {
    const start = kept[c.start].start;
    const end = kept[c.end - 1].end;
    const probs = kept.slice(c.start, c.end).map((w) => w.probability);
    return { type: c.type, start, end, text: text.slice(start, end), probability: probs.reduce((a, b) => a + b, 0) / probs.length };
  });
}

/** Best (start, end) over the allowed token positions, end ≥ start, at most maxLength tokens. */
export function bestSpan(
  start: ArrayLike<number>,
  end: ArrayLike<number>,
  allowed: readonly boolean[],
  maxLength = 30,
): { start: number; end: number; score: number } | undefined {
  const ps = softmax(start);
  const pe = softmax(end);
  let best: { start: number; end: number; score: number } | undefined;
  for (let i = 0; i < allowed.length; i++) {
    if (!allowed[i]) continue;
    for (let j = i; j < Math.min(allowed.length, i + maxLength); j++) {
      if (!allowed[j]) continue;
      const score = ps[i] * pe[j];
      if (!best || score > best.score) best = { start: i, end: j, score };
    }
  }
  return best;
}

/**
 * Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer): an answer
 * there stays character-exact. Mirrors trainer/bert_studio_trainer/tasks/qa.py `_NO_SPACE`.
 */
const NO_SPACE =
  /[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff\u3190-\u319f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\u{1b000}-\u{1b16f}\u{20000}-\u{3134f}]/u;
const WORD = /[\p{L}\p{Nd}\p{M}]/u;

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && WORD.test(c) && !NO_SPACE.test(c);
}

/** The code point that ends at UTF-16 index `i` (a surrogate pair whole). */
function charBefore(text: string, i: number): string | undefined {
  if (i <= 0) return undefined;
  const low = text.charCodeAt(i - 1);
  return low >= 0xdc00 && low <= 0xdfff && i >= 2 ? text.slice(i - 2, i) : text[i - 1];
}

function charAt(text: string, i: number): string | undefined {
  if (i >= text.length) return undefined;
  return String.fromCodePoint(text.codePointAt(i) ?? 0);
}

/**
 * [start, end) widened to the whole words it cuts, as BERT's SQuAD code answers with the original
 * words its tokens cover: a span ending at a word piece ("Sergey Br", "RA" of "RARS") takes the rest
 * of the word. Only letters, decimal digits and marks extend a span (not "½"), so punctuation next to a word
 * ("Denver,", "Smith's") stays out, and text in scripts without spaces stays character-exact.
 * Whitespace at either end is left out (a SentencePiece "▁word" or a byte-level "Ġword" token's
 * offsets may cover the space before it).
 * The same rule as trainer/bert_studio_trainer/tasks/qa.py `whole_word_span` (UTF-16 offsets here).
 */
export function wholeWordSpan(text: string, start: number, end: number): [number, number] {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  if (start >= end) return [start, end];
  if (isWordChar(charAt(text, start))) {
    for (let c = charBefore(text, start); isWordChar(c); c = charBefore(text, start)) start -= (c as string).length;
  }
  const lastChar = charBefore(text, end);
  if (isWordChar(lastChar)) {
    for (let c = charAt(text, end); isWordChar(c); c = charAt(text, end)) end += (c as string).length;
  }
  return [start, end];
}
