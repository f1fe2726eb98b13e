/**
 * What a model's tokenizer is, read from its files alone (tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json): the model type, casing, special tokens and mask token, whether it has
 * token type ids, and how a vocabulary entry reads as text. Pure functions: no native code here, so
 * the wizard and the CLI can describe a tokenizer without loading it.
 */
import type { Span } from './offsets';

export type TokenizerKind = 'wordpiece' | 'bpe' | 'unigram' | 'wordlevel';

export interface TokenizerInfo {
  readonly kind: TokenizerKind;
  /** Byte-level pre-tokenizer or decoder (GPT-2 / RoBERTa): tokens spell bytes, "Ġ" for a space. */
  readonly byteLevel: boolean;
  /** The normalizer lowercases the text. */
  readonly lowercase: boolean;
  /** Pre-tokenization adds a space before the first word (ByteLevel add_prefix_space, Metaspace prepend). */
  readonly addPrefixSpace: boolean;
  /** "##" for WordPiece: a token with it continues the word before. */
  readonly continuationPrefix?: string;
  /** "▁" for Metaspace (SentencePiece): a token with it starts a word. */
  readonly wordStartMarker?: string;
  /** The model reads token type ids (segment ids): a second segment is told apart by them. */
  readonly tokenTypeIds: boolean;
  readonly maskToken?: string;
  readonly padToken?: string;
  readonly unkToken?: string;
  readonly clsToken?: string;
  readonly sepToken?: string;
  /** Every special token (added tokens marked special, and the named ones). */
  readonly specialTokens: readonly string[];
  /** Where the tokenizer came from: tokenizer.json, or vocab.txt (BERT WordPiece built as transformers builds it). */
  readonly source: 'tokenizer.json' | 'vocab.txt';
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A special token in tokenizer_config.json: a string, or an AddedToken object with its content. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/** The component and, for a Sequence, every component inside it (depth first). */
function components(node: unknown, key: string): Json[] {
  if (!isObject(node)) return [];
  const inner = node[key];
  return Array.isArray(inner) ? [node, ...inner.flatMap((n) => components(n, key))] : [node];
}

function lowercases(normalizer: unknown): boolean {
  return components(normalizer, 'normalizers').some((n) => n.type === 'Lowercase' || (n.type === 'BertNormalizer' && n.lowercase !== false));
}

/** Token type ids from the post-processor: BERT's yes, RoBERTa's no, a template's when it gives a segment type 1. */
function postProcessorTypeIds(processor: unknown): boolean {
  return components(processor, 'processors').some((p) => {
    if (p.type === 'BertProcessing') return true;
    if (p.type !== 'TemplateProcessing' || !Array.isArray(p.pair)) return false;
    return p.pair.some((piece) => isObject(piece) && Object.values(piece).some((v) => isObject(v) && typeof v.type_id === 'number' && v.type_id !== 0));
  });
}

/**
 * The tokenizer's facts from its parsed files. tokenizer_config.json's names win over
 * special_tokens_map.json's; its model_input_names, when given, decide token type ids (as transformers does).
 */
export function tokenizerInfo(tokenizer: Json, config: Json, specialMap: Json = {}, source: TokenizerInfo['source'] = 'tokenizer.json'): TokenizerInfo {
  const model = isObject(tokenizer.model) ? tokenizer.model : {};
  const type = typeof model.type === 'string' ? model.type.toLowerCase() : '';
  const kind: TokenizerKind = type === 'bpe' || type === 'unigram' || type === 'wordlevel' ? type : 'wordpiece';
  const pre = components(tokenizer.pre_tokenizer, 'pretokenizers');
  const decoders = components(tokenizer.decoder, 'decoders');
  const byteLevel = [...pre, ...decoders].some((c) => c.type === 'ByteLevel');
  const metaspace = [...pre, ...decoders].find((c) => c.type === 'Metaspace');
  const addPrefixSpace =
    pre.some((c) => c.type === 'ByteLevel' && c.add_prefix_space === true) ||
    pre.some((c) => c.type === 'Metaspace' && (c.prepend_scheme === undefined ? c.add_prefix_space !== false : c.prepend_scheme !== 'never'));
  const added = Array.isArray(tokenizer.added_tokens) ? tokenizer.added_tokens.filter(isObject) : [];
  // Without a name in the configs (a folder with tokenizer.json alone): the one special added token that says what it is.
  const guess = (role: string): string | undefined => {
    const found = added.filter((t) => t.special === true && typeof t.content === 'string' && t.content.toLowerCase().includes(role));
    return found.length === 1 ? tokenName(found[0]) : undefined;
  };
  const named = (key: string): string | undefined => tokenName(config[key]) ?? tokenName(specialMap[key]);
  const inputNames = Array.isArray(config.model_input_names) ? config.model_input_names : undefined;
  const names = ['mask_token', 'pad_token', 'unk_token', 'cls_token', 'sep_token', 'bos_token', 'eos_token'].map(named);
  const specialTokens = [...new Set([...added.filter((t) => t.special === true).map((t) => tokenName(t)), ...names].filter((t): t is string => !!t))];
  return {
    kind,
    byteLevel,
    lowercase: lowercases(tokenizer.normalizer),
    addPrefixSpace,
    ...(kind === 'wordpiece' ? { continuationPrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##' } : {}),
    ...(metaspace ? { wordStartMarker: typeof metaspace.replacement === 'string' ? metaspace.replacement : '\u2581' } : {}),
    tokenTypeIds: inputNames ? inputNames.includes('token_type_ids') : postProcessorTypeIds(tokenizer.post_processor),
    maskToken: named('mask_token') ?? guess('mask'),
    padToken: named('pad_token') ?? guess('pad'),
    unkToken: named('unk_token') ?? (typeof model.unk_token === 'string' ? model.unk_token : undefined),
    clsToken: named('cls_token'),
    sepToken: named('sep_token'),
    specialTokens,
    source,
  };
}

/** GPT-2's byte ↔ printable character table: the characters byte-level tokens are spelled with. */
function byteDecoder(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n++);
    }
  }
  return new Map(bytes.map((b, i) => [String.fromCodePoint(chars[i]), b]));
}

