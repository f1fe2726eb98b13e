/**
 * BERT's WordPiece tokenizer in JavaScript, for one text of printable ASCII: the tokens, ids, spans
 * and words the `tokenizers` library gives (tokenizer.ts) for a tokenizer.json of exactly this shape:
 * BertNormalizer, BertPreTokenizer, a WordPiece model and a TemplateProcessing (or BertProcessing) post-processor. The
 * native encode runs on the libuv pool, and that round trip costs a quarter of a millisecond right
 * after a forward pass (a warm NER request is ~5 ms); this answers in a few microseconds. Anything
 * else (another tokenizer shape, a pair, a character outside printable ASCII, tab, line feed and
 * carriage return, the text of an added token such as [MASK]) is left to the native tokenizer.
 * test/unit/inference/wordpiece.test.ts pins it to the native tokenizer on real and hostile texts.
 *
 * The rules it follows, for that character set (tokenizers' normalizers/bert.rs, pre_tokenizers/bert.rs,
 * models/wordpiece/mod.rs): the normalizer lowercases or not and changes nothing else (no control
 * character, accent or CJK character can occur); words are split at whitespace (removed) and at each
 * ASCII punctuation character (a word of its own); a word longer than max_input_chars_per_word, or one
 * with a part no vocabulary entry matches, is one unknown token over the whole word; otherwise the
 * longest vocabulary entry from the left, then the longest continuation (its prefix, "##", added).
 */
import { isRecord } from '../../shared/guard';
import type { Span } from './offsets';
import type { Encoded } from './tokenizer';

interface Special {
  readonly ids: readonly number[];
  readonly tokens: readonly string[];
  readonly typeId: number;
}

/** The single-text template: special tokens around the text (its type id). */
type Piece = { readonly special: Special } | { readonly text: number };

