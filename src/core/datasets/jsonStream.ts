// An incremental JSON parser with positions, for documents too large to hold as text (SQuAD).
// The file is read in chunks; a token may straddle chunks (bounded by maxTokenBytes). Values are
// built as usual, but the caller may drop completed subtrees (`onComplete` returning true), so
// memory stays at one subtree (a SQuAD paragraph) plus the open containers. Every object records
// where it starts and where each of its scalar values sits (line, UTF-16 column).

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { throwIfAborted, type ProgressInfo } from './types';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface Pos {
  readonly line: number;
  readonly column: number;
  readonly endColumn: number;
}

export interface ObjectPositions {
  readonly start: Pos;
  readonly keys: Record<string, Pos>;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    readonly truncated = false,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export type JsonPath = (string | number)[];

export interface JsonStreamHandlers {
  /** Called when a value inside a container completes; return true to drop it from its parent. */
  onComplete?(path: JsonPath, value: JsonValue, stack: readonly JsonValue[]): boolean | Promise<boolean>;
}

export interface JsonStreamOptions {
  readonly maxTokenBytes?: number;
  readonly maxDepth?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ProgressInfo) => void;
  /** First chunk, for the caller's own sniffing (binary, encoding). */
  readonly onFirstChunk?: (chunk: Buffer) => void;
}

interface Frame {
  readonly kind: 'obj' | 'arr';
  readonly value: JsonObject | JsonValue[];
  readonly pos: ObjectPositions | undefined;
  /** obj: 0 expect key or }, 1 expect key, 2 expect :, 3 expect value, 4 expect , or }.
   *  arr: 0 expect value or ], 3 expect value, 4 expect , or ]. */
  state: number;
  key: string;
  index: number;
}

const CHUNK = 1024 * 1024;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

export const positionsOf = new WeakMap<object, ObjectPositions>();

