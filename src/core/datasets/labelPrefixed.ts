// Label-prefixed text lines for sequence classification: fastText `__label__pos great film`
// (several `__label__` words: a multi-label example), `LABEL text` and TREC's `DESC:manner How …`.
// Chosen with FormatOptions.labelPrefix on the `text` format: the separator between label and text
// (default: the first space or tab) and an optional transform (`coarse`: keep the part of the label
// before `:`), so TREC's coarse and fine label sets come from the same file. Records are the
// snapshot's usual {text, label, source}; the options are kept in the manifest, so re-validation
// reads the file the same way.

import { keepClassification, type LabelItem } from './classification';
import type { SplitContext } from './context';
import type { LineReader } from './lineReader';

export interface LabelPrefixOptions {
  /** Between the label and the text; default: the first run of spaces or tabs. */
  readonly separator?: string;
  /** Keep the part of each label before `:` (TREC's coarse classes: `DESC:manner` → `DESC`). */
  readonly coarse?: boolean;
}

const FASTTEXT = '__label__';

export interface SplitLine {
  /** Labels with their 1-based columns (end exclusive). */
  readonly labels: LabelItem[];
  readonly text: string;
  /** 1-based column where the text starts. */
  readonly textColumn: number;
}

/** Label(s) and text of one line, or undefined when the line has no separator (or no text). */
export function splitLabelPrefixed(line: string, opts: LabelPrefixOptions = {}): SplitLine | undefined {
  const labels: LabelItem[] = [];
  const transform = (v: string): string => (opts.coarse ? v.split(':')[0] : v);
  let at = 0;
  const take = (): { value: string; start: number; end: number; next: number } | undefined => {
    if (opts.separator) {
      const d = line.indexOf(opts.separator, at);
      if (d < 0) return undefined;
      return { value: line.slice(at, d), start: at, end: d, next: d + opts.separator.length };
    }
    const m = /[ \t]+/.exec(line.slice(at));
    if (!m) return undefined;
    return { value: line.slice(at, at + m.index), start: at, end: at + m.index, next: at + m.index + m[0].length };
  };
  for (;;) {
    const t = take();
    if (!t) return undefined;
    const fast = t.value.startsWith(FASTTEXT);
    const value = transform(fast ? t.value.slice(FASTTEXT.length) : t.value).trim();
    labels.push({ value, column: t.start + 1 + (fast ? FASTTEXT.length : 0), endColumn: t.end + 1 });
    at = t.next;
    // fastText: every leading `__label__` word is a label.
    if (!fast || !line.startsWith(FASTTEXT, at)) break;
  }
  const text = line.slice(at);
  if (!text.trim()) return undefined;
  return { labels, text, textColumn: at + 1 };
}

export async function readLabelPrefixed(reader: LineReader, ctx: SplitContext, opts: LabelPrefixOptions): Promise<void> {
  const bag = ctx.bag;
  const multi = ctx.shared.request.multiLabel === true;
  const sep = opts.separator === undefined ? 'a space' : opts.separator === '\t' ? 'a tab' : JSON.stringify(opts.separator);
  await reader.run((buf, s, e, line): void | Promise<void> => {
    const raw = buf.toString(reader.enc, s, e);
    if (!raw.trim()) return;
    const lineText = raw.replace(/\r$/, '');
    const parts = splitLabelPrefixed(lineText, opts);
    if (!parts) {
      bag.add('error', 'label.prefix', line, 1, `No label and text here: each line is a label, ${sep}, then the text (e.g. "DESC:manner How did serfdom develop ?" or "__label__positive great film"). Fix the line or remove it${opts.separator !== undefined ? ', or choose another separator' : ''}.`, { endColumn: lineText.length + 1 });
      ctx.skip();
      return;
    }
    const { labels, text, textColumn } = parts;
    const spans = { text: [textColumn, lineText.length + 1] as const, label: [labels[0].column, labels[labels.length - 1].endColumn] as const };
    if (multi) return keepClassification(ctx, line, text, undefined, labels, spans, true);
    if (labels.length > 1) {
      bag.add('error', 'label.several', line, labels[0].column, `This line has ${labels.length} labels (${labels.map((l) => l.value).join(', ')}): import the file as multi-label (--multi-label) to keep them all, or keep one label per line.`, { endColumn: labels[labels.length - 1].endColumn });
      ctx.skip();
      return;
    }
    return keepClassification(ctx, line, text, undefined, labels[0].value, spans, true);
  });
}
