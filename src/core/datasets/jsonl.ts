// JSON Lines: one object per line; the mapping names the fields for the task.

import { keepClassification, reportListLabel, splitLabelCell, type LabelItem } from './classification';
import type { SplitContext } from './context';
import { deleteLineFix, replaceFix } from './diagnostics';
import { entityType, iob2Violation, isValidTag } from './conll';
import type { LineReader } from './lineReader';
import { checkQa, type AnswerPosition } from './qa';
import type { ColumnMapping, QaAnswer, TagScheme } from './types';

type Obj = Record<string, unknown>;

function field(o: Obj, name: string | number | undefined): unknown {
  return name === undefined ? undefined : o[String(name)];
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** "an object", "null", "a list"…: a JSON value's kind, for messages. */
function jsonKind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : typeof v === 'boolean' ? 'a boolean' : `a ${typeof v}`;
}

/** The column of a JSON.parse error, from its message ("… at position 12"). */
function syntaxColumn(err: unknown): number {
  const m = /position (\d+)/.exec(String((err as Error).message));
  return m ? Number(m[1]) + 1 : 1;
}

/** Where the k-th `"answer_start": N` sits in a line, for a quick fix. */
function answerStartSpans(text: string): AnswerPosition[] {
  const out: AnswerPosition[] = [];
  const re = /"answer_start"\s*:\s*(\d+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const c = m.index + m[0].length - m[1].length + 1;
    out.push({ line: 0, column: c, endColumn: c + m[1].length });
  }
  return out;
}

/** Where the value of `"key":` starts in a line (0-based), or -1. */
export function valueStart(text: string, key: string): number {
  const m = new RegExp(`${JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:\\s*`).exec(text);
  return m ? m.index + m[0].length : -1;
}

/** A JSON list label's items with their columns on the line (found in order after the key). */
function listItems(text: string, key: string, values: readonly unknown[]): LabelItem[] {
  let at = Math.max(0, valueStart(text, key));
  const found: { value: string; s: number; e: number }[] = [];
  for (const v of values) {
    const value = asText(v) ?? '';
    const lit = JSON.stringify(v);
    const i = lit === undefined ? -1 : text.indexOf(lit, at);
    if (i < 0) found.push({ value, s: -1, e: -1 });
    else {
      found.push({ value, s: i, e: i + lit.length });
      at = i + lit.length;
    }
  }
  return found.map((f, k) => {
    if (f.s < 0) return { value: f.value, column: 1, endColumn: 1 };
    const next = found[k + 1];
    const prev = found[k - 1];
    const quoted = text[f.s] === '"' ? 1 : 0;
    const cut: [number, number] | undefined = next ? (next.s >= 0 ? [f.s + 1, next.s + 1] : undefined) : prev ? (prev.e >= 0 ? [prev.e + 1, f.e + 1] : undefined) : [f.s + 1, f.e + 1];
    return { value: f.value, column: f.s + 1 + quoted, endColumn: f.e + 1 - quoted, cut };
  });
}

