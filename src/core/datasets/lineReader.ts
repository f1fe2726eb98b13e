// Streams a text file as lines of bytes: chunked reads into one reusable buffer, `indexOf(10)` for
// line ends, no string made unless a reader asks for one. Memory is bounded by the chunk size plus
// `maxLineBytes`: a longer line is reported and skipped, never buffered whole. The same pass
// hashes the file (sha256), sniffs the encoding and counts line endings.

import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
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

/** A text encoding the readers do not decode: the file is refused with a re-save fix. */
export type ForeignEncoding = 'utf-16le' | 'utf-16be' | 'gb18030';

export interface SniffResult {
  readonly encoding: Encoding;
  readonly binary: boolean;
  /** UTF-16 (with or without BOM) or GB18030/GBK Chinese text. */
  readonly foreign?: ForeignEncoding;
  readonly bom?: boolean;
  /** Windows-1252 bytes 0x80–0x9F (smart quotes, dashes) in a Latin-1 file. */
  readonly cp1252?: boolean;
}

/** Byte offset of the first byte ≥ 0x80 in `sample`, or -1. */
export function firstHighByte(sample: Uint8Array, from = 0): number {
  for (let i = from; i < sample.length; i++) if (sample[i] >= 0x80) return i;
  return -1;
}

/** 1-based line and byte column of offset `at` in a sample that starts a file. */
export function lineOfOffset(sample: Uint8Array, at: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < at; i++) {
    if (sample[i] === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: at - start + 1 };
}

/** UTF-16 without a BOM: ASCII text has a NUL in every other byte (odd bytes for LE, even for BE). */
function utf16WithoutBom(sample: Uint8Array, head: number): ForeignEncoding | undefined {
  const pairs = head >> 1;
  if (pairs < 2) return undefined;
  let even = 0;
  let odd = 0;
  for (let i = 0; i + 1 < head; i += 2) {
    if (sample[i] === 0) even++;
    if (sample[i + 1] === 0) odd++;
  }
  if (odd > 0.3 * pairs && even < 0.05 * pairs) return 'utf-16le';
  if (even > 0.3 * pairs && odd < 0.05 * pairs) return 'utf-16be';
  return undefined;
}

/**
 * GB18030/GBK Chinese text: high bytes come in runs of two (lead 0x81–0xFE, trail 0x40–0xFE)
 * and most runs have an even length. Latin-1 has mostly single high bytes between letters;
 * single-byte Cyrillic has runs of any length.
 */
function looksGb18030(sample: Uint8Array, end: number): boolean {
  let runs = 0;
  let evenRuns = 0;
  let pairs = 0;
  let high = 0;
  for (let i = 0; i < end; ) {
    if (sample[i] < 0x80) {
      i++;
      continue;
    }
    let j = i;
    while (j < end && sample[j] >= 0x80) j++;
    runs++;
    if ((j - i) % 2 === 0) evenRuns++;
    for (let k = i; k + 1 < j; k += 2) if (sample[k] >= 0x81 && sample[k] <= 0xfe && sample[k + 1] >= 0x40 && sample[k + 1] <= 0xfe) pairs++;
    high += j - i;
    i = j;
  }
  return runs >= 2 && high >= 8 && evenRuns >= 0.85 * runs && pairs * 2 >= 0.85 * high;
}

