/** WordPiece tokenization through @huggingface/transformers, plus character offsets (offsets.ts). */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type * as Transformers from '@huggingface/transformers';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { alignTokens, BERT_UNCASED, type NormalizerOptions, type Span } from './offsets';

export interface Encoded {
  readonly ids: number[];
  readonly typeIds: number[];
  readonly tokens: string[];
  /** Span of each token in its own segment's text (text for segment 0, pair for 1); null for specials. */
  readonly spans: (Span | null)[];
  /** 0 or 1 for tokens from text or pair, null for [CLS]/[SEP]. */
  readonly segments: (0 | 1 | null)[];
}

type TransformersModule = typeof Transformers;
let transformers: Promise<TransformersModule> | undefined;

function loadTransformers(): Promise<TransformersModule> {
  transformers ??= import('@huggingface/transformers').then((m) => {
    m.env.allowRemoteModels = false;
    m.env.allowLocalModels = true;
    m.env.useFSCache = false;
    return m;
  });
  return transformers;
}

/** The raw text of a folder's tokenizer.json and tokenizer_config.json (read in parallel). */
export interface TokenizerFiles {
  readonly folder: string;
  readonly tokenizer: string;
  readonly config: string;
}

export async function readTokenizerFiles(folder: string): Promise<TokenizerFiles> {
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(path.join(folder, name), 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(`Cannot read ${path.join(folder, name)} (${e.code ?? e.message}): re-export the model so that the folder has tokenizer.json and tokenizer_config.json.`);
    }
  };
  const [tokenizer, config] = await Promise.all([read('tokenizer.json'), read('tokenizer_config.json')]);
  return { folder, tokenizer, config };
}

/**
 * Where JSON.parse failed. V8 gives "at position N" for most errors but not for an unexpected token;
 * then the shortest prefix that fails before its own end locates it (error path only).
 */
function jsonErrorOffset(text: string, message: string): number {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  const failsInside = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return false;
    } catch (e) {
      const m = (e as Error).message;
      if (/end of JSON input/.test(m)) return false;
      const p = /at position (\d+)/.exec(m);
      return !p || Number(p[1]) < n;
    }
  };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsInside(mid)) hi = mid;
    else lo = mid + 1;
  }
  return Math.max(0, lo - 1);
}

/** JSON.parse with an error naming the file and the line, and what to do. */
function parseJsonFile(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const line = text.slice(0, jsonErrorOffset(text, message)).split('\n').length;
    throw new Error(`${file}, line ${line}: not valid JSON (${message}). Re-export the model, or restore the file from the training run.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file}: expected a JSON object. Re-export the model.`);
  return value as Record<string, unknown>;
}

function readNormalizer(json: Record<string, unknown>): NormalizerOptions {
  const n = json.normalizer as Record<string, unknown> | null | undefined;
  if (!n || n.type !== 'BertNormalizer') return BERT_UNCASED;
  const lowercase = n.lowercase !== false;
  return {
    lowercase,
    stripAccents: typeof n.strip_accents === 'boolean' ? n.strip_accents : lowercase,
    cleanText: n.clean_text !== false,
    handleChineseChars: n.handle_chinese_chars !== false,
  };
}

export class WordPieceTokenizer {
  private readonly noText: Set<string>;

  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    readonly normalizer: NormalizerOptions,
  ) {
    this.noText = new Set([tokenizer.sep_token, tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token].filter((t): t is string => !!t));
    this.noText.add('[CLS]').add('[SEP]').add('[PAD]');
  }

  /** Loads tokenizer.json + tokenizer_config.json from a local folder; never goes online. */
  static async load(folder: string): Promise<WordPieceTokenizer> {
    return WordPieceTokenizer.fromFiles(await readTokenizerFiles(folder));
  }

  /**
   * Builds the tokenizer from files already read: each parsed once (tokenizer.json is ~0.7 MB), the
   * transformers.js class named by tokenizer_config.json constructed directly, as
   * AutoTokenizer.from_pretrained would, without its second read and its global model path.
   */
  static async fromFiles(files: TokenizerFiles): Promise<WordPieceTokenizer> {
    const tf = await loadTransformers();
    const json = parseJsonFile(files.tokenizer, path.join(files.folder, 'tokenizer.json'));
    const config = parseJsonFile(files.config, path.join(files.folder, 'tokenizer_config.json'));
    const name = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
    const named = (tf as unknown as Record<string, unknown>)[name];
    const Class = typeof named === 'function' && named.prototype instanceof tf.PreTrainedTokenizer ? (named as typeof tf.PreTrainedTokenizer) : tf.PreTrainedTokenizer;
    let tokenizer: PreTrainedTokenizer;
    try {
      tokenizer = new (Class as unknown as new (json: object, config: object) => PreTrainedTokenizer)(json, config);
    } catch (err) {
      throw new Error(`${path.join(files.folder, 'tokenizer.json')}: not a tokenizer transformers.js can build (${(err as Error).message}). Re-export the model.`);
    }
    return new WordPieceTokenizer(tokenizer, readNormalizer(json));
  }

  get maskTokenId(): number | undefined {
    return this.tokenizer.mask_token ? this.tokenizer.mask_token_id : undefined;
  }
  get maskToken(): string {
    return this.tokenizer.mask_token ?? '[MASK]';
  }
  get padTokenId(): number {
    return this.tokenizer.pad_token_id ?? 0;
  }

  idToToken(id: number): string {
    // The tokenizer's own id → token array: get_vocab() would build a 30k-entry Map per load.
    return this.tokenizer._tokenizer.id_to_token(id) ?? this.tokenizer.unk_token ?? '[UNK]';
  }

  /** Token count of text alone, without special tokens. */
  countTokens(text: string): number {
    return this.tokenizer.tokenize(text).length;
  }

  encode(text: string, pair?: string, maxLength = 512): Encoded {
    const enc = this.tokenizer(text, {
      text_pair: pair ?? null,
      return_tensor: false,
      truncation: true,
      max_length: maxLength,
      return_token_type_ids: true,
    });
    const ids = enc.input_ids;
    const typeIds = enc.token_type_ids ?? ids.map(() => 0);
    const tokens = ids.map((id) => this.idToToken(id));
    const spans: (Span | null)[] = new Array<Span | null>(ids.length).fill(null);
    const segments: (0 | 1 | null)[] = tokens.map((t, i) => (this.noText.has(t) ? null : typeIds[i] === 1 ? 1 : 0));
    const align = { normalizer: this.normalizer, unkToken: this.tokenizer.unk_token ?? '[UNK]', skipTokens: this.noText };
    for (const seg of [0, 1] as const) {
      const source = seg === 0 ? text : pair;
      if (source === undefined) continue;
      const idx = segments.flatMap((s, i) => (s === seg ? [i] : []));
      const segSpans = alignTokens(source, idx.map((i) => tokens[i]), align);
      idx.forEach((i, k) => (spans[i] = segSpans[k]));
    }
    return { ids, typeIds, tokens, spans, segments };
  }
}
