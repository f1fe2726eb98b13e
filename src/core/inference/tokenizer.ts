/**
 * A model's own tokenizer in the extension host: the folder's tokenizer.json run by the Hugging Face
 * `tokenizers` library (its Rust core, through the official Node bindings), so that ids and character
 * offsets are those of Python's `tokenizers` for every tokenizer type: WordPiece, byte-level BPE,
 * Unigram. A folder with only vocab.txt gets the BERT WordPiece tokenizer transformers builds from it.
 * Offsets come back in code points and are converted to UTF-16 (offsets.ts). A single text of plain
 * ASCII for a BERT WordPiece tokenizer is encoded by the same rules in JavaScript (wordpiece.ts), with
 * the same result, without the native call's round trip through the thread pool.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type * as Hf from 'tokenizers';
import { codePointToUtf16, type Span } from './offsets';
import { tokenizerInfo, tokenizerJsonFromVocab, tokenText, vocabSettings, type TokenizerInfo } from './tokenizerInfo';
import { AsciiWordPiece } from './wordpiece';

export interface Encoded {
  readonly ids: number[];
  /** Segment ids as the model reads them; all 0 when the tokenizer has no token type ids (RoBERTa, XLM-R). */
  readonly typeIds: number[];
  readonly tokens: string[];
  /** Span of each token in its own segment's text (text for segment 0, pair for 1); null for the tokens the template adds. */
  readonly spans: (Span | null)[];
  /** 0 or 1 for tokens from text or pair, null for the tokens the template adds ([CLS], </s>, ...). */
  readonly segments: (0 | 1 | null)[];
  /** Word of each token within its segment (the pieces of one word share it); null for added tokens. */
  readonly words: (number | null)[];
}

type HfModule = typeof Hf;
let native: Promise<HfModule> | undefined;

/** The `tokenizers` native module, loaded on first use only; a platform without its binary gets a clear error. */
function loadTokenizers(): Promise<HfModule> {
  native ??= import('tokenizers').catch((err: unknown) => {
    native = undefined;
    throw new Error(
      `The tokenizers library has no working binary for ${process.platform}-${process.arch} here (${(err as Error).message}). ` +
        'Install BERT Studio for this platform (the linux-x64 package ships its own), or run `npm install` in a source checkout.',
    );
  });
  return native;
}

/** The raw text of a folder's tokenizer files (read in parallel). `tokenizer` is undefined for a vocab.txt-only folder. */
export interface TokenizerFiles {
  readonly folder: string;
  readonly tokenizer?: string;
  readonly vocab?: string;
  readonly config?: string;
  readonly specialMap?: string;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return undefined;
    throw new Error(`Cannot read ${file} (${e.code ?? e.message}): check its permissions, or re-export the model.`);
  }
}

