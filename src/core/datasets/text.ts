// Plain-text corpora for pretraining: one sentence per line with blank lines between documents,
// one document per line, or WikiText (articles under ` = Title = ` headings, one paragraph per
// line). Each document becomes {"sentences": [...]}.

import type { SplitContext } from './context';
import type { LineReader } from './lineReader';
import type { TextMode } from './types';

/** A document is cut when it grows past this many characters, so memory stays bounded. */
const MAX_DOCUMENT_CHARS = 8 * 1024 * 1024;

/** ` = Title = ` (one `=` each side) starts a WikiText article; ` = = Section = = ` does not. */
export function isWikiTitle(line: string): boolean {
  const t = line.trim();
  return t.length > 4 && t.startsWith('= ') && t.endsWith(' =') && !t.startsWith('= =') && !t.endsWith('= =');
}
export function isWikiHeading(line: string): boolean {
  const t = line.trim();
  return t.length > 4 && t.startsWith('= ') && t.endsWith(' =');
}

/** Guesses the layout from a sample of the file's first lines. */
export function detectTextMode(sample: string): TextMode {
  const lines = sample.split(/\r?\n/);
  if (lines.some(isWikiTitle) && lines.some((l) => isWikiHeading(l) && !isWikiTitle(l))) return 'wikitext';
  if (lines.some(isWikiTitle)) return 'wikitext';
  const blank = lines.filter((l) => !l.trim()).length;
  return blank > 0 && blank < lines.length / 2 ? 'sentences' : 'documents';
}

export async function readText(reader: LineReader, ctx: SplitContext, mode: TextMode): Promise<void> {
  let sentences: string[] = [];
  let chars = 0;
  let startLine = 0;
  let docs = 0;
  let total = 0;

  const flush = (): void | Promise<void> => {
    if (sentences.length === 0) return;
    docs++;
    total += sentences.length;
    const r = ctx.keep({ sentences, source: { file: ctx.file, line: startLine } }, undefined, startLine, mode === 'documents');
    sentences = [];
    chars = 0;
    return r;
  };

  await reader.run((buf, s, e, line): void | Promise<void> => {
    let blank = true;
    for (let i = s; i < e; i++) if (buf[i] !== 32 && buf[i] !== 9) {
      blank = false;
      break;
    }
    if (mode === 'documents') {
      if (blank) return;
      startLine = line;
      sentences.push(buf.toString(reader.enc, s, e).trim());
      return flush();
    }
    if (blank) return mode === 'sentences' ? flush() : undefined;
    const text = buf.toString(reader.enc, s, e).trim();
    if (mode === 'wikitext' && isWikiHeading(text)) {
      return isWikiTitle(text) ? flush() : undefined;
    }
    let waiting: void | Promise<void> = undefined;
    if (chars + text.length > MAX_DOCUMENT_CHARS) {
      ctx.bag.add('warning', 'document.tooLong', line, 1, `A document longer than ${MAX_DOCUMENT_CHARS / 1048576} Mi characters: is a blank line between documents missing? It was cut here.`);
      waiting = flush();
    }
    if (sentences.length === 0) startLine = line;
    sentences.push(text);
    chars += text.length;
    return waiting;
  });
  await flush();
  ctx.counts.documents = docs;
  ctx.counts.tokens = total;
}
