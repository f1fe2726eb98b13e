// Checks shared by SQuAD JSON and JSONL question answering.

import type { SplitContext } from './context';
import { replaceFix } from './diagnostics';
import type { QaAnswer, QaRecord } from './types';

/** Where `text` occurs in `context` nearest to `near`, or -1. */
export function nearestOccurrence(context: string, text: string, near: number): number {
  if (!text) return -1;
  let best = -1;
  let from = 0;
  for (;;) {
    const i = context.indexOf(text, from);
    if (i < 0) return best;
    if (best < 0 || Math.abs(i - near) < Math.abs(best - near)) best = i;
    if (i > near) return best;
    from = i + 1;
  }
}

const ASTRAL = /[\uD800-\uDBFF]/;

/**
 * `answer_start` counts code points, as Python (the worker) and SQuAD's scripts index strings; a JS
 * string indexes UTF-16 units. The two differ after a character outside the BMP (CMRC 2018's
 * contexts hold some: 7 of its dev answers are right in UTF-16 units and wrong in code points).
 */
export function utf16Offset(s: string, codePoints: number): number {
  if (codePoints <= 0 || !ASTRAL.test(s)) return codePoints;
  let i = 0;
  for (let n = 0; n < codePoints && i < s.length; n++) i += (s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
  return i;
}

/** The code-point offset of UTF-16 index `i` of `s` (the inverse of utf16Offset). */
export function codePointOffset(s: string, i: number): number {
  return ASTRAL.test(s) ? [...s.slice(0, i)].length : i;
}

/** Where in the source an answer's `answer_start` value sits, when known (for a quick fix). */
export interface AnswerPosition {
  readonly line: number;
  readonly column: number;
  readonly endColumn: number;
}

/** Checks a question's answers; returns whether the question is usable. */
export function checkQa(ctx: SplitContext, rec: QaRecord, line: number, column: number, answerPositions: readonly (AnswerPosition | undefined)[]): boolean {
  const bag = ctx.bag;
  let ok = true;
  if (!rec.question.trim()) {
    bag.add('error', 'question.empty', line, column, `Question "${rec.id}" is empty. Write the question or remove it.`);
    return false;
  }
  if (rec.answers.length === 0 && ctx.split !== 'test') {
    bag.add('error', 'squad.answerMissing', line, column, `Question "${rec.id}" has no answers. SQuAD v1.1 needs at least one {"text", "answer_start"} per question.`);
    return false;
  }
  rec.answers.forEach((a: QaAnswer, k) => {
    const pos = answerPositions[k] ?? { line, column, endColumn: column + 1 };
    const start = utf16Offset(rec.context, a.answer_start);
    if (rec.context.startsWith(a.text, start) && a.text.length > 0) return;
    const found = nearestOccurrence(rec.context, a.text, start);
    const right = found < 0 ? found : codePointOffset(rec.context, found);
    if (right < 0) {
      bag.add('error', 'squad.answerMissing', pos.line, pos.column, `Answer "${short(a.text)}" of question "${rec.id}" does not occur in its context. Copy the answer text from the context exactly.`, { endColumn: pos.endColumn });
      ok = false;
      return;
    }
    bag.add('error', 'squad.answerStart', pos.line, pos.column, `answer_start ${a.answer_start} does not point at the answer "${short(a.text)}" (the context there reads "${short(rec.context.slice(Math.max(0, start), start + a.text.length))}"); it occurs at ${right}. Change answer_start to ${right}.`, {
      endColumn: pos.endColumn,
      fix: answerPositions[k] ? replaceFix(`Change answer_start to ${right}`, pos.line, pos.column, pos.endColumn, String(right)) : undefined,
    });
    ok = false;
  });
  return ok;
}

function short(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
