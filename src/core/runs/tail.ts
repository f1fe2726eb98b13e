import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parseEvent, type RunEvent } from './protocol';

/**
 * Follows an append-only JSONL file. Reads only what was appended since the last read, and keeps
 * a half-written last line until its newline arrives, so a reader never sees a torn event.
 */
export class JsonlTail {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private reading = false;
  // Keeps a multi-byte character split across two reads whole.
  private decoder = new StringDecoder('utf8');
  private buffer: Buffer | undefined;

  constructor(
    private readonly file: string,
    private readonly onEvents: (events: RunEvent[]) => void,
  ) {}

  /** Reads whatever is new now; returns the events found. */
  readNew(): RunEvent[] {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    const events: RunEvent[] = [];
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) {
        // Truncated or replaced: start over.
        this.offset = 0;
        this.partial = '';
        this.decoder = new StringDecoder('utf8');
      }
      const chunk = (this.buffer ??= Buffer.alloc(1 << 16));
      while (this.offset < size) {
        const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + this.decoder.write(chunk.subarray(0, n));
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          const ev = parseEvent(line);
          if (ev) events.push(ev);
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return events;
  }

  /** Starts following: fs.watch where it works, with a polling fallback. */
  start(pollMs = 500): this {
    const poll = (): void => {
      if (this.reading) return;
      this.reading = true;
      try {
        const events = this.readNew();
        if (events.length) this.onEvents(events);
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
