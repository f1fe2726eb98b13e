// The checks every sequence-classification example gets, whatever file format it came from.

import { deleteLineFix } from './diagnostics';
import type { SplitContext } from './context';

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
  label: string | undefined,
  spans: FieldSpans,
  deletable: boolean,
): void | Promise<void> {
  const bag = ctx.bag;
  if (isBlank(text)) {
    bag.add('error', 'text.empty', line, spans.text[0], 'Empty text: an example needs text to classify. Fill it in or remove the row.', {
      endColumn: spans.text[1],
      fix: deletable ? deleteLineFix(line, 'Remove this row') : undefined,
    });
    ctx.skip();
    return;
  }
  if (textPair !== undefined && isBlank(textPair)) {
    const sp = spans.textPair ?? spans.text;
    bag.add('error', 'text.empty', line, sp[0], 'Empty second text of a text pair. Fill it in or remove the row.', {
      endColumn: sp[1],
      fix: deletable ? deleteLineFix(line, 'Remove this row') : undefined,
    });
    ctx.skip();
    return;
  }
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
