// SQuAD v1.1 JSON: {"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
// "answers": [{"text", "answer_start"}]}]}]}], "version"}. Read with the streaming JSON parser,
// one paragraph at a time; each question becomes one record.

import type { SplitContext } from './context';
import { FatalFileError, foreignEncodingMessage, sniffEncoding } from './lineReader';
import { JsonSyntaxError, parseJsonStream, positionsOf, type JsonObject, type JsonValue } from './jsonStream';
import { checkQa, type AnswerPosition } from './qa';
import type { FileFacts, ProgressInfo, QaAnswer } from './types';

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function readSquad(ctx: SplitContext, opts: { signal?: AbortSignal; onProgress?: (p: ProgressInfo) => void }): Promise<FileFacts> {
  const bag = ctx.bag;
  const ids = new Set<string>();
  let paragraphs = 0;
  let articles = 0;
  let answers = 0;
  let binary = false;

  const paragraph = async (p: JsonValue, title: string | undefined): Promise<void> => {
    paragraphs++;
    const at = isObject(p) ? positionsOf.get(p)?.start : undefined;
    const line = at?.line ?? 1;
    const column = at?.column ?? 1;
    if (!isObject(p) || typeof p.context !== 'string' || !Array.isArray(p.qas)) {
      bag.add('error', 'json.shape', line, column, 'A paragraph needs "context" (a string) and "qas" (a list of questions), as in SQuAD v1.1.');
      ctx.skip();
      return;
    }
    ctx.checkContext(p.context, line, column);
    for (const qa of p.qas) {
      const qpos = isObject(qa) ? positionsOf.get(qa) : undefined;
      const ql = qpos?.start.line ?? line;
      const qc = qpos?.start.column ?? column;
      if (!isObject(qa) || typeof qa.question !== 'string' || !Array.isArray(qa.answers)) {
        bag.add('error', 'json.shape', ql, qc, 'A question needs "id", "question" (a string) and "answers" (a list of {"text", "answer_start"}).');
        ctx.skip();
        continue;
      }
      const id = typeof qa.id === 'string' || typeof qa.id === 'number' ? String(qa.id) : `${ctx.fileName}:${ql}:${qc}`;
      const list: QaAnswer[] = [];
      const where: (AnswerPosition | undefined)[] = [];
      let shapeOk = true;
      for (const a of qa.answers) {
        if (!isObject(a) || typeof a.text !== 'string' || typeof a.answer_start !== 'number') {
          shapeOk = false;
          continue;
        }
        list.push({ text: a.text, answer_start: a.answer_start });
        where.push(positionsOf.get(a)?.keys.answer_start);
      }
      if (!shapeOk) {
        bag.add('error', 'json.shape', ql, qc, `Question "${id}": every answer needs "text" (a string) and "answer_start" (a number).`);
        ctx.skip();
        continue;
      }
      if (ids.has(id)) {
        bag.add('warning', 'squad.duplicateId', ql, qc, `Question id "${id}" is used twice. Give each question its own id; evaluation matches predictions by id.`);
      } else if (ids.size < 5_000_000) ids.add(id);
      const rec = { id, ...(title !== undefined ? { title } : {}), context: p.context, question: qa.question, answers: list, source: { file: ctx.file, line: ql } };
      if (!checkQa(ctx, rec, ql, qc, where)) {
        ctx.skip();
        continue;
      }
      answers += list.length;
      await ctx.keep(rec, `${rec.question}\u0000${rec.context}`, ql, false, p.context);
    }
  };

  try {
    const r = await parseJsonStream(
      ctx.file,
      {
        onComplete: async (path, value, stack) => {
          // data[i].paragraphs[j]: handle and drop; data[i]: drop (its paragraphs are gone already).
          if (path.length === 4 && path[0] === 'data' && path[2] === 'paragraphs') {
            const article = stack[2];
            const title = isObject(article) && typeof article.title === 'string' ? article.title : undefined;
            await paragraph(value, title);
            return true;
          }
          if (path.length === 2 && path[0] === 'data') {
            articles++;
            return true;
          }
          return false;
        },
      },
      {
        signal: opts.signal,
        onProgress: opts.onProgress,
        onFirstChunk: (chunk) => {
          const sniff = sniffEncoding(chunk);
          if (sniff.foreign) {
            bag.add('error', sniff.foreign === 'gb18030' ? 'encoding.gb18030' : 'encoding.utf16', 1, 1, foreignEncodingMessage(sniff.foreign, sniff.bom, ctx.file));
            throw new FatalFileError(`${sniff.foreign} file`);
          }
          binary = sniff.binary;
          if (binary) throw new FatalFileError('binary file');
        },
      },
    );
    if (!isObject(r.root) || !Array.isArray(r.root.data)) {
      bag.add('error', 'json.shape', 1, 1, 'Not a SQuAD file: the top level needs a "data" list of articles. For one question per line use JSONL instead.');
      throw new FatalFileError('not squad');
    }
    ctx.counts.documents = articles;
    ctx.counts.paragraphs = paragraphs;
    ctx.counts.answers = answers;
    return { bytes: r.bytes, sha256: r.sha256, encoding: 'utf-8', newline: 'none', lines: 0 };
  } catch (err) {
    if (binary) {
      bag.add('error', 'file.binary', 1, 1, 'This looks like a binary file, not a SQuAD JSON document. Pick the SQuAD v1.1 JSON file ({"data": [{"paragraphs": …}]}), or use JSONL for one question per line.');
      throw new FatalFileError('binary');
    }
    if (err instanceof JsonSyntaxError) {
      bag.add('error', err.truncated ? 'json.truncated' : 'json.syntax', err.line, err.column, `${err.message}${err.truncated ? '' : ' Fix the JSON here; nothing after it can be read.'}`);
      throw new FatalFileError(err.message);
    }
    throw err;
  }
}