export async function readJsonl(reader: LineReader, ctx: SplitContext, mapping: ColumnMapping, scheme: TagScheme): Promise<void> {
  const bag = ctx.bag;
  let docs = 0;
  const multi = ctx.shared.request.multiLabel === true;
  const delimiter = ctx.shared.request.labelDelimiter;
  await reader.run((buf, s, e, line): void | Promise<void> => {
    let blank = true;
    for (let i = s; i < e; i++) if (buf[i] !== 32 && buf[i] !== 9) {
      blank = false;
      break;
    }
    if (blank) return;
    const text = buf.toString(reader.enc, s, e);
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (err) {
      bag.add('error', 'json.syntax', line, syntaxColumn(err), `Not valid JSON: ${(err as Error).message}. Each line must be one complete JSON object: fix the JSON on this line, or remove the line.`, { fix: deleteLineFix(line) });
      ctx.skip();
      return;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      bag.add('error', 'json.shape', line, 1, 'Each line must be a JSON object ({…}), not a list or a bare value: write this line as an object with named fields, or remove it.', { fix: deleteLineFix(line) });
      ctx.skip();
      return;
    }
    const obj = o as Obj;
    const shape = (what: string): void => {
      bag.add('error', 'json.shape', line, 1, `${what} Change the field mapping if it has another name.`);
      ctx.skip();
    };
    /** A field that is there but of the wrong JSON type. */
    const wrongType = (name: string | number, value: unknown, want: string): void => {
      const col = valueStart(text, String(name));
      bag.add('error', 'json.shape', line, col + 1 || 1, `Field "${String(name)}" is ${jsonKind(value)}, not ${want}. Write it as ${want} (e.g. ${want === 'a string' ? '"some text"' : '"positive"'}), or remove the line.`, { fix: deleteLineFix(line) });
      ctx.skip();
    };
    switch (ctx.task) {
      case 'sequence_classification': {
        const rawText = field(obj, mapping.text ?? 'text');
        const t = asText(rawText);
        if (t === undefined) return rawText === undefined ? shape(`No text field "${String(mapping.text ?? 'text')}" (a string).`) : wrongType(mapping.text ?? 'text', rawText, 'a string');
        const pair = mapping.textPair !== undefined ? asText(field(obj, mapping.textPair)) : undefined;
        if (mapping.textPair !== undefined && pair === undefined) return shape(`No text pair field "${String(mapping.textPair)}".`);
        const rawLabel = mapping.label !== undefined ? field(obj, mapping.label) : undefined;
        const spans = { text: [1, text.length + 1] as const };
        if (Array.isArray(rawLabel)) {
          const key = String(mapping.label);
          if (!multi) {
            const vs = valueStart(text, key);
            return reportListLabel(ctx, line, vs + 1 || 1, vs >= 0 ? vs + JSON.stringify(rawLabel).length + 1 : text.length + 1, rawLabel);
          }
          return keepClassification(ctx, line, t, pair, listItems(text, key, rawLabel), spans, true);
        }
        const label = asText(rawLabel);
        if (label === undefined && rawLabel !== undefined && rawLabel !== null) return wrongType(mapping.label ?? 'label', rawLabel, 'a string or number');
        if (multi && label !== undefined) {
          // A string label in a multi-label import: one label, or several split on the delimiter.
          const vs = valueStart(text, String(mapping.label));
          const col = vs >= 0 && text[vs] === '"' ? vs + 2 : 1;
          return keepClassification(ctx, line, t, pair, delimiter ? splitLabelCell(label, delimiter, col) : label.trim() ? [{ value: label.trim(), column: col, endColumn: col + label.length }] : [], spans, true);
        }
        return keepClassification(ctx, line, t, pair, label, spans, true);
      }
      case 'token_classification': {
        const tokens = field(obj, mapping.tokens ?? 'tokens');
        const tags = field(obj, mapping.tags ?? 'tags');
        if (!Array.isArray(tokens) || !Array.isArray(tags)) return shape(`Need "${String(mapping.tokens ?? 'tokens')}" and "${String(mapping.tags ?? 'tags')}" lists.`);
        if (tokens.length !== tags.length) {
          bag.add('error', 'tokens.mismatch', line, 1, `${tokens.length} tokens but ${tags.length} tags: each token needs exactly one tag. Add the missing tags or remove the extra tokens.`);
          ctx.skip();
          return;
        }
        const tk = tokens.map((x) => asText(x) ?? '');
        const tg = tags.map((x) => asText(x) ?? '');
        let ok = true;
        let prev: string | undefined;
        for (const t of tg) {
          if (!isValidTag(t)) {
            bag.add('error', 'tag.invalid', line, 1, `"${t}" is not a tag: use O, or B-TYPE / I-TYPE. (Integer tags need a label list: map them to names first.)`);
            ok = false;
            break;
          }
          const fixed = scheme === 'iob2' ? iob2Violation(prev, t) : undefined;
          if (fixed) {
            const at = text.indexOf(`"${t}"`);
            const c = at >= 0 ? at + 2 : 1;
            bag.add('error', 'tag.iobStart', line, c, `"${t}" after ${prev ? `"${prev}"` : 'the sentence start'}: in IOB2 an entity starts with B-, so change it to "${fixed}". (If the file is IOB1, import it with the IOB1 tag scheme.)`, {
              endColumn: c + t.length,
              fix: at >= 0 && text.indexOf(`"${t}"`, at + 1) < 0 ? replaceFix(`Change to "${fixed}"`, line, c, c + t.length, fixed) : undefined,
            });
          }
          ctx.shared.tags.see(t, ctx.isTrain, bag, line, 1, 1);
          prev = t;
        }
        if (!ok) {
          ctx.skip();
          return;
        }
        let p: string | undefined;
        for (const t of tg) {
          ctx.tally('labels', t);
          const type = entityType(t);
          if (type && (t[0] === 'B' || !p || entityType(p) !== type)) ctx.tally('entities', type);
          p = t;
        }
        ctx.counts.tokens = (ctx.counts.tokens ?? 0) + tk.length;
        return ctx.keep({ tokens: tk, tags: tg, source: { file: ctx.file, line } }, tk.length >= 4 ? tk.join(' ') : undefined, line, true);
      }
      case 'question_answering': {
        const context = asText(field(obj, mapping.context ?? 'context'));
        const question = asText(field(obj, mapping.question ?? 'question'));
        const rawAnswers = field(obj, mapping.answers ?? 'answers');
        if (context === undefined || question === undefined) return shape('Need "context" and "question" strings.');
        const answers: QaAnswer[] = [];
        if (Array.isArray(rawAnswers)) {
          for (const a of rawAnswers) {
            const ao = a as Obj;
            if (typeof ao?.text !== 'string' || typeof ao.answer_start !== 'number') return shape('Each answer needs "text" and "answer_start".');
            answers.push({ text: ao.text, answer_start: ao.answer_start });
          }
        } else if (rawAnswers && typeof rawAnswers === 'object') {
          // Hugging Face datasets layout: {"text": [...], "answer_start": [...]}.
          const ao = rawAnswers as Obj;
          if (!Array.isArray(ao.text) || !Array.isArray(ao.answer_start) || ao.text.length !== ao.answer_start.length) return shape('"answers" needs parallel "text" and "answer_start" lists.');
          ao.text.forEach((t, k) => answers.push({ text: String(t), answer_start: Number((ao.answer_start as unknown[])[k]) }));
        } else if (ctx.split !== 'test') return shape('Need an "answers" list.');
        const id = asText(field(obj, mapping.id ?? 'id')) ?? `${ctx.fileName}:${line}`;
        const title = asText(field(obj, mapping.title ?? 'title'));
        const rec = { id, ...(title !== undefined ? { title } : {}), context, question, answers, source: { file: ctx.file, line } };
        const spans = answerStartSpans(text).map((p) => ({ ...p, line }));
        if (!checkQa(ctx, rec, line, 1, spans.length === answers.length ? spans : [])) {
          ctx.skip();
          return;
        }
        ctx.counts.answers = (ctx.counts.answers ?? 0) + answers.length;
        ctx.checkContext(context, line, 1);
        return ctx.keep(rec, `${question}\u0000${context}`, line, true, context);
      }
      default: {
        const sentences = field(obj, 'sentences');
        const t = asText(field(obj, mapping.text ?? 'text'));
        const list = Array.isArray(sentences) ? sentences.map((x) => asText(x) ?? '').filter((x) => x.trim()) : t !== undefined ? [t] : undefined;
        if (!list) return shape('Need "sentences" (a list of strings) or a "text" string.');
        if (list.length === 0) {
          bag.add('warning', 'text.empty', line, 1, 'Empty document: it is skipped.', { fix: deleteLineFix(line) });
          ctx.skip();
          return;
        }
        docs++;
        ctx.counts.documents = docs;
        ctx.counts.tokens = (ctx.counts.tokens ?? 0) + list.length;
        return ctx.keep({ sentences: list, source: { file: ctx.file, line } }, undefined, line, true);
      }
    }
  });
}
