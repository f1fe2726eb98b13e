// Follows worker.log from its end: the last lines once, then what is appended. A log can grow to
// hundreds of megabytes over a long run, so unlike events.jsonl it is never read from the start.

import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export class LogTail {
  private offset = -1;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly onLines: (lines: string[]) => void,
    private readonly lastLines = 200,
    private readonly lastBytes = 64 * 1024,
  ) {}

  /** Reads what is new: on the first call (or after truncation), only the file's last lines. */
  readNew(): string[] {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    try {
      const size = fs.fstatSync(fd).size;
      let first = false;
      if (this.offset < 0 || size < this.offset) {
        this.offset = Math.max(0, size - this.lastBytes);
        this.partial = '';
        this.decoder = new StringDecoder('utf8');
        first = this.offset > 0;
      }
      if (size === this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const lines = (this.partial + this.decoder.write(buf.subarray(0, n))).split('\n');
      this.partial = lines.pop() ?? '';
      // Started mid-file: the first piece is the end of a line we did not read.
      if (first) lines.shift();
      const out = lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
      return out.length > this.lastLines ? out.slice(-this.lastLines) : out;
    } finally {
      fs.closeSync(fd);
    }
  }

  start(pollMs = 1000): this {
    const poll = (): void => {
      const lines = this.readNew();
      if (lines.length) this.onLines(lines);
    };
    poll();
    this.timer = setInterval(poll, pollMs);
    return this;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
