/**
 * Whole-word fill-mask: the best fillers of several consecutive masks ranked jointly, so that a
 * Chinese word of two characters (two [MASK]s) or a word of several WordPiece pieces is predicted as
 * one word rather than as independent characters.
 *
 * Score of a filler t1..tm: the chain rule read left to right,
 *   log p(t1 | masks) + log p(t2 | t1, masks) + … + log p(tm | t1..tm-1),
 * each term a forward pass with the earlier masks filled in (an MLM gives no joint distribution; this
 * is the standard way of reading one from it, and it lets the second character depend on the first:
 * "酒" then "店", not the independent "酒" and "馆" of two separate top-1s).
 *
 * Search: exact best-first (uniform-cost) search. Every term is a log-probability (≤ 0), so a prefix
 * scores at least as well as any of its completions; popping prefixes best first, the first k complete
 * fillers popped are the exact top k of all |V|^m (what a brute force over every token at every mask
 * gives; the Chinese fill-mask test checks that against Python). A beam search would be cheaper on
 * paper but can drop the best word; here the forward passes go only where a word could still win.
 * The engine allows, for a whole word, only tokens with a letter or digit (no special tokens, no
 * punctuation-only piece: "，，" is not a word). Prefixes are expanded in batches (one onnxruntime call each); past `maxRows` expanded prefixes the
 * rest is completed greedily (iterative fill) and the result says it is not exact.
 */

export interface JointFill {
  /** Token ids filling the masks, left to right. */
  readonly ids: readonly number[];
  /** Sum of the chain-rule log-probabilities. */
  readonly logp: number;
}

export interface JointSearch {
  readonly fills: readonly JointFill[];
  /** True when `fills` is the exact top k (the search finished within its budget). */
  readonly exact: boolean;
  /** Prefixes the model was run on (rows of forward passes). */
  readonly rows: number;
}

/**
 * Log-probabilities over the vocabulary at the next mask for each prefix (the ids filled so far;
 * prefix.length < count): one array per prefix, each of vocabulary size.
 */
export type MaskForward = (prefixes: readonly (readonly number[])[]) => Promise<readonly Float64Array[]>;

export interface JointOptions {
  /** Prefixes per forward call. */
  readonly batchRows?: number;
  /** Prefixes expanded at most before the search completes the rest greedily. */
  readonly maxRows?: number;
}

interface Expanded {
  readonly prefix: readonly number[];
  readonly score: number;
  /** Allowed ids by descending log-probability (for the last mask, only the best k are kept). */
  readonly order: Int32Array;
  readonly logp: Float64Array;
}

/** One frontier entry: child `index` of `node` (its `index`-th best token). */
interface Item {
  readonly node: Expanded;
  readonly index: number;
  readonly score: number;
}

/** A max-heap of frontier items by score (ties: the lower token id first, so results are deterministic). */
class Frontier {
  private readonly items: Item[] = [];
  get size(): number {
    return this.items.length;
  }
  private better(a: Item, b: Item): boolean {
    return a.score > b.score || (a.score === b.score && a.node.order[a.index] < b.node.order[b.index]);
  }
  peek(): Item | undefined {
    return this.items[0];
  }
  push(item: Item): void {
    const h = this.items;
    h.push(item);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.better(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): Item | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let b = i;
        if (l < h.length && this.better(h[l], h[b])) b = l;
        if (r < h.length && this.better(h[r], h[b])) b = r;
        if (b === i) break;
        [h[i], h[b]] = [h[b], h[i]];
        i = b;
      }
    }
    return top;
  }
}

