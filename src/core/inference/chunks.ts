/** Pieces of a document small enough for one request, with their offsets in it. */

/** Paragraphs longer than this are split into lines so each chunk stays within 512 tokens. */
export const MAX_CHUNK_CHARS = 1500;

export interface TextChunk {
  readonly text: string;
  /** UTF-16 offset of `text` in the document (`base` + its offset in the text given). */
  readonly offset: number;
}

/**
 * Paragraphs of `text` (split at blank lines, `\n` or `\r\n`), each paragraph over MAX_CHUNK_CHARS
 * split into its lines (a line over it cut). `base` is where `text` starts in the document (a
 * selection's start), so `document.slice(c.offset, c.offset + c.text.length) === c.text`.
 */
export function textChunks(text: string, base = 0): TextChunk[] {
  const out: TextChunk[] = [];
  const re = /\S[\s\S]*?(?=(?:\r?\n)[ \t]*(?:\r?\n)|$)/g;
  for (const m of text.matchAll(re)) {
    const offset = base + (m.index ?? 0);
    if (m[0].length <= MAX_CHUNK_CHARS) out.push({ text: m[0], offset });
    else for (const l of m[0].matchAll(/[^\r\n]+/g)) out.push({ text: l[0].slice(0, MAX_CHUNK_CHARS), offset: offset + (l.index ?? 0) });
  }
  return out;
}
