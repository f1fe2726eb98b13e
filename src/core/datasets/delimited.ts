// CSV and TSV. Without quoting (GLUE's TSVs hold bare `"`), fields are found by scanning bytes
// for the delimiter; with quoting, RFC 4180 fields may span lines (bounded by maxLineBytes).

import { keepClassification, splitLabelCell, type FieldSpans } from './classification';
import { hashBytes53, type SplitContext } from './context';
import { charColumn, FatalFileError, type LineReader } from './lineReader';
import type { ClassificationRecord, ColumnMapping } from './types';

const MAX_COLUMNS = 4096;
const SLOW = Symbol('slow');
/** Stands in for a record when nothing will be written (validation only). */
const NO_RECORD: ClassificationRecord = { text: '', source: { file: '', line: 0 } };

function isBlankBytes(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const b = buf[i];
    if (b !== 32 && b !== 9 && b !== 13) return false;
  }
  return true;
}

export interface DelimitedOptions {
  readonly delimiter: ',' | '\t';
  readonly quoting: boolean;
  readonly header: boolean;
}

/** Resolves a mapped column (name or index; negative from the end) to an index, or -1. */
export function columnIndex(col: string | number | undefined, header: readonly string[] | undefined, width: number): number {
  if (col === undefined) return -1;
  if (typeof col === 'number') {
    const i = col < 0 ? width + col : col;
    return i >= 0 && i < width ? i : -1;
  }
  if (!header) return /^-?\d+$/.test(col) ? columnIndex(Number(col), header, width) : -1;
  const exact = header.indexOf(col);
  if (exact >= 0) return exact;
  const lower = col.trim().toLowerCase();
  return header.findIndex((h) => h.trim().toLowerCase() === lower);
}

/** Splits one line of quoted CSV/TSV; `open` when a quoted field runs past the end. */
export function parseQuoted(text: string, delimiter: string): { fields: string[]; starts: number[]; open: boolean } {
  const fields: string[] = [];
  const starts: number[] = [];
  let i = 0;
  for (;;) {
    starts.push(i);
    if (text[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) return { fields, starts, open: true };
        value += text.slice(j, q);
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      // Anything between the closing quote and the delimiter is kept, as most readers do.
      const d = text.indexOf(delimiter, j);
      value += d < 0 ? text.slice(j) : text.slice(j, d);
      fields.push(value);
      if (d < 0) break;
      i = d + 1;
    } else {
      const d = text.indexOf(delimiter, i);
      fields.push(d < 0 ? text.slice(i) : text.slice(i, d));
      if (d < 0) break;
      i = d + 1;
    }
  }
  return { fields, starts, open: false };
}