/** ASCII punctuation as BertPreTokenizer splits at it: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~. */
function isPunctuation(c: number): boolean {
  return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/** Space, tab, line feed, carriage return: the whitespace of the accepted characters. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** [CLS] text [SEP] of a BertProcessing post-processor (what a vocab.txt-only folder gets, tokenizerInfo.ts). */
function bertTemplate(post: Record<string, unknown>): Piece[] | undefined {
  const special = (v: unknown): Piece | undefined =>
    Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number' ? { special: { ids: [v[1]], tokens: [v[0]], typeId: 0 } } : undefined;
  const cls = special(post.cls);
  const sep = special(post.sep);
  return cls && sep ? [cls, { text: 0 }, sep] : undefined;
}

/** The single-text template of a TemplateProcessing or BertProcessing post-processor, or undefined for any other. */
function singleTemplate(post: unknown): Piece[] | undefined {
  if (isRecord(post) && post.type === 'BertProcessing') return bertTemplate(post);
  if (!isRecord(post) || post.type !== 'TemplateProcessing' || !Array.isArray(post.single) || !isRecord(post.special_tokens)) return undefined;
  const specials = post.special_tokens;
  const pieces: Piece[] = [];
  for (const item of post.single as unknown[]) {
    if (!isRecord(item)) return undefined;
    const seq = item.Sequence;
    const sp = item.SpecialToken;
    if (isRecord(seq) && seq.id === 'A' && typeof seq.type_id === 'number') pieces.push({ text: seq.type_id });
    else if (isRecord(sp) && typeof sp.id === 'string' && typeof sp.type_id === 'number') {
      const def = specials[sp.id];
      if (!isRecord(def) || !Array.isArray(def.ids) || !Array.isArray(def.tokens) || def.ids.length !== def.tokens.length) return undefined;
      if (!def.ids.every((x) => typeof x === 'number') || !def.tokens.every((x) => typeof x === 'string')) return undefined;
      pieces.push({ special: { ids: def.ids as number[], tokens: def.tokens as string[], typeId: sp.type_id } });
    } else return undefined;
  }
  return pieces.filter((p) => 'text' in p).length === 1 ? pieces : undefined;
}

export class AsciiWordPiece {
  private constructor(
    private readonly vocab: Readonly<Record<string, number>>,
    private readonly lowercase: boolean,
    private readonly prefix: string,
    private readonly maxChars: number,
    private readonly unk: { token: string; id: number },
    private readonly template: readonly Piece[],
    /** The added tokens' text, lowercased: a text holding one goes to the native tokenizer. */
    private readonly added: readonly string[],
    private readonly tokenTypeIds: boolean,
  ) {}

  /**
   * For a parsed tokenizer.json (padding and truncation aside): the JavaScript tokenizer when the file
   * is exactly the shape it implements, else undefined. `tokenTypeIds`: whether the model reads the
   * template's type ids (else all 0, as ModelTokenizer.encode gives them).
   */
  static from(spec: Record<string, unknown>, tokenTypeIds: boolean): AsciiWordPiece | undefined {
    const { normalizer, pre_tokenizer: pre, model, post_processor: post, added_tokens: added } = spec;
    if (!isRecord(normalizer) || normalizer.type !== 'BertNormalizer' || typeof normalizer.lowercase !== 'boolean') return undefined;
    if (!isRecord(pre) || pre.type !== 'BertPreTokenizer') return undefined;
    if (!isRecord(model) || model.type !== 'WordPiece' || !isRecord(model.vocab)) return undefined;
    const { vocab, unk_token: unk, continuing_subword_prefix: prefix, max_input_chars_per_word: maxChars } = model;
    if (typeof unk !== 'string' || typeof prefix !== 'string' || typeof maxChars !== 'number') return undefined;
    const unkId = Object.hasOwn(vocab, unk) ? vocab[unk] : undefined;
    if (typeof unkId !== 'number') return undefined;
    const template = singleTemplate(post);
    if (!template || !Array.isArray(added) || !added.every((a) => isRecord(a) && typeof a.content === 'string' && a.content !== '')) return undefined;
    const addedText = (added as { content: string }[]).map((a) => a.content.toLowerCase());
    return new AsciiWordPiece(vocab as Record<string, number>, normalizer.lowercase, prefix, maxChars, { token: unk, id: unkId }, template, addedText, tokenTypeIds);
  }

  /** The encoding of `text` alone, whole (no truncation); undefined when the text is not for this tokenizer. */
  encode(text: string): Encoded | undefined {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if ((c < 0x20 || c > 0x7e) && !isSpace(c)) return undefined;
    }
    const lower = text.toLowerCase();
    for (const a of this.added) if (lower.includes(a)) return undefined;
    const norm = this.lowercase ? lower : text;
    const enc = { ids: [] as number[], typeIds: [] as number[], tokens: [] as string[], spans: [] as (Span | null)[], segments: [] as (0 | 1 | null)[], words: [] as (number | null)[] };
    for (const piece of this.template) {
      if ('special' in piece) {
        const { ids, tokens, typeId } = piece.special;
        for (let k = 0; k < ids.length; k++) this.push(enc, ids[k], tokens[k], typeId, null, null, null);
        continue;
      }
      let word = 0;
      for (let i = 0; i < norm.length;) {
        const c = norm.charCodeAt(i);
        if (isSpace(c)) {
          i++;
          continue;
        }
        let end = i + 1;
        if (!isPunctuation(c)) while (end < norm.length && !isSpace(norm.charCodeAt(end)) && !isPunctuation(norm.charCodeAt(end))) end++;
        this.word(enc, norm, i, end, word++, piece.text);
        i = end;
      }
    }
    return enc;
  }

  /** The WordPiece tokens of norm[start, end), word number `word`. */
  private word(enc: Encoded, norm: string, start: number, end: number, word: number, typeId: number): void {
    const first = enc.ids.length;
    if (end - start <= this.maxChars) {
      for (let s = start; s < end;) {
        let e = end;
        let id: number | undefined;
        let token = '';
        for (; s < e; e--) {
          token = s > start ? this.prefix + norm.slice(s, e) : norm.slice(s, e);
          const found = Object.hasOwn(this.vocab, token) ? this.vocab[token] : undefined;
          if (typeof found === 'number') {
            id = found;
            break;
          }
        }
        if (id === undefined) {
          this.drop(enc, first);
          break;
        }
        this.push(enc, id, token, typeId, [s, e], 0, word);
        s = e;
      }
      if (enc.ids.length > first) return;
    }
    this.push(enc, this.unk.id, this.unk.token, typeId, [start, end], 0, word);
  }

  private push(enc: Encoded, id: number, token: string, typeId: number, span: Span | null, segment: 0 | null, word: number | null): void {
    enc.ids.push(id);
    enc.typeIds.push(this.tokenTypeIds ? typeId : 0);
    enc.tokens.push(token);
    enc.spans.push(span);
    enc.segments.push(segment);
    enc.words.push(word);
  }

  /** Takes back the tokens from `first` on (a word that turned out unknown). */
  private drop(enc: Encoded, first: number): void {
    for (const column of [enc.ids, enc.typeIds, enc.tokens, enc.spans, enc.segments, enc.words]) column.length = first;
  }
}