let byteTable: Map<string, number> | undefined;

/**
 * How a vocabulary entry reads in text: its characters, and whether it starts a new word (so that a
 * space goes before it) or continues the one before ("##ly", a byte-level piece without "Ġ").
 * Special tokens read as themselves and start a word.
 */
export function tokenText(info: TokenizerInfo, token: string): { text: string; startsWord: boolean } {
  if (info.specialTokens.includes(token)) return { text: token, startsWord: true };
  if (info.continuationPrefix !== undefined) {
    const p = info.continuationPrefix;
    return token.startsWith(p) && token.length > p.length ? { text: token.slice(p.length), startsWord: false } : { text: token, startsWord: true };
  }
  let text = token;
  if (info.byteLevel) {
    byteTable ??= byteDecoder();
    const table = byteTable;
    const bytes = [...token].map((c) => table.get(c));
    if (bytes.every((b): b is number => b !== undefined)) text = Buffer.from(bytes).toString('utf8');
  }
  if (info.wordStartMarker) text = text.split(info.wordStartMarker).join(' ');
  const startsWord = /^\s/.test(text);
  return { text: startsWord ? text.replace(/^\s+/, '') : text, startsWord };
}

/** A BERT vocab.txt folder's tokenizer settings from its tokenizer_config.json (transformers' defaults otherwise). */
export interface VocabSettings {
  readonly lowercase: boolean;
  readonly stripAccents: boolean | null;
  readonly chineseChars: boolean;
  readonly tokens: { readonly unk: string; readonly cls: string; readonly sep: string; readonly pad: string; readonly mask: string };
}

export function vocabSettings(config: Json, specialMap: Json = {}): VocabSettings {
  const named = (key: string, fallback: string): string => tokenName(config[key]) ?? tokenName(specialMap[key]) ?? fallback;
  return {
    lowercase: config.do_lower_case !== false,
    stripAccents: typeof config.strip_accents === 'boolean' ? config.strip_accents : null,
    chineseChars: config.tokenize_chinese_chars !== false,
    tokens: { unk: named('unk_token', '[UNK]'), cls: named('cls_token', '[CLS]'), sep: named('sep_token', '[SEP]'), pad: named('pad_token', '[PAD]'), mask: named('mask_token', '[MASK]') },
  };
}

/**
 * The tokenizer.json that transformers' BertConverter builds from a vocab.txt (BertNormalizer,
 * BertPreTokenizer, WordPiece with "##", [CLS] A [SEP] B [SEP] with token types). `file` names the
 * vocabulary in errors.
 */
export function tokenizerJsonFromVocab(vocabText: string, settings: VocabSettings, file: string): Json {
  const lines = vocabText.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab: Record<string, number> = {};
  lines.forEach((line, i) => (vocab[line.replace(/\r$/, '')] = i));
  const { tokens } = settings;
  for (const [role, token] of Object.entries(tokens)) {
    if (role !== 'mask' && !(token in vocab)) throw new Error(`${file}: no ${token} in the vocabulary, which a BERT tokenizer needs. Use the model's own vocab.txt, or a folder with tokenizer.json.`);
  }
  const special = Object.values(tokens).filter((t) => t in vocab);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...new Set(special)].map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: settings.chineseChars, strip_accents: settings.stripAccents, lowercase: settings.lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: [tokens.sep, vocab[tokens.sep]], cls: [tokens.cls, vocab[tokens.cls]] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: tokens.unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/** Spellings of the mask token that fill-mask reads as the model's own. */
export const MASK_SPELLINGS: readonly string[] = ['[MASK]', '<mask>'];

/**
 * `text` with every other spelling of the mask (MASK_SPELLINGS) written as the model's `mask`, and
 * the map of a span in the new text back to `text`. Unchanged when the text has the model's own.
 */
export function respellMask(text: string, mask: string): { text: string; other?: string; toOriginal: (span: Span) => Span } {
  const same = { text, toOriginal: (s: Span): Span => s };
  if (text.includes(mask)) return same;
  const other = MASK_SPELLINGS.find((s) => s !== mask && text.includes(s));
  if (!other) return same;
  const starts: number[] = []; // where each replacement starts in the new text
  const parts = text.split(other);
  let out = parts[0];
  for (const part of parts.slice(1)) {
    starts.push(out.length);
    out += mask + part;
  }
  const delta = mask.length - other.length;
  const back = (offset: number): number => {
    let shift = 0;
    for (const st of starts) {
      if (offset >= st + mask.length) shift += delta;
      else if (offset > st) return offset - shift - Math.max(0, offset - st - other.length); // inside a replaced mask
    }
    return offset - shift;
  };
  return { text: out, other, toOriginal: (s) => [back(s[0]), back(s[1])] };
}