export async function parseJsonStream(file: string, handlers: JsonStreamHandlers, opts: JsonStreamOptions = {}): Promise<{ sha256: string; bytes: number; root: JsonValue | undefined }> {
  const maxToken = opts.maxTokenBytes ?? 16 * 1024 * 1024;
  const maxDepth = opts.maxDepth ?? 512;
  const fh = await open(file, 'r');
  const hash = createHash('sha256');
  try {
    const size = (await fh.stat()).size;
    let buf: Buffer = Buffer.alloc(0);
    let pos = 0;
    let line = 1;
    let col = 1;
    let eof = false;
    let done = 0;
    let first = true;
    const stack: Frame[] = [];
    const path: JsonPath = [];
    let root: JsonValue | undefined;
    let rootDone = false;

    const fail: (msg: string, truncated?: boolean) => never = (msg, truncated = false) => {
      throw new JsonSyntaxError(msg, line, col, truncated);
    };

    const fill = async (): Promise<boolean> => {
      if (eof) return false;
      throwIfAborted(opts.signal);
      const chunk = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) {
        eof = true;
        return false;
      }
      const got = chunk.subarray(0, bytesRead);
      hash.update(got);
      done += bytesRead;
      opts.onProgress?.({ file, bytesDone: done, bytesTotal: size });
      let data = got;
      if (first) {
        first = false;
        opts.onFirstChunk?.(got);
        if (got.length >= 3 && got[0] === 0xef && got[1] === 0xbb && got[2] === 0xbf) data = got.subarray(3);
      }
      const rest = buf.length - pos;
      if (rest > maxToken) fail(`A single JSON value is longer than ${Math.round(maxToken / 1048576)} MiB; this is not a dataset file BERT Studio can read.`);
      buf = rest > 0 ? Buffer.concat([buf.subarray(pos), data]) : data;
      pos = 0;
      return true;
    };

    const complete = async (value: JsonValue, p: Pos): Promise<void> => {
      const top = stack[stack.length - 1];
      if (!top) {
        root = value;
        rootDone = true;
        return;
      }
      let drop = false;
      if (handlers.onComplete) {
        // The value's own path: its container's path plus its key or index.
        path.push(top.kind === 'obj' ? top.key : top.index);
        const r = handlers.onComplete(path, value, stack.map((f) => f.value));
        drop = typeof r === 'boolean' ? r : await r;
        path.pop();
      }
      if (top.kind === 'obj') {
        if (!drop) (top.value as JsonObject)[top.key] = value;
        if (top.pos && (value === null || typeof value !== 'object')) top.pos.keys[top.key] = p;
      } else {
        if (!drop) (top.value as JsonValue[]).push(value);
        top.index++;
      }
      top.state = 4;
    };

    const open_ = (kind: 'obj' | 'arr'): void => {
      if (stack.length >= maxDepth) fail(`JSON nested deeper than ${maxDepth} levels.`);
      const top = stack[stack.length - 1];
      if (top) path.push(top.kind === 'obj' ? top.key : top.index);
      const value: JsonObject | JsonValue[] = kind === 'obj' ? {} : [];
      const pos_: ObjectPositions | undefined = kind === 'obj' ? { start: { line, column: col, endColumn: col + 1 }, keys: {} } : undefined;
      if (pos_) positionsOf.set(value, pos_);
      stack.push({ kind, value, pos: pos_, state: 0, key: '', index: 0 });
    };

    const close = async (): Promise<void> => {
      const f = stack.pop() as Frame;
      if (stack.length > 0) path.pop();
      await complete(f.value, { line, column: col, endColumn: col + 1 });
    };

    const expectingValue = (): boolean => {
      const top = stack[stack.length - 1];
      if (!top) return !rootDone;
      return top.kind === 'obj' ? top.state === 3 : top.state === 0 || top.state === 3;
    };

    for (;;) {
      // Skip whitespace.
      while (pos < buf.length) {
        const b = buf[pos];
        if (b === 32 || b === 9 || b === 13) {
          pos++;
          col++;
        } else if (b === 10) {
          pos++;
          line++;
          col = 1;
        } else break;
      }
      if (pos >= buf.length) {
        if (await fill()) continue;
        break;
      }
      const b = buf[pos];
      const top = stack[stack.length - 1];
      if (rootDone) fail('Unexpected data after the end of the JSON document.');
      if (b === 0x7b || b === 0x5b) {
        if (!expectingValue()) fail(`Unexpected "${String.fromCharCode(b)}": a comma or closing bracket is missing before it.`);
        open_(b === 0x7b ? 'obj' : 'arr');
        pos++;
        col++;
        continue;
      }
      if (b === 0x7d || b === 0x5d) {
        const want = b === 0x7d ? 'obj' : 'arr';
        if (!top || top.kind !== want) fail(`Unexpected "${String.fromCharCode(b)}": it closes nothing that is open here.`);
        const f = top as Frame;
        if (!(f.state === 0 || f.state === 4)) fail(f.state === 1 || f.state === 3 ? `Unexpected "${String.fromCharCode(b)}" after a comma: remove the trailing comma.` : `Unexpected "${String.fromCharCode(b)}".`);
        await close();
        pos++;
        col++;
        continue;
      }
      if (b === 0x3a) {
        if (!top || top.kind !== 'obj' || top.state !== 2) fail('Unexpected ":".');
        (top as Frame).state = 3;
        pos++;
        col++;
        continue;
      }
      if (b === 0x2c) {
        if (!top || top.state !== 4) fail('Unexpected ",": a value is missing before it.');
        (top as Frame).state = top.kind === 'obj' ? 1 : 3;
        pos++;
        col++;
        continue;
      }
      // A string, number or literal: may need more bytes.
      let end = -1;
      let width = 0;
      let escaped = false;
      if (b === 0x22) {
        for (let i = pos + 1; i < buf.length; i++) {
          const c = buf[i];
          if (c === 0x5c) {
            escaped = true;
            i++;
            width += 2;
            continue;
          }
          if (c === 0x22) {
            end = i + 1;
            break;
          }
          if (c < 0x20) {
            col += width + 1;
            fail(c === 10 ? 'Unterminated string: a line break inside a string must be written \\n.' : 'Control character inside a string: escape it.');
          }
          if ((c & 0xc0) !== 0x80) width += c >= 0xf0 ? 2 : 1;
        }
        width += 2;
      } else {
        let i = pos;
        while (i < buf.length) {
          const c = buf[i];
          if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2b || c === 0x2e || (c >= 0x41 && c <= 0x5a)) i++;
          else break;
        }
        if (i === pos) fail(`Unexpected character "${String.fromCharCode(b)}".`);
        if (i < buf.length || eof) end = i;
        width = i - pos;
      }
      if (end < 0) {
        if (await fill()) continue;
        if (b === 0x22) fail('The file ends inside a string: it is truncated.', true);
        end = buf.length;
        width = end - pos;
      }
      let value: JsonValue = null;
      const p: Pos = { line, column: col, endColumn: col + width };
      if (b === 0x22) {
        if (!escaped) value = buf.toString('utf8', pos + 1, end - 1);
        else {
          try {
            value = JSON.parse(buf.toString('utf8', pos, end)) as string;
          } catch {
            fail('Invalid escape sequence in a string.');
          }
        }
      } else {
        const word = buf.toString('latin1', pos, end);
        if (word === 'true') value = true;
        else if (word === 'false') value = false;
        else if (word === 'null') value = null;
        else if (NUMBER.test(word)) value = Number(word);
        else fail(`"${word.slice(0, 30)}" is not a JSON value (strings need double quotes).`);
      }
      const isKey = top?.kind === 'obj' && (top.state === 0 || top.state === 1);
      if (isKey) {
        if (typeof value !== 'string') fail('Object keys must be strings in double quotes.');
        (top as Frame).key = value as string;
        (top as Frame).state = 2;
      } else {
        if (!expectingValue()) fail(top?.kind === 'obj' ? 'A comma is missing before this value.' : 'A comma is missing before this value.');
        await complete(value, p);
      }
      pos = end;
      col += width;
    }
    if (!rootDone) {
      if (stack.length === 0) fail('The file holds no JSON value.', true);
      fail(`The JSON ends early: ${stack.length} bracket${stack.length === 1 ? ' is' : 's are'} still open. The file looks truncated; download or export it again.`, true);
    }
    return { sha256: hash.digest('hex'), bytes: size, root };
  } finally {
    await fh.close();
  }
}