export async function readTokenizerFiles(folder: string): Promise<TokenizerFiles> {
  const [tokenizer, config, specialMap] = await Promise.all(
    ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'].map((name) => readOptional(path.join(folder, name))),
  );
  const vocab = tokenizer === undefined ? await readOptional(path.join(folder, 'vocab.txt')) : undefined;
  if (tokenizer === undefined && vocab === undefined) {
    throw new Error(`No tokenizer.json (nor vocab.txt) in ${folder}: re-export the model so that the folder has its tokenizer, or copy the tokenizer files of the checkpoint it was trained from.`);
  }
  return { folder, tokenizer, vocab, config, specialMap };
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

/** The tokenizer.json (read, or built from vocab.txt) and what it is, from files already read. */
function parseTokenizerFiles(files: TokenizerFiles): { spec: Record<string, unknown>; info: TokenizerInfo } {
  const file = (name: string): string => path.join(files.folder, name);
  const config = files.config === undefined ? {} : parseJsonFile(files.config, file('tokenizer_config.json'));
  const specialMap = files.specialMap === undefined ? {} : parseJsonFile(files.specialMap, file('special_tokens_map.json'));
  const spec =
    files.tokenizer !== undefined
      ? parseJsonFile(files.tokenizer, file('tokenizer.json'))
      : tokenizerJsonFromVocab(files.vocab ?? '', vocabSettings(config, specialMap), file('vocab.txt'));
  return { spec, info: tokenizerInfo(spec, config, specialMap, files.tokenizer !== undefined ? 'tokenizer.json' : 'vocab.txt') };
}

/**
 * What the tokenizer of a folder is (type, casing, mask token, token type ids...) without loading
 * the native library: for the wizard, the CLI and pre-launch checks. Errors as ModelTokenizer.load's.
 */
export async function describeTokenizer(folder: string): Promise<TokenizerInfo> {
  return parseTokenizerFiles(await readTokenizerFiles(folder)).info;
}

export interface TokenizerOptions {
  /** false: every text through the native tokenizer, none through the JavaScript WordPiece (tests compare the two). */
  readonly javascript?: boolean;
}

export class ModelTokenizer {
  /** One native tokenizer per truncation length (truncation is a setting of the tokenizer, and encodes run in parallel), made on first need. */
  private readonly byLength = new Map<number, Hf.Tokenizer>();
  private padId: number | undefined;

  private constructor(
    private readonly hf: HfModule,
    /** tokenizer.json as a string, with padding and truncation switched off. */
    private readonly json: string,
    private readonly base: Hf.Tokenizer,
    readonly info: TokenizerInfo,
    /** The same tokenizer in JavaScript, answering the texts it takes (wordpiece.ts); undefined unless the file is its shape. */
    readonly ascii?: AsciiWordPiece,
  ) {}

  /** Loads the tokenizer of a local folder; never goes online. */
  static async load(folder: string, options?: TokenizerOptions): Promise<ModelTokenizer> {
    return ModelTokenizer.fromFiles(await readTokenizerFiles(folder), options);
  }

  /** Builds the tokenizer from files already read, each parsed once. */
  static async fromFiles(files: TokenizerFiles, options: TokenizerOptions = {}): Promise<ModelTokenizer> {
    const hf = await loadTokenizers();
    const { spec, info } = parseTokenizerFiles(files);
    // What the model saw in training: transformers encodes without the file's own padding and truncation.
    const json = JSON.stringify({ ...spec, padding: null, truncation: null });
    let base: Hf.Tokenizer;
    try {
      base = hf.Tokenizer.fromString(json);
    } catch (err) {
      throw new Error(`${path.join(files.folder, info.source)}: not a tokenizer the tokenizers library can build (${(err as Error).message}). Re-export the model, or use the tokenizer files of the checkpoint it was trained from.`);
    }
    return new ModelTokenizer(hf, json, base, info, options.javascript === false ? undefined : AsciiWordPiece.from(spec, info.tokenTypeIds));
  }

  get maskToken(): string | undefined {
    return this.info.maskToken;
  }
  get maskTokenId(): number | undefined {
    return this.tokenId(this.info.maskToken);
  }
  /** Asked once: every batch pads with it, and a call into the native tokenizer costs ~10 µs in a request. */
  get padTokenId(): number {
    return (this.padId ??= this.tokenId(this.info.padToken) ?? 0);
  }
  get vocabSize(): number {
    return this.base.getVocabSize(true);
  }

  tokenId(token: string | undefined): number | undefined {
    return token === undefined ? undefined : (this.base.tokenToId(token) ?? undefined);
  }

  idToToken(id: number): string {
    return this.base.idToToken(id) ?? this.info.unkToken ?? '';
  }

  /** How vocabulary entry `id` reads in text, and whether it starts a word (fill-mask candidates). */
  tokenText(id: number): { text: string; startsWord: boolean } {
    return tokenText(this.info, this.idToToken(id));
  }

  /** Token count of text alone, without special tokens and without truncation. */
  async countTokens(text: string): Promise<number> {
    return (await this.base.encode(text, null, { addSpecialTokens: false })).getLength();
  }

  /**
   * Ids, tokens and UTF-16 spans of text (and pair), truncated longest-first to maxLength tokens with
   * the special tokens, exactly as Python's `tokenizers` with truncation at maxLength (Infinity: whole).
   */
  async encode(text: string, pair?: string, maxLength = 512): Promise<Encoded> {
    const fast = pair === undefined ? this.ascii?.encode(text) : undefined;
    if (fast && fast.ids.length <= maxLength) return fast;
    // Most texts fit: encoded whole they need no tokenizer of their own (building one parses tokenizer.json again).
    const whole = await this.base.encode(text, pair ?? null);
    const enc = whole.getLength() <= maxLength ? whole : await this.truncating(maxLength).encode(text, pair ?? null);
    const ids = enc.getIds();
    const sequences = enc.getSequenceIds();
    const offsets = enc.getOffsets();
    const utf16 = [codePointToUtf16(text), pair === undefined ? undefined : codePointToUtf16(pair)];
    const spans = sequences.map((seq, i): Span | null => {
      const map = seq === 0 || seq === 1 ? utf16[seq] : undefined;
      return map ? [map(offsets[i][0]), map(offsets[i][1])] : null;
    });
    return {
      ids,
      typeIds: this.info.tokenTypeIds ? enc.getTypeIds() : ids.map(() => 0),
      tokens: enc.getTokens(),
      spans,
      segments: sequences.map((s) => (s === 0 || s === 1 ? s : null)),
      words: enc.getWordIds().map((w) => w ?? null),
    };
  }

  private truncating(maxLength: number): Hf.Tokenizer {
    let tok = this.byLength.get(maxLength);
    if (!tok) {
      tok = this.hf.Tokenizer.fromString(this.json);
      tok.setTruncation(maxLength);
      this.byLength.set(maxLength, tok);
    }
    return tok;
  }
}
