// The checks every sequence-classification example gets, whatever file format it came from.

import { deleteLineFix, replaceFix } from './diagnostics';
import type { SplitContext } from './context';

/**
 * One label of a multi-label example, with where it is on its line (1-based columns, end
 * exclusive) and the span a quick fix deletes to drop it (the item and one separator).
 */
export interface LabelItem {
  readonly value: string;
  readonly column: number;
  readonly endColumn: number;
  readonly cut?: readonly [number, number];
}

/** A delimiter-separated label cell split into items; `column` is where the cell starts (1-based). */
export function splitLabelCell(cell: string, delimiter: string, column: number): LabelItem[] {
  if (isBlank(cell)) return [];
  const items: LabelItem[] = [];
  let i = 0;
  for (;;) {
    const d = cell.indexOf(delimiter, i);
    const end = d < 0 ? cell.length : d;
    const raw = cell.slice(i, end);
    const lead = raw.length - raw.trimStart().length;
    const value = raw.trim();
    // Dropping an item drops its separator too: the one after it, or for the last item the one before.
    const cut: [number, number] = d >= 0 ? [column + i, column + d + delimiter.length] : i > 0 ? [column + i - delimiter.length, column + end] : [column + i, column + end];
    items.push({ value, column: column + i + lead, endColumn: column + i + lead + value.length, cut });
    if (d < 0) break;
    i = d + delimiter.length;
  }
  return items;
}

/** Columns (1-based, end exclusive) of a row's fields, for diagnostics. */
export interface FieldSpans {
  readonly text: readonly [number, number];
  readonly textPair?: readonly [number, number];
  readonly label?: readonly [number, number];
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 160 && c !== 13) return false;
  }
  return true;
}

/**
 * Checks and keeps one example. `label` undefined means the split has no label column (allowed
 * in test only). `deletable`: the example is one line, so "remove line" is a valid fix.
 */
export function keepClassification(
  ctx: SplitContext,
  line: number,
  text: string,
  textPair: string | undefined,
  label: string | readonly LabelItem[] | undefined,
  spans: FieldSpans,
  deletable: boolean,
): void | Promise<void> {
  const bag = ctx.bag;
  if (!textsOk(ctx, line, text, textPair, spans, deletable)) return;
  if (typeof label === 'object') return keepMultiLabel(ctx, line, text, textPair, label, deletable);
  if (label !== undefined) {
    const sp = spans.label ?? spans.text;
    if (isBlank(label)) {
      bag.add('error', 'label.missing', line, sp[0], 'Missing label: every training and validation example needs one. Add the label or remove the row.', {
        endColumn: sp[1],
        fix: deletable ? deleteLineFix(line, 'Remove this row') : undefined,
      });
      ctx.skip();
      return;
    }
    if (!ctx.shared.labels.see(label, ctx.isTrain, bag, line, sp[0], sp[1])) {
      ctx.skip();
      return;
    }
    ctx.tally('labels', label);
  } else if (ctx.split !== 'test') {
    bag.add('error', 'label.missing', line, 1, 'Missing label: every training and validation example needs one. Add the label or remove the row.', {
      fix: deletable ? deleteLineFix(line, 'Remove this row') : undefined,
    });
    ctx.skip();
    return;
  }
  const record = textPair === undefined ? { text, label, source: { file: ctx.file, line } } : { text, text_pair: textPair, label, source: { file: ctx.file, line } };
  return ctx.keep(record, textPair === undefined ? text : `${text}\u0000${textPair}`, line, deletable);
}

/** `text` / `textPair` checks shared by both kinds of example; false when the example is skipped. */
function textsOk(ctx: SplitContext, line: number, text: string, textPair: string | undefined, spans: FieldSpans, deletable: boolean): boolean {
  const bag = ctx.bag;
  const blankText = isBlank(text);
  if (!blankText && (textPair === undefined || !isBlank(textPair))) return true;
  const sp = blankText ? spans.text : (spans.textPair ?? spans.text);
  bag.add('error', 'text.empty', line, sp[0], blankText ? 'Empty text: an example needs text to classify. Fill it in or remove the row.' : 'Empty second text of a text pair. Fill it in or remove the row.', {
    endColumn: sp[1],
    fix: deletable ? deleteLineFix(line, 'Remove this row') : undefined,
  });
  ctx.skip();
  return false;
}

/**
 * A multi-label example whose texts passed `textsOk`: its label set may be empty (no label
 * applies). An empty item ("A||B") or a label listed twice is reported with a fix that drops it,
 * and the example is kept without it, as the trainer would read it; each label is checked against
 * train like a single label.
 */
function keepMultiLabel(
  ctx: SplitContext,
  line: number,
  text: string,
  textPair: string | undefined,
  items: readonly LabelItem[],
  deletable: boolean,
): void | Promise<void> {
  const bag = ctx.bag;
  const set: string[] = [];
  for (const it of items) {
    const fix = it.cut ? replaceFix('Remove this label', line, it.cut[0], it.cut[1], '') : undefined;
    if (isBlank(it.value)) {
      bag.add('warning', 'label.emptyItem', line, it.cut?.[0] ?? it.column, 'Empty label in the label set (two separators in a row, or a trailing one): it is ignored. Remove it.', {
        endColumn: it.cut?.[1] ?? it.endColumn,
        fix,
      });
      continue;
    }
    if (set.includes(it.value)) {
      bag.add('warning', 'label.duplicate', line, it.column, `"${it.value}" is listed twice in this example's label set: it counts once. Remove the repeat.`, { endColumn: it.endColumn, fix });
      continue;
    }
    if (!ctx.shared.labels.see(it.value, ctx.isTrain, bag, line, it.column, it.endColumn)) {
      ctx.skip();
      return;
    }
    set.push(it.value);
  }
  for (const l of set) ctx.tally('labels', l);
  const per = (ctx.counts.labelsPerExample ??= {});
  per[set.length] = (per[set.length] ?? 0) + 1;
  const source = { file: ctx.file, line };
  const record = textPair === undefined ? { text, label: set, source } : { text, text_pair: textPair, label: set, source };
  return ctx.keep(record, textPair === undefined ? text : `${text}\u0000${textPair}`, line, deletable);
}

/** A list label in a single-label import: the mapping, not the row, is wrong. */
export function reportListLabel(ctx: SplitContext, line: number, column: number, endColumn: number, value: readonly unknown[]): void {
  ctx.bag.add('error', 'label.list', line, column, `The label is a list (${JSON.stringify(value).slice(0, 80)}) but this import is single-label. Re-import as multi-label (a set of labels per example), or give each example one label.`, { endColumn });
  ctx.skip();
}
