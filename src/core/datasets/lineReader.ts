// Streams a text file as lines of bytes: chunked reads into one reusable buffer, `indexOf(10)` for
// line ends, no string made unless a reader asks for one. Memory is bounded by the chunk size plus
// `maxLineBytes`: a longer line is reported and skipped, never buffered whole. The same pass
// hashes the file (sha256), sniffs the encoding and counts line endings.

import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import type { DiagnosticBag } from './diagnostics';
import { throwIfAborted, type Encoding, type FileFacts, type Newline, type ProgressInfo } from './types';

export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

/** Called per line with its bytes `buf[start, end)` (no line ending) and 1-based number. */
export type LineSink = (buf: Buffer, start: number, end: number, line: number) => void | Promise<void>;

export interface LineReaderOptions {
  readonly maxLineBytes?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ProgressInfo) => void;
}

export class FatalFileError extends Error {}

export interface SniffResult {
  readonly encoding: Encoding;
  readonly binary: boolean;
}

/** Looks at a file's first bytes: BOM, NUL bytes (binary), UTF-8 or Latin-1. */
export function sniffEncoding(sample: Buffer): SniffResult {
  if (sample.length >= 3 && sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: 'utf-8-bom', binary: false };
  const head = Math.min(sample.length, 8192);
  let control = 0;
  for (let i = 0; i < head; i++) {
    const b = sample[i];
    if (b === 0) return { encoding: 'utf-8', binary: true };
    if (b < 9 || (b > 13 && b < 32 && b !== 27)) control++;
  }
  if (head > 0 && control / head > 0.1) return { encoding: 'utf-8', binary: true };
  // Trim a multibyte character the sample may have cut in half.
  let end = sample.length;
  for (let k = 0; k < 3 && end > 0 && (sample[end - 1] & 0xc0) === 0x80; k++) end--;
  if (end > 0 && sample[end - 1] >= 0xc0) end--;
  if (isUtf8(sample.subarray(0, end))) return { encoding: 'utf-8', binary: false };
  // Not UTF-8. Latin-1 text has high bytes that never form UTF-8 sequences; a UTF-8 file with a
  // few bad bytes has mostly well-formed ones.
  let valid = 0;
  let invalid = 0;
  for (let i = 0; i < end; i++) {
    const b = sample[i];
    if (b < 0x80) continue;
    const need = b >= 0xf0 && b < 0xf5 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : -1;
    let ok = need > 0 && i + need < end + 1;
    for (let k = 1; ok && k <= need; k++) ok = (sample[i + k] & 0xc0) === 0x80;
    if (ok) {
      valid++;
      i += need;
    } else invalid++;
  }
  return { encoding: valid * 10 < invalid || valid === 0 ? 'latin-1' : 'utf-8', binary: false };
}

/** Node's name for how to decode a line. */
export function nodeEncoding(e: Encoding): BufferEncoding {
  return e === 'latin-1' ? 'latin1' : 'utf8';
}

/** 1-based UTF-16 column of byte `at` in a line starting at byte `lineStart`. */
export function charColumn(buf: Buffer, lineStart: number, at: number, enc: BufferEncoding): number {
  for (let i = lineStart; i < at; i++) if (buf[i] >= 0x80) return buf.toString(enc, lineStart, at).length + 1;
  return at - lineStart + 1;
}

function firstInvalidUtf8(buf: Buffer, start: number, end: number): number {
  // Binary search for the longest valid prefix; lines are short, files with bad bytes rare.
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (isUtf8(buf.subarray(start, mid))) lo = mid;
    else hi = mid - 1;
  }
  // `lo` may stop inside a valid multibyte character cut by `mid`; step to its start.
  while (lo > start && (buf[lo] & 0xc0) === 0x80) lo--;
  return lo;
}

/**
 * Reads `file` line by line. Reports encoding, newline and long-line problems into `bag`; throws
 * FatalFileError for an empty or binary file (after reporting it).
 */
export class LineReader {
  /** How lines decode; known once the first chunk is read (before the first line is passed on). */
  enc: BufferEncoding = 'utf8';
  facts: FileFacts | undefined;

  constructor(
    readonly file: string,
    private readonly bag: DiagnosticBag,
    private readonly opts: LineReaderOptions = {},
  ) {}