export async function readDelimited(reader: LineReader, ctx: SplitContext, mapping: ColumnMapping, opts: DelimitedOptions): Promise<void> {
  const delimByte = opts.delimiter.charCodeAt(0);
  const bag = ctx.bag;
  let header: string[] | undefined;
  let width = -1;
  let textCol = -1;
  let pairCol = -1;
  let labelCol = -1;
  const starts = new Int32Array(MAX_COLUMNS + 2);
  let pending: { text: string; line: number } | undefined;
  const multi = ctx.shared.request.multiLabel === true;
  const labelDelimiter = ctx.shared.request.labelDelimiter ?? '|';

  const resolve = (cols: number, line: number): void => {
    width = cols;
    textCol = columnIndex(mapping.text, header, width);
    pairCol = columnIndex(mapping.textPair, header, width);
    labelCol = columnIndex(mapping.label, header, width);
    const missing: string[] = [];
    if (textCol < 0) missing.push(`text column "${String(mapping.text)}"`);
    if (mapping.textPair !== undefined && pairCol < 0) missing.push(`text pair column "${String(mapping.textPair)}"`);
    if (mapping.label !== undefined && labelCol < 0 && ctx.split !== 'test') missing.push(`label column "${String(mapping.label)}"`);
    if (missing.length) {
      const sep = opts.delimiter === '\t' ? 'tab' : 'comma';
      const have =
        width === 1
          ? `Line ${line} has no ${sep}, so it is one column: is this file ${opts.delimiter === '\t' ? 'comma-separated (--format csv)' : 'tab-separated (--format tsv)'}, JSON Lines, or plain text?`
          : header
            ? `The header has: ${header.map((h) => JSON.stringify(h)).join(', ')}.`
            : `Rows have ${width} columns.`;
      bag.add('error', 'header.missingColumn', line, 1, `No ${missing.join(' and ')} in this file. ${have} Change the column mapping to match.`);
      throw new FatalFileError('missing column');
    }
  };

  const row = (fields: string[], fieldStarts: number[] | Int32Array, line: number, lineText?: string): void | Promise<void> => {
    if (width < 0) {
      if (opts.header && !header) {
        header = fields.map((f) => f.trim());
        resolve(fields.length, line);
        return;
      }
      resolve(fields.length, line);
    }
    if (fields.length !== width) {
      bag.add('error', 'row.columnCount', line, 1, `This row has ${fields.length} columns; ${header ? 'the header has' : 'the first row has'} ${width}. Look for a stray ${opts.delimiter === '\t' ? 'tab' : 'comma'}${opts.quoting ? ' or an unbalanced quote' : ''} in the text${opts.quoting || opts.delimiter === '\t' ? '' : ', or quote the field'}.`, {
        endColumn: lineText ? lineText.length + 1 : undefined,
      });
      ctx.skip();
      return;
    }
    const span = (i: number): [number, number] => [fieldStarts[i] + 1, fieldStarts[i] + 1 + fields[i].length];
    const spans: FieldSpans = { text: span(textCol), textPair: pairCol >= 0 ? span(pairCol) : undefined, label: labelCol >= 0 ? span(labelCol) : undefined };
    // Multi-label: the cell is a delimiter-separated set (blank: no label applies).
    const label = labelCol < 0 ? undefined : multi ? splitLabelCell(fields[labelCol], labelDelimiter, span(labelCol)[0]) : fields[labelCol];
    return keepClassification(ctx, line, fields[textCol], pairCol >= 0 ? fields[pairCol] : undefined, label, spans, true);
  };

  const labels = ctx.shared.labels;
  // Labels repeat: match their bytes against the few seen so far instead of decoding each one.
  const cache: { bytes: Buffer; text: string }[] = [];
  const labelText = (buf: Buffer, ls: number, le: number): string => {
    const len = le - ls;
    for (let c = 0; c < cache.length; c++) {
      const b = cache[c].bytes;
      if (b.length !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (b[i] !== buf[ls + i]) {
          same = false;
          break;
        }
      }
      if (same) return cache[c].text;
    }
    const text = buf.toString(reader.enc, ls, le);
    if (cache.length < 32 && len <= 64) cache.push({ bytes: Buffer.from(buf.subarray(ls, le)), text });
    return text;
  };
  /** A row whose fields are all there: checked without decoding its texts. SLOW: let `row` report. */
  const fastRow = (buf: Buffer, s: number, line: number): void | Promise<void> | typeof SLOW => {
    const ts = starts[textCol];
    const te = starts[textCol + 1] - 1;
    if (isBlankBytes(buf, ts, te)) return SLOW;
    const ps = pairCol >= 0 ? starts[pairCol] : 0;
    const pe = pairCol >= 0 ? starts[pairCol + 1] - 1 : 0;
    if (pairCol >= 0 && isBlankBytes(buf, ps, pe)) return SLOW;
    let label: string | undefined;
    if (labelCol >= 0) {
      const ls = starts[labelCol];
      const le = starts[labelCol + 1] - 1;
      if (isBlankBytes(buf, ls, le)) return SLOW;
      label = labelText(buf, ls, le);
      let c0 = 0;
      if (labels.needsPositions(ctx.isTrain, label)) c0 = charColumn(buf, s, ls, reader.enc);
      if (!labels.see(label, ctx.isTrain, bag, line, c0, c0 + label.length)) {
        ctx.skip();
        return undefined;
      }
      ctx.tally('labels', label);
    } else if (ctx.split !== 'test') return SLOW;
    const h = ctx.wantsHash() ? hashBytes53(buf, ts, te, ps, pe) : undefined;
    if (!ctx.wantsRecords) return ctx.keepHashed(NO_RECORD, h, line, true);
    const text = buf.toString(reader.enc, ts, te);
    const source = { file: ctx.file, line };
    const record = pairCol >= 0 ? { text, text_pair: buf.toString(reader.enc, ps, pe), label, source } : { text, label, source };
    return ctx.keepHashed(record, h, line, true);
  };

  await reader.run((buf, s, e, line) => {
    if (pending) {
      const joined = `${pending.text}\n${buf.toString(reader.enc, s, e)}`;
      if (joined.length > (ctx.shared.request.options?.maxLineBytes ?? 4 * 1024 * 1024)) {
        bag.add('error', 'row.unterminatedQuote', pending.line, 1, 'A quoted field opened here never closes. Close the quote, or import with quoting off if `"` is part of the text.');
        pending = undefined;
        ctx.skip();
        return;
      }
      const parsed = parseQuoted(joined, opts.delimiter);
      if (parsed.open) {
        pending = { text: joined, line: pending.line };
        return;
      }
      const startLine = pending.line;
      pending = undefined;
      return row(parsed.fields, parsed.starts, startLine);
    }
    // Blank lines carry no example.
    let blank = true;
    for (let i = s; i < e; i++) {
      const b = buf[i];
      if (b !== 32 && b !== 9) {
        blank = false;
        break;
      }
    }
    if (blank) return;
    if (opts.quoting) {
      const text = buf.toString(reader.enc, s, e);
      const parsed = parseQuoted(text, opts.delimiter);
      if (parsed.open) {
        pending = { text, line };
        return;
      }
      return row(parsed.fields, parsed.starts, line, text);
    }
    // Unquoted: byte scan for delimiters; a well-formed row is checked on its bytes and only its
    // label is decoded (plus the texts when an import wants the record).
    let n = 0;
    starts[n++] = s;
    for (let i = s; i < e; i++) {
      if (buf[i] === delimByte && n < MAX_COLUMNS) starts[n++] = i + 1;
    }
    starts[n] = e + 1;
    if (n === width && width > 0 && !multi) {
      const r = fastRow(buf, s, line);
      if (r !== SLOW) return r;
    }
    const fields = new Array<string>(n);
    const cols = new Array<number>(n);
    let ascii = true;
    for (let k = 0; k < n; k++) {
      const fe = starts[k + 1] - 1;
      fields[k] = buf.toString(reader.enc, starts[k], fe);
      if (ascii && fields[k].length !== fe - starts[k]) ascii = false;
      cols[k] = starts[k] - s;
    }
    if (!ascii) for (let k = 0; k < n; k++) cols[k] = charColumn(buf, s, starts[k], reader.enc) - 1;
    return row(fields, cols, line);
  });
  if (pending) {
    bag.add('error', 'row.unterminatedQuote', pending.line, 1, 'A quoted field opened here never closes before the end of the file. Close the quote, or import with quoting off if `"` is part of the text.');
    ctx.skip();
  }
}
