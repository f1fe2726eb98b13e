/**
 * Character offsets of WordPiece tokens in the ORIGINAL text.
 *
 * transformers.js returns ids and token strings but no offset mapping, so we replay the BERT
 * normalizer (clean text, CJK spacing, accent stripping, lowercasing) over the original string,
 * keeping for every normalized UTF-16 unit the range of the original code point it came from, and
 * walk the tokens through that stream. Offsets are UTF-16 indices (what JavaScript strings and VS
 * Code positions use), so emoji, surrogate pairs, combining accents and "\r\n" map back exactly.
 */

export interface NormalizerOptions {
  readonly lowercase: boolean;
  readonly stripAccents: boolean;
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
}

export const BERT_UNCASED: NormalizerOptions = { lowercase: true, stripAccents: true, cleanText: true, handleChineseChars: true };

/** [start, end) in UTF-16 code units of the original text. */
export type Span = readonly [number, number];

interface Unit {
  readonly ch: string;
  readonly start: number;
  readonly end: number;
  /** Begins a code point that is punctuation or CJK (a word of its own for the pre-tokenizer). */
  readonly isolated: boolean;
}

const PUNCT = /\p{P}/u;
const MARK = /\p{Mn}/u;
const CONTROL = /[\p{Cc}\p{Cf}]/u;
const SPACE_SEP = /\p{Zs}/u;

function isWhitespace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || SPACE_SEP.test(c);
}

function isPunctuation(cp: number, c: string): boolean {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) || PUNCT.test(c);
}

function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** The normalizer's output for one code point ('' when it is dropped, ' ' for whitespace). */
export function normalizeChar(c: string, opts: NormalizerOptions): string {
  const cp = c.codePointAt(0) ?? 0;
  if (opts.cleanText) {
    if (isWhitespace(c)) return ' ';
    if (cp === 0 || cp === 0xfffd || CONTROL.test(c)) return '';
  } else if (isWhitespace(c)) return ' ';
  let out = c;
  if (opts.stripAccents) out = [...out.normalize('NFD')].filter((m) => !MARK.test(m)).join('');
  if (opts.lowercase) out = out.toLowerCase();
  return out;
}

export function normalizeText(text: string, opts: NormalizerOptions): string {
  let out = '';
  for (const c of text) out += normalizeChar(c, opts);
  return out;
}

function buildUnits(text: string, opts: NormalizerOptions): Unit[] {
  const units: Unit[] = [];
  let i = 0;
  for (const c of text) {
    const cp = c.codePointAt(0) ?? 0;
    const norm = normalizeChar(c, opts);
    const isolated = isPunctuation(cp, c) || (opts.handleChineseChars && isChinese(cp));
    for (let k = 0; k < norm.length; k++) units.push({ ch: norm[k], start: i, end: i + c.length, isolated });
    i += c.length;
  }
  return units;
}

export interface AlignOptions {
  readonly normalizer: NormalizerOptions;
  readonly unkToken: string;
  /** Tokens that never appear in the text ([CLS], [SEP], [PAD]): they get no span. */
  readonly skipTokens: ReadonlySet<string>;
  readonly continuationPrefix?: string;
}

/**
 * The span of each token in `text`, or null for tokens with no text ([CLS], [SEP]) or none found.
 * `tokens` are one segment's tokens in order, special tokens included.
 */
export function alignTokens(text: string, tokens: readonly string[], opts: AlignOptions): (Span | null)[] {
  const units = buildUnits(text, opts.normalizer);
  const joined = units.map((u) => u.ch).join('');
  const prefix = opts.continuationPrefix ?? '##';
  const spans: (Span | null)[] = [];
  let p = 0;
  const skipSpaces = (): void => {
    while (p < units.length && units[p].ch === ' ') p++;
  };
  for (const token of tokens) {
    if (opts.skipTokens.has(token)) {
      spans.push(null);
      continue;
    }
    skipSpaces();
    if (p >= units.length) {
      spans.push(null);
      continue;
    }
    const first = p;
    if (token === opts.unkToken) {
      // WordPiece gives [UNK] for a whole pre-tokenized word: one punctuation/CJK character, or a run up to the next.
      if (units[p].isolated) {
        const start = units[p].start;
        while (p < units.length && units[p].start === start) p++;
      } else {
        while (p < units.length && units[p].ch !== ' ' && !units[p].isolated) p++;
      }
    } else {
      const piece = normalizeText(token.startsWith(prefix) && token.length > prefix.length ? token.slice(prefix.length) : token, opts.normalizer);
      if (joined.startsWith(piece, p)) {
        p += piece.length;
      } else {
        // Resynchronise rather than give up: the token is normally just ahead.
        const at = joined.indexOf(piece, p);
        if (piece.length === 0 || at < 0 || at - p > 64) {
          spans.push(null);
          continue;
        }
        p = at + piece.length;
        spans.push([units[at].start, units[p - 1].end]);
        continue;
      }
    }
    spans.push([units[first].start, units[p - 1].end]);
  }
  return spans;
}
