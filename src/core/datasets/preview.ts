// Rows of a snapshot split for the preview table: random access by row number through a sparse
// index of byte offsets (every 256th line), so a huge split needs neither a full read per page nor
// an offset per row in memory.

import { open } from 'node:fs/promises';
import type { CanonicalRecord, ClassificationRecord, PretrainRecord, QaRecord, Task, TokenRecord } from './types';

const STRIDE = 256;
const CHUNK = 256 * 1024;
/** A cell longer than this is cut: the table shows text, not whole documents. */
const MAX_CELL = 2000;

/** Whether a snapshot's classification examples are sentence pairs (a second-text column was mapped). */
export function hasPairs(m: { readonly task: Task; readonly mapping?: { readonly textPair?: unknown } }): boolean {
  return m.task === 'sequence_classification' && m.mapping?.textPair !== undefined;
}

/** The preview table's columns: `text_pair` only for pair data. */
export function previewColumns(task: Task, pairs = false): string[] {
  switch (task) {
    case 'sequence_classification':
      return pairs ? ['line', 'text', 'text_pair', 'label'] : ['line', 'text', 'label'];
    case 'token_classification':
      return ['line', 'tokens', 'tags'];
    case 'question_answering':
      return ['line', 'id', 'question', 'answers', 'context'];
    default:
      return ['line', 'sentences', 'text'];
  }
}

function cut(s: string): string {
  return s.length > MAX_CELL ? `${s.slice(0, MAX_CELL)}…` : s;
}

export function previewCells(task: Task, r: CanonicalRecord, pairs = false): string[] {
  const line = String(r.source?.line ?? '');
  switch (task) {
    case 'sequence_classification': {
      const c = r as ClassificationRecord;
      const label = (Array.isArray(c.label) ? c.label.join(' | ') : c.label) ?? '';
      return pairs ? [line, cut(c.text), cut(c.text_pair ?? ''), label] : [line, cut(c.text), label];
    }
    case 'token_classification': {
      const t = r as TokenRecord;
      return [line, cut(t.tokens.join(' ')), cut(t.tags.join(' '))];
    }
    case 'question_answering': {
      const q = r as QaRecord;
      return [line, q.id, cut(q.question), cut(q.answers.map((a) => `${a.text} @${a.answer_start}`).join(' | ')), cut(q.context)];
    }
    default: {
      const p = r as PretrainRecord;
      return [line, String(p.sentences.length), cut(p.sentences.join(' '))];
    }
  }
}

/** Reads rows [start, start+count) of a JSONL file; the index grows as far as it has been read. */
export class JsonlPager {
  /** offsets[k] = byte offset of line k*STRIDE. */
  private readonly offsets: number[] = [0];
  private total: number | undefined;

  constructor(readonly file: string) {}

  async rows(start: number, count: number): Promise<{ rows: unknown[]; total: number | undefined }> {
    const fh = await open(this.file, 'r');
    try {
      const k = Math.min(Math.floor(start / STRIDE), this.offsets.length - 1);
      let line = k * STRIDE;
      let pos = this.offsets[k];
      const out: unknown[] = [];
      let carry: Buffer[] = [];
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
        if (!bytesRead) {
          if (carry.length && line >= start && out.length < count) out.push(JSON.parse(Buffer.concat(carry).toString('utf8')));
          if (carry.length) line++;
          this.total = line;
          break;
        }
        let s = 0;
        let nl = buf.indexOf(10, 0);
        while (nl !== -1 && nl < bytesRead) {
          if (line >= start && out.length < count) out.push(JSON.parse(Buffer.concat([...carry, buf.subarray(s, nl)]).toString('utf8')));
          carry = [];
          line++;
          if (line % STRIDE === 0 && line / STRIDE === this.offsets.length) this.offsets.push(pos + nl + 1);
          s = nl + 1;
          if (out.length >= count) return { rows: out, total: this.total };
          nl = buf.indexOf(10, s);
        }
        if (line >= start) {
          if (s < bytesRead) carry.push(Buffer.from(buf.subarray(s, bytesRead)));
        }
        else carry = [];
        pos += bytesRead;
      }
      return { rows: out, total: this.total };
    } finally {
      await fh.close();
    }
  }
}
