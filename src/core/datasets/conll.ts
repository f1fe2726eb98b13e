// CoNLL-style token files: one token per line, whitespace-separated columns (the token and the tag
// at any positions), blank lines between sentences, `-DOCSTART-` lines between documents.

import type { SplitContext } from './context';
import { replaceFix } from './diagnostics';
import { charColumn, type LineReader } from './lineReader';
import type { ColumnMapping, TagScheme } from './types';

const MAX_SENTENCE_TOKENS = 10_000;
const MAX_COLUMNS = 256;
const DOCSTART = Buffer.from('-DOCSTART-');

/** A tag's entity type (`PER` of `B-PER`), or undefined for O. */
export function entityType(tag: string): string | undefined {
  return tag.length > 2 && tag.charCodeAt(1) === 45 ? tag.slice(2) : undefined;
}

export function isValidTag(tag: string): boolean {
  if (tag === 'O') return true;
  const p = tag.charCodeAt(0);
  // B, I, E, S (BIOES is accepted too), then '-' and a type.
  return tag.length > 2 && tag.charCodeAt(1) === 45 && (p === 66 || p === 73 || p === 69 || p === 83);
}

/** The tag a malformed one most likely meant: `b-per`/`B_PER` → `B-PER`, `o` → `O`. */
export function repairTag(tag: string): string | undefined {
  if (tag === 'o' || tag === '0') return 'O';
  const m = /^([bies])[-_:.]?(.+)$/i.exec(tag);
  if (m && /[-_:.]/.test(tag[1] ?? '')) return `${m[1].toUpperCase()}-${m[2]}`;
  return undefined;
}

/**
 * IOB2 rule: an entity starts with B-X, so I-X may only follow B-X or I-X. Returns the tag to use
 * instead when `tag` breaks it.
 */
export function iob2Violation(prev: string | undefined, tag: string): string | undefined {
  if (tag.charCodeAt(0) !== 73) return undefined;
  const type = entityType(tag);
  if (!type) return undefined;
  if (prev && (prev.charCodeAt(0) === 66 || prev.charCodeAt(0) === 73) && entityType(prev) === type) return undefined;
  return `B-${type}`;
}

function resolveColumn(col: string | number | undefined, fallback: number, width: number): number {
  const n = col === undefined ? fallback : typeof col === 'number' ? col : Number(col);
  if (!Number.isInteger(n)) return -1;
  const i = n < 0 ? width + n : n;
  return i >= 0 && i < width ? i : -1;
}

export async function readConll(reader: LineReader, ctx: SplitContext, mapping: ColumnMapping, scheme: TagScheme): Promise<void> {
  const bag = ctx.bag;
  const starts = new Int32Array(MAX_COLUMNS);
  const ends = new Int32Array(MAX_COLUMNS);
  let width = -1;
  let tokens: string[] = [];
  let tags: string[] = [];
  let firstLine = 0;
  let bad = false;
  let prevTag: string | undefined;
  let tokenTotal = 0;
  let documents = 0;

  const flush = (): void | Promise<void> => {
    if (tokens.length === 0) return;
    let r: void | Promise<void> = undefined;
    if (bad) ctx.skip();
    else {
      tokenTotal += tokens.length;
      let prev: string | undefined;
      for (const t of tags) {
        ctx.tally('labels', t);
        const type = entityType(t);
        if (type && (t[0] === 'B' || t[0] === 'S' || !prev || entityType(prev) !== type)) ctx.tally('entities', type);
        prev = t;
      }
      // Very short sentences ("SOCCER -") recur legitimately; only longer ones count as leaks.
      r = ctx.keep({ tokens, tags, source: { file: ctx.file, line: firstLine } }, tokens.length >= 4 ? tokens.join(' ') : undefined, firstLine, false);
    }
    tokens = [];
    tags = [];
    bad = false;
    prevTag = undefined;
    return r;
  };

  await reader.run((buf, s, e, line) => {
    // Split on spaces and tabs.
    let n = 0;
    let i = s;
    while (i < e) {
      while (i < e && (buf[i] === 32 || buf[i] === 9)) i++;
      if (i >= e) break;
      if (n < MAX_COLUMNS) starts[n] = i;
      while (i < e && buf[i] !== 32 && buf[i] !== 9) i++;
      if (n < MAX_COLUMNS) ends[n++] = i;
    }
    if (n === 0) return flush();
    if (ends[0] - starts[0] === DOCSTART.length && buf.compare(DOCSTART, 0, DOCSTART.length, starts[0], ends[0]) === 0) {
      documents++;
      return flush();
    }
    if (width < 0) width = n;
    if (n !== width) {
      bag.add('error', 'row.columnCount', line, 1, `This token line has ${n} columns; the file's lines have ${width}. A token with a space in it, or a missing tag? Fix the line; its sentence is skipped until then.`);
      bad = true;
      if (tokens.length === 0) firstLine = line;
      tokens.push('');
      tags.push('O');
      return;
    }
    const tokenCol = resolveColumn(mapping.tokens, 0, width);
    const tagCol = resolveColumn(mapping.tags, -1, width);
    if (tokenCol < 0 || tagCol < 0) {
      bag.add('error', 'row.columnCount', line, 1, `The mapping asks for token column ${String(mapping.tokens ?? 0)} and tag column ${String(mapping.tags ?? -1)}, but lines have ${width} columns. Change the mapping.`);
      bad = true;
      return;
    }
    const token = buf.toString(reader.enc, starts[tokenCol], ends[tokenCol]);
    const tag = buf.toString(reader.enc, starts[tagCol], ends[tagCol]);
    const col = (): [number, number] => {
      const c = charColumn(buf, s, starts[tagCol], reader.enc);
      return [c, c + tag.length];
    };
    if (!isValidTag(tag)) {
      const [c0, c1] = col();
      const fixed = repairTag(tag);
      bag.add('error', 'tag.invalid', line, c0, `"${tag}" is not a tag: use O, or B-TYPE / I-TYPE (e.g. B-PER). ${fixed ? `Did you mean "${fixed}"?` : 'Check the tag column in the mapping.'}`, {
        endColumn: c1,
        fix: fixed ? replaceFix(`Change to "${fixed}"`, line, c0, c1, fixed) : undefined,
      });
      bad = true;
    } else {
      if (scheme === 'iob2') {
        const fixed = iob2Violation(prevTag, tag);
        if (fixed) {
          const [c0, c1] = col();
          bag.add('error', 'tag.iobStart', line, c0, `"${tag}" after ${prevTag ? `"${prevTag}"` : 'the sentence start'}: in IOB2 an entity starts with B-, so this should be "${fixed}". (If the file is IOB1, import it with the IOB1 tag scheme.)`, {
            endColumn: c1,
            fix: replaceFix(`Change to "${fixed}"`, line, c0, c1, fixed),
          });
        }
      }
      const [c0, c1] = col();
      ctx.shared.tags.see(tag, ctx.isTrain, bag, line, c0, c1);
    }
    prevTag = tag;
    let waiting: void | Promise<void> = undefined;
    if (tokens.length >= MAX_SENTENCE_TOKENS) {
      bag.add('warning', 'sentence.tooLong', line, 1, `A sentence longer than ${MAX_SENTENCE_TOKENS} tokens: is a blank line between sentences missing? It was split here.`);
      waiting = flush();
    }
    if (tokens.length === 0) firstLine = line;
    tokens.push(token);
    tags.push(tag);
    return waiting;
  });
  await flush();
  ctx.counts.tokens = tokenTotal;
  ctx.counts.documents = documents;
}