/** Looks at a file's first bytes: BOM, UTF-16, NUL bytes (binary), UTF-8, GB18030 or Latin-1. */
export function sniffEncoding(sample: Buffer): SniffResult {
  if (sample.length >= 3 && sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: 'utf-8-bom', binary: false };
  if (sample.length >= 2 && sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf-8', binary: false, foreign: 'utf-16le', bom: true };
  if (sample.length >= 2 && sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf-8', binary: false, foreign: 'utf-16be', bom: true };
  const head = Math.min(sample.length, 8192);
  const utf16 = utf16WithoutBom(sample, head);
  if (utf16) return { encoding: 'utf-8', binary: false, foreign: utf16, bom: false };
  let control = 0;
  let nul = 0;
  for (let i = 0; i < head; i++) {
    const b = sample[i];
    if (b === 0) nul++;
    if (b < 9 || (b > 13 && b < 32 && b !== 27)) control++;
  }
  // A few stray NUL bytes in text are reported on their lines; many, or many control bytes, mean binary.
  if (head > 0 && (control / head > 0.05 || nul / head > 0.01)) return { encoding: 'utf-8', binary: true };
  // Trim a multibyte character the sample may have cut in half.
  let end = sample.length;
  for (let k = 0; k < 3 && end > 0 && (sample[end - 1] & 0xc0) === 0x80; k++) end--;
  if (end > 0 && sample[end - 1] >= 0xc0) end--;
  if (isUtf8(sample.subarray(0, end))) return { encoding: 'utf-8', binary: false };
  // Not UTF-8. Latin-1 text has high bytes that never form UTF-8 sequences; a UTF-8 file with a
  // few bad bytes has mostly well-formed ones.
  let valid = 0;
  let invalid = 0;
  let c1 = false;
  for (let i = 0; i < end; i++) {
    const b = sample[i];
    if (b < 0x80) continue;
    const need = b >= 0xf0 && b < 0xf5 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : -1;
    let ok = need > 0 && i + need < end + 1;
    for (let k = 1; ok && k <= need; k++) ok = (sample[i + k] & 0xc0) === 0x80;
    if (ok) {
      valid++;
      i += need;
    } else {
      invalid++;
      if (b < 0xa0) c1 = true;
    }
  }
  // GB18030 text: paired high bytes, most of them not UTF-8 (some GBK pairs happen to be). A UTF-8
  // file with a few bad bytes has pairs too (é is C3 A9), but mostly well-formed ones.
  if (valid < invalid && looksGb18030(sample, end)) return { encoding: 'latin-1', binary: false, foreign: 'gb18030' };
  if (!(valid * 10 < invalid || valid === 0)) return { encoding: 'utf-8', binary: false };
  return { encoding: 'latin-1', binary: false, ...(c1 ? { cp1252: true } : {}) };
}

/** What a foreign encoding is called and the command that converts it. */
export function foreignEncodingMessage(f: ForeignEncoding, bom: boolean | undefined, file: string): string {
  const name = f === 'gb18030' ? 'GB18030/GBK (Chinese)' : `${f === 'utf-16le' ? 'UTF-16 LE' : 'UTF-16 BE'} ${bom ? 'with a byte-order mark' : 'without a byte-order mark'}`;
  const from = f === 'gb18030' ? 'GB18030' : f === 'utf-16le' ? 'UTF-16LE' : 'UTF-16BE';
  const base = path.basename(file);
  return `The file is encoded as ${name}, not UTF-8. Re-save it as UTF-8 (in VS Code: "Reopen with Encoding" then "Save with Encoding" → UTF-8), or convert it: iconv -f ${from} -t UTF-8 "${base}" > "utf8-${base}".`;
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
      let cr = 0;
      let firstEnding: 'lf' | 'crlf' | 'cr' | undefined;
      let mixedAt = 0;
      let crAt = 0;
      let encoding: Encoding = 'utf-8';
      let checkUtf8 = true;
      let done = 0;
      let first = true;
      // Set for a chunk (and the line carried out of it) holding a bare CR or a NUL byte: only
      // then are lines searched for them.
      let crPossible = false;
      let nulPossible = false;
      const bag = this.bag;

      const ended = (ending: 'lf' | 'crlf' | 'cr'): void => {
        if (ending === 'lf') lf++;
        else if (ending === 'crlf') crlf++;
        else cr++;
        if (!firstEnding) firstEnding = ending;
        else if (ending !== firstEnding && !mixedAt) mixedAt = lineNo;
      };

      /** One line, its ending already stripped. */
      const emitOne = (buf: Buffer, s: number, e: number, knownValid: boolean): void | Promise<void> => {
        if (nulPossible) {
          const z = buf.subarray(s, e).indexOf(0);
          if (z >= 0) {
            const c = charColumn(buf, s, s + z, this.enc);
            bag.add('error', 'text.nul', lineNo, c, 'NUL byte (0x00) in the text: part of the file is binary, or it was saved as UTF-16. Remove the NUL bytes (e.g. tr -d \'\\000\'), or re-save the file as UTF-8.', { endColumn: c + 1 });
          }
        }
        if (checkUtf8 && !knownValid && !isUtf8(buf.subarray(s, e))) {
          const bad = firstInvalidUtf8(buf, s, e);
          bag.add('error', 'encoding.invalidUtf8', lineNo, charColumn(buf, s, bad, 'utf8'), `Invalid UTF-8 byte 0x${buf[bad].toString(16).padStart(2, '0')}: the text here will read as \uFFFD. Re-save the file as UTF-8, or fix the bytes on this line.`, {
            endColumn: charColumn(buf, s, bad, 'utf8') + 1,
          });
        }
        return onLine(buf, s, e, lineNo);
      };

      /** A line holding bare CRs (classic Mac line ends): each CR ends a line, as editors show it. */
      const emitCrSplit = async (buf: Buffer, s: number, e: number, ending: 'lf' | 'crlf' | 'cr' | undefined): Promise<void> => {
        let from = s;
        for (;;) {
          const c = buf.indexOf(13, from);
          const last = c < 0 || c >= e;
          if (!last) {
            ended('cr');
            if (!crAt) crAt = lineNo;
          } else if (ending) {
            ended(ending);
            if (ending === 'cr' && !crAt) crAt = lineNo;
          }
          const r = emitOne(buf, from, last ? e : c, false);
          if (r) await r;
          if (last) return;
          lineNo++;
          from = c + 1;
        }
      };

      // Synchronous unless the sink returns a promise: no promise or microtask per line.
      const emit = (buf: Buffer, s: number, e: number, hadNewline: boolean, knownValid: boolean): void | Promise<void> => {
        lineNo++;
        // The last line of a file may end in a CR alone.
        let ending: 'lf' | 'crlf' | 'cr' | undefined = hadNewline ? 'lf' : undefined;
        if (e > s && buf[e - 1] === 13) {
          e--;
          ending = hadNewline ? 'crlf' : 'cr';
        }
        if (lineNo === 1 && encoding === 'utf-8-bom') s = Math.min(e, s + 3);
        if (crPossible && buf.subarray(s, e).indexOf(13) >= 0) return emitCrSplit(buf, s, e, ending);
        if (ending) {
          ended(ending);
          if (ending === 'cr' && !crAt) crAt = lineNo;
        }
        return emitOne(buf, s, e, knownValid);
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
          if (sniff.foreign) {
            const at = sniff.foreign === 'gb18030' ? lineOfOffset(region, firstHighByte(region)) : { line: 1, column: 1 };
            bag.add('error', sniff.foreign === 'gb18030' ? 'encoding.gb18030' : 'encoding.utf16', at.line, at.column, foreignEncodingMessage(sniff.foreign, sniff.bom, this.file));
            throw new FatalFileError(`${sniff.foreign} file`);
          }
          if (sniff.binary) {
            bag.add('error', 'file.binary', 1, 1, 'This looks like a binary file (it has NUL or control bytes), not text data. Pick a CSV, TSV, JSONL, CoNLL, SQuAD JSON or .txt file.');
            throw new FatalFileError('binary file');
          }
          encoding = sniff.encoding;
          this.enc = nodeEncoding(encoding);
          checkUtf8 = encoding !== 'latin-1';
          if (encoding === 'latin-1') {
            // Where the first non-UTF-8 byte is: that line shows whether the guess is right.
            const at = lineOfOffset(region, Math.max(0, firstHighByte(region)));
            bag.add(
              'warning',
              'encoding.latin1',
              at.line,
              at.column,
              sniff.cp1252
                ? `The file is not UTF-8 (byte 0x${region[firstHighByte(region)].toString(16)} here); it was read as Latin-1, but it has Windows-1252 bytes (0x80–0x9F: curly quotes, dashes) that Latin-1 reads as control characters. Re-save the file as UTF-8 (iconv -f CP1252 -t UTF-8).`
                : `The file is not UTF-8 (byte 0x${region[firstHighByte(region)].toString(16)} here); it was read as Latin-1 (ISO-8859-1). Check the accented characters on this line, and re-save the file as UTF-8 (iconv -f LATIN1 -t UTF-8) to silence this.`,
              { endColumn: at.column + 1 },
            );
          }
        }
        crPossible = carryLen > 0 && crPossible;
        nulPossible = (carryLen > 0 && nulPossible) || region.indexOf(0) >= 0;
        for (let c = region.indexOf(13); c >= 0 && !crPossible; c = region.indexOf(13, c + 1)) if (c + 1 >= bytesRead || region[c + 1] !== 10) crPossible = true;
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
            ended('lf');
          } else if (carryLen > 0) {
            const need = carryLen + (nl - pos);
            if (need > maxLine) {
              this.tooLong(++lineNo, maxLine, crPossible);
              ended('lf');
            } else {
              if (carry.length < need) carry = grow(carry, carryLen, need);
              region.copy(carry, carryLen, pos, nl);
              const r = emit(carry, 0, need, true, false);
              if (r) await r;
            }
          } else if (nl - pos > maxLine) {
            this.tooLong(++lineNo, maxLine, crPossible);
            ended('lf');
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
            this.tooLong(lineNo + 1, maxLine, crPossible);
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
      if (crAt) {
        bag.add('warning', 'newline.cr', crAt, 1, `Line ${crAt} ends in a bare CR (the old Mac OS line end); ${cr} line${cr === 1 ? '' : 's'} end${cr === 1 ? 's' : ''} that way. Each is read as a line break, but other tools may see one long line: convert the line endings to LF (e.g. "Change End of Line Sequence", or tr '\\r' '\\n').`);
      }
      if (mixedAt) {
        const parts = [crlf ? `${crlf} in CRLF` : '', lf ? `${lf} in LF` : '', cr ? `${cr} in a bare CR` : ''].filter(Boolean).join(', ');
        bag.add('warning', 'newline.mixed', mixedAt, 1, `Mixed line endings from this line on: ${parts}. They are read correctly; normalize them (e.g. "Change End of Line Sequence") to keep diffs clean.`);
      }
      const kinds = (lf ? 1 : 0) + (crlf ? 1 : 0) + (cr ? 1 : 0);
      const newline: Newline = kinds > 1 ? 'mixed' : crlf ? 'crlf' : lf ? 'lf' : cr ? 'cr' : 'none';
      this.facts = { bytes: size, sha256: hash.digest('hex'), encoding, newline, lines: lineNo };
      return this.facts;
    } finally {
      await fh.close();
    }
  }

  private tooLong(line: number, maxLine: number, bareCr = false): void {
    const why = bareCr ? 'This file ends lines in a bare CR (old Mac OS): convert the line endings to LF (tr \'\\r\' \'\\n\').' : 'A row this long is usually a missing line break or a file in the wrong format; split it, or raise the limit (maxLineBytes).';
    this.bag.add('error', 'line.tooLong', line, 1, `Line is longer than ${Math.round(maxLine / 1024)} KiB and was skipped. ${why}`);
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
    return await hashOpenFile(fh, Infinity, signal);
  } finally {
    await fh.close();
  }
}

/** sha256 and size of what an open file holds, read in chunks up to `limit` bytes. */
export async function hashOpenFile(fh: FileHandle, limit: number, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let bytes = 0;
  while (bytes < limit) {
    throwIfAborted(signal);
    const { bytesRead } = await fh.read(chunk, 0, Math.min(CHUNK_BYTES, limit - bytes), null);
    if (!bytesRead) break;
    bytes += bytesRead;
    hash.update(chunk.subarray(0, bytesRead));
  }
  return { sha256: hash.digest('hex'), bytes };
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