  async run(onLine: LineSink): Promise<FileFacts> {
    const maxLine = this.opts.maxLineBytes ?? 4 * 1024 * 1024;
    const fh = await open(this.file, 'r');
    try {
      const size = (await fh.stat()).size;
      const hash = createHash('sha256');
      if (size === 0) {
        this.bag.add('error', 'file.empty', 1, 1, 'The file is empty. Pick the file that holds the data, or remove this split.');
        this.facts = { bytes: 0, sha256: hash.digest('hex'), encoding: 'utf-8', newline: 'none', lines: 0 };
        throw new FatalFileError('empty file');
      }
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      let carry: Buffer = Buffer.allocUnsafe(0);
      let carryLen = 0;
      let skipping = false;
      let lineNo = 0;
      let lf = 0;
      let crlf = 0;
      let firstEnding: 'lf' | 'crlf' | undefined;
      let mixedAt = 0;
      let encoding: Encoding = 'utf-8';
      let checkUtf8 = true;
      let done = 0;
      let first = true;
      const bag = this.bag;

      // Synchronous unless the sink returns a promise: no promise or microtask per line.
      const emit = (buf: Buffer, s: number, e: number, hadNewline: boolean, knownValid: boolean): void | Promise<void> => {
        lineNo++;
        if (hadNewline) {
          let ending: 'lf' | 'crlf' = 'lf';
          if (e > s && buf[e - 1] === 13) {
            e--;
            ending = 'crlf';
            crlf++;
          } else lf++;
          if (!firstEnding) firstEnding = ending;
          else if (ending !== firstEnding && !mixedAt) mixedAt = lineNo;
        } else if (e > s && buf[e - 1] === 13) e--;
        if (lineNo === 1 && encoding === 'utf-8-bom') s = Math.min(e, s + 3);
        if (checkUtf8 && !knownValid && !isUtf8(buf.subarray(s, e))) {
          const bad = firstInvalidUtf8(buf, s, e);
          bag.add('error', 'encoding.invalidUtf8', lineNo, charColumn(buf, s, bad, 'utf8'), `Invalid UTF-8 byte 0x${buf[bad].toString(16).padStart(2, '0')}: the text here will read as \uFFFD. Re-save the file as UTF-8, or fix the bytes on this line.`, {
            endColumn: charColumn(buf, s, bad, 'utf8') + 1,
          });
        }
        return onLine(buf, s, e, lineNo);
      };

      for (;;) {
        throwIfAborted(this.opts.signal);
        const { bytesRead } = await fh.read(chunk, 0, CHUNK_BYTES, null);
        if (bytesRead === 0) break;
        const region = chunk.subarray(0, bytesRead);
        hash.update(region);
        done += bytesRead;
        if (first) {
          first = false;
          const sniff = sniffEncoding(region);
          if (sniff.binary) {
            bag.add('error', 'file.binary', 1, 1, 'This looks like a binary file (it has NUL or control bytes), not text data. Pick a CSV, TSV, JSONL, CoNLL, SQuAD JSON or .txt file.');
            throw new FatalFileError('binary file');
          }
          encoding = sniff.encoding;
          this.enc = nodeEncoding(encoding);
          checkUtf8 = encoding !== 'latin-1';
          if (encoding === 'latin-1') {
            bag.add('warning', 'encoding.latin1', 1, 1, 'The file is not UTF-8; it was read as Latin-1 (ISO-8859-1). Check accented characters in the preview, and re-save the file as UTF-8 to silence this.');
          }
        }
        // Lines between the first and last newline of the chunk: one isUtf8 call covers them all.
        const firstNl = region.indexOf(10);
        const lastNl = region.lastIndexOf(10);
        const middleValid = !checkUtf8 || (firstNl >= 0 && isUtf8(region.subarray(firstNl + 1, lastNl + 1)));
        let pos = 0;
        let nl = firstNl;
        while (nl !== -1) {
          if (skipping) {
            skipping = false;
            lineNo++;
            lf++;
          } else if (carryLen > 0) {
            const need = carryLen + (nl - pos);
            if (need > maxLine) {
              this.tooLong(++lineNo, maxLine);
              lf++;
            } else {
              if (carry.length < need) carry = grow(carry, carryLen, need);
              region.copy(carry, carryLen, pos, nl);
              const r = emit(carry, 0, need, true, false);
              if (r) await r;
            }
          } else if (nl - pos > maxLine) {
            this.tooLong(++lineNo, maxLine);
            lf++;
          } else {
            const r = emit(region, pos, nl, true, pos > firstNl && middleValid);
            if (r) await r;
          }
          carryLen = 0;
          pos = nl + 1;
          nl = region.indexOf(10, pos);
        }
        if (pos < bytesRead && !skipping) {
          const need = carryLen + (bytesRead - pos);
          if (need > maxLine) {
            this.tooLong(lineNo + 1, maxLine);
            skipping = true;
            carryLen = 0;
          } else {
            if (carry.length < need) carry = grow(carry, carryLen, need);
            region.copy(carry, carryLen, pos, bytesRead);
            carryLen = need;
          }
        }
        this.opts.onProgress?.({ file: this.file, bytesDone: done, bytesTotal: size });
      }
      if (skipping) lineNo++;
      else if (carryLen > 0) {
        const r = emit(carry, 0, carryLen, false, false);
        if (r) await r;
      }
      if (mixedAt) {
        bag.add('warning', 'newline.mixed', mixedAt, 1, `Mixed line endings: ${crlf} lines end in CRLF and ${lf} in LF. Both are read correctly; normalize them (e.g. "Change End of Line Sequence") to keep diffs clean.`);
      }
      const newline: Newline = crlf && lf ? 'mixed' : crlf ? 'crlf' : lf ? 'lf' : 'none';
      this.facts = { bytes: size, sha256: hash.digest('hex'), encoding, newline, lines: lineNo };
      return this.facts;
    } finally {
      await fh.close();
    }
  }

  private tooLong(line: number, maxLine: number): void {
    this.bag.add('error', 'line.tooLong', line, 1, `Line is longer than ${Math.round(maxLine / 1024)} KiB and was skipped. A row this long is usually a missing line break or a file in the wrong format; split it, or raise the limit (maxLineBytes).`);
  }
}

function grow(buf: Buffer, keep: number, need: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(need, buf.length * 2, 4096));
  buf.copy(next, 0, 0, keep);
  return next;
}

/** sha256 and size of a file, streamed. */
export async function hashFile(file: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const fh = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytes = 0;
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await fh.read(chunk, 0, CHUNK_BYTES, null);
      if (!bytesRead) break;
      bytes += bytesRead;
      hash.update(chunk.subarray(0, bytesRead));
    }
    return { sha256: hash.digest('hex'), bytes };
  } finally {
    await fh.close();
  }
}

/** Up to `bytes` from the start of a file. */
export async function readHead(file: string, bytes = 64 * 1024): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
