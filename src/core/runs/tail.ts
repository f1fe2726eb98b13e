import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { checkEvent, reportInvalid, type RunEvent } from './protocol';

export interface LineTailOptions {
  /**
   * Start near the end rather than at the beginning: only the complete lines in the file's last
   * `lastBytes`, at most `lastLines` of them per read. For logs, which can grow to hundreds of
   * megabytes over a long run and are never read from the start (events.jsonl always is).
   */
  readonly fromEnd?: { readonly lastLines: number; readonly lastBytes: number };
}

/**
 * Follows an append-only text file line by line. Reads only what was appended since the last read, and keeps
 * a half-written last line until its newline arrives, so a reader never sees a torn event. Blank lines are
 * dropped and a trailing `\r` is removed.
 */
export class LineTail {
  /** -1: nothing read yet. */
  private offset = -1;
  private partial = '';
  /** Started mid-line: the text up to the next newline is the end of a line we did not read. */
  private skipPartialLine = false;
  private timer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private reading = false;
  // Keeps a multi-byte character split across two reads whole.
  private decoder = new StringDecoder('utf8');
  private buffer: Buffer | undefined;

  constructor(
    private readonly file: string,
    private readonly onLines: (lines: string[]) => void,
    private readonly options: LineTailOptions = {},
  ) {}

  /** Reads whatever is new now; returns the complete lines found. */
  readNew(): string[] {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    const out: string[] = [];
    const fromEnd = this.options.fromEnd;
    try {
      const size = fs.fstatSync(fd).size;
      const chunk = (this.buffer ??= Buffer.alloc(1 << 16));
      if (this.offset < 0 || size < this.offset) {
        // First read, or the file was truncated or replaced: start over.
        this.offset = fromEnd ? Math.max(0, size - fromEnd.lastBytes) : 0;
        this.partial = '';
        this.decoder = new StringDecoder('utf8');
        this.skipPartialLine = this.offset > 0 && fs.readSync(fd, chunk, 0, 1, this.offset - 1) === 1 && chunk[0] !== 0x0a;
      }
      while (this.offset < size) {
        const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + this.decoder.write(chunk.subarray(0, n));
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        if (this.skipPartialLine && lines.length) {
          lines.shift();
          this.skipPartialLine = false;
        }
        for (const line of lines) {
          const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
          if (clean.trim()) out.push(clean);
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return fromEnd && out.length > fromEnd.lastLines ? out.slice(-fromEnd.lastLines) : out;
  }

  /** Starts following: fs.watch where it works, with a polling fallback. */
  start(pollMs = 500): this {
    const poll = (): void => {
      if (this.reading) return;
      this.reading = true;
      try {
        const lines = this.readNew();
        if (lines.length) this.onLines(lines);
      } finally {
        this.reading = false;
      }
    };
    poll();
    try {
      this.watcher = fs.watch(this.file, () => poll());
    } catch {
      // The file may not exist yet; polling picks it up.
    }
    this.timer = setInterval(poll, pollMs);
    return this;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    this.timer = undefined;
    this.watcher = undefined;
  }
}

/**
 * Follows events.jsonl: complete events that match the contract (protocol.ts) only; any other line
 * is dropped and reported (`onInvalidRecord`) with its line number and what is wrong.
 */
export class JsonlTail {
  private readonly lines: LineTail;
  /** Lines seen so far (blank lines are not counted: the number is approximate after one). */
  private lineNo = 0;

  constructor(
    private readonly file: string,
    onEvents: (events: RunEvent[]) => void,
  ) {
    this.lines = new LineTail(file, (lines) => {
      const events = this.parse(lines);
      if (events.length) onEvents(events);
    });
  }

  private parse(lines: string[]): RunEvent[] {
    const out: RunEvent[] = [];
    for (const line of lines) {
      this.lineNo++;
      const c = checkEvent(line);
      if (c.ok) out.push(c.value);
      else reportInvalid(this.file, `line ${this.lineNo}: ${c.reason}; the line is ignored`);
    }
    return out;
  }

  readNew(): RunEvent[] {
    return this.parse(this.lines.readNew());
  }

  start(pollMs = 500): this {
    this.lines.start(pollMs);
    return this;
  }

  dispose(): void {
    this.lines.dispose();
  }
}
