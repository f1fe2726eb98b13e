/** WordPiece tokenization through @huggingface/transformers, plus character offsets (offsets.ts). */
import { readFileSync } from 'node:fs';
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
let loading: Promise<unknown> = Promise.resolve();

function loadTransformers(): Promise<TransformersModule> {
  transformers ??= import('@huggingface/transformers').then((m) => {
    m.env.allowRemoteModels = false;
    m.env.allowLocalModels = true;
    m.env.useFSCache = false;
    return m;
  });
  return transformers;
}

function readNormalizer(folder: string): NormalizerOptions {
  try {
    const json: unknown = JSON.parse(readFileSync(path.join(folder, 'tokenizer.json'), 'utf8'));
    const n = (json as { normalizer?: Record<string, unknown> | null }).normalizer;
    if (!n || n.type !== 'BertNormalizer') return BERT_UNCASED;
    const lowercase = n.lowercase !== false;
    return {
      lowercase,
      stripAccents: typeof n.strip_accents === 'boolean' ? n.strip_accents : lowercase,
      cleanText: n.clean_text !== false,
      handleChineseChars: n.handle_chinese_chars !== false,
    };
  } catch {
    return BERT_UNCASED;
  }
}

export class WordPieceTokenizer {
  private readonly idToTokenMap: string[] = [];
  private readonly noText: Set<string>;

  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    readonly normalizer: NormalizerOptions,
  ) {
    for (const [token, id] of tokenizer.get_vocab()) this.idToTokenMap[id] = token;
    this.noText = new Set([tokenizer.sep_token, tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token].filter((t): t is string => !!t));
    this.noText.add('[CLS]').add('[SEP]').add('[PAD]');
  }

  /** Loads tokenizer.json + tokenizer_config.json from a local folder; never goes online. */
  static async load(folder: string): Promise<WordPieceTokenizer> {
    const tf = await loadTransformers();
    // env.localModelPath is global: loads take turns so two folders never see each other's path.
    const run = loading.then(async () => {
      tf.env.localModelPath = path.dirname(path.resolve(folder));
      return tf.AutoTokenizer.from_pretrained(path.basename(path.resolve(folder)), { local_files_only: true });
    });
    loading = run.catch(() => undefined);
    return new WordPieceTokenizer(await run, readNormalizer(folder));
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
    return this.idToTokenMap[id] ?? this.tokenizer.unk_token ?? '[UNK]';
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