/** Log-softmax of `data[offset .. offset + n)` in float64. */
export function logSoftmax(data: ArrayLike<number>, offset: number, n: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, data[offset + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(data[offset + i] - max);
  const log = Math.log(sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = data[offset + i] - max - log;
  return out;
}

/** Allowed ids by descending log-probability (ties by id); only the first `keep`. */
function ranked(logp: Float64Array, allowed: (id: number) => boolean, keep: number): Int32Array {
  const ids: number[] = [];
  for (let i = 0; i < logp.length; i++) if (allowed(i)) ids.push(i);
  ids.sort((a, b) => logp[b] - logp[a] || a - b);
  return Int32Array.from(ids.slice(0, keep));
}

/**
 * The k best fillers of `count` consecutive masks (see the file comment). `allowed` leaves out ids
 * that never fill a mask (special tokens).
 */
export async function jointFill(count: number, k: number, allowed: (id: number) => boolean, forward: MaskForward, options: JointOptions = {}): Promise<JointSearch> {
  const batchRows = Math.max(1, options.batchRows ?? 32);
  const maxRows = options.maxRows ?? 512;
  const frontier = new Frontier();
  const fills: JointFill[] = [];
  let rows = 0;
  const expand = async (batch: readonly { prefix: readonly number[]; score: number }[]): Promise<void> => {
    for (let a = 0; a < batch.length; a += batchRows) {
      const part = batch.slice(a, a + batchRows);
      const out = await forward(part.map((p) => p.prefix));
      rows += part.length;
      part.forEach((p, i) => {
        // Past the last mask's best k no filler can be among the k best: later ones are cut.
        const order = ranked(out[i], allowed, p.prefix.length === count - 1 ? k : Infinity);
        const node: Expanded = { prefix: p.prefix, score: p.score, order, logp: out[i] };
        if (order.length > 0) frontier.push({ node, index: 0, score: p.score + out[i][order[0]] });
      });
    }
  };
  await expand([{ prefix: [], score: 0 }]);
  while (fills.length < k && frontier.size > 0) {
    const batch: { prefix: number[]; score: number }[] = [];
    // Pop best first: a complete filler on top is final; incomplete ones are expanded together.
    while (frontier.size > 0 && batch.length < batchRows && fills.length < k) {
      const top = frontier.peek() as Item;
      const complete = top.node.prefix.length === count - 1;
      if (complete && batch.length > 0) break;
      frontier.pop();
      const { node, index } = top;
      if (index + 1 < node.order.length) frontier.push({ node, index: index + 1, score: node.score + node.logp[node.order[index + 1]] });
      const prefix = [...node.prefix, node.order[index]];
      if (complete) fills.push({ ids: prefix, logp: top.score });
      else batch.push({ prefix, score: top.score });
    }
    if (batch.length === 0) continue;
    if (rows + batch.length > maxRows) {
      // Over budget: the best remaining prefixes are completed greedily, one mask at a time.
      const greedy = await greedyComplete([...batch, ...drain(frontier, k - fills.length - batch.length)], count, allowed, forward, batchRows);
      rows += greedy.rows;
      const all = [...fills, ...greedy.fills].sort((x, y) => y.logp - x.logp);
      return { fills: all.slice(0, k), exact: false, rows };
    }
    await expand(batch);
  }
  return { fills, exact: true, rows };
}

/** Up to n more incomplete prefixes off the frontier, best first. */
function drain(frontier: Frontier, n: number): { prefix: number[]; score: number }[] {
  const out: { prefix: number[]; score: number }[] = [];
  while (out.length < n && frontier.size > 0) {
    const { node, index, score } = frontier.pop() as Item;
    if (index + 1 < node.order.length) frontier.push({ node, index: index + 1, score: node.score + node.logp[node.order[index + 1]] });
    out.push({ prefix: [...node.prefix, node.order[index]], score });
  }
  return out;
}

/** Each prefix filled to `count` tokens by its best token at each following mask (iterative fill). */
async function greedyComplete(start: readonly { prefix: readonly number[]; score: number }[], count: number, allowed: (id: number) => boolean, forward: MaskForward, batchRows: number): Promise<{ fills: JointFill[]; rows: number }> {
  let open = start.map((s) => ({ prefix: [...s.prefix], score: s.score }));
  const fills: JointFill[] = [];
  let rows = 0;
  while (open.length > 0) {
    const done = open.filter((o) => o.prefix.length === count);
    fills.push(...done.map((o) => ({ ids: o.prefix, logp: o.score })));
    open = open.filter((o) => o.prefix.length < count);
    for (let a = 0; a < open.length; a += batchRows) {
      const part = open.slice(a, a + batchRows);
      const out = await forward(part.map((p) => p.prefix));
      rows += part.length;
      part.forEach((p, i) => {
        const [best] = ranked(out[i], allowed, 1);
        p.prefix.push(best);
        p.score += out[i][best];
      });
    }
  }
  return { fills, rows };
}

/**
 * A filler's pieces read as one word: WordPiece ("##" continues, a new piece is a new word) puts a
 * space only between two Latin letters or digits, since Chinese characters are words of their own
 * but are written without spaces; a tokenizer whose word-start mark is a space (byte-level "Ġ",
 * SentencePiece "▁") gets the space it marks.
 */
export function joinPieces(pieces: readonly { text: string; startsWord: boolean }[], spaceMarked: boolean): string {
  let out = '';
  for (const [i, p] of pieces.entries()) {
    const last = [...out].pop() ?? '';
    const first = [...p.text][0] ?? '';
    if (i > 0 && p.startsWord && (spaceMarked || (LETTER.test(last) && LETTER.test(first) && !CJK.test(last) && !CJK.test(first)))) out += ' ';
    out += p.text;
  }
  return out;
}

const LETTER = /[\p{L}\p{N}]/u;
/** Scripts written without spaces between words. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * The text to fill when a word is selected: `text` with [start, end) replaced by `count` masks (the
 * selection's own token count, at least one), so a two-character Chinese word gets two masks.
 */
export function maskSelection(text: string, start: number, end: number, count: number, mask = '[MASK]'): string {
  return text.slice(0, start) + mask.repeat(Math.max(1, count)) + text.slice(end);
}
