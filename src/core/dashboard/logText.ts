// Worker output as people read it: terminal escape codes removed, progress-bar redraws reduced to
// what was last drawn, and each message once although the worker writes its own messages both
// to events.jsonl and to worker.log (its Python logging handler).

import type { RunEvent } from '../runs/protocol';

// CSI (colours, cursor moves), OSC (titles, links; ended by BEL or ESC \) and two-byte escapes.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/** The text of one output line without escape codes; of a line redrawn with `\r`, its last drawing. */
export function cleanLogLine(line: string): string {
  const text = line.replace(ANSI, '').replace(/\r+$/, '');
  const cr = text.lastIndexOf('\r');
  // eslint-disable-next-line no-control-regex
  return (cr >= 0 ? text.slice(cr + 1) : text).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
}

/**
 * The worker's command-line phrasing in the editor's words: "resume with --resume" is the Resume
 * Run command there. Applied to what the dashboard shows; worker.log keeps the worker's text.
 */
export function editorWording(text: string): string {
  return text
    .replace(/\bresume (?:it |the run )?with --resume\b/g, 'resume it with Resume Run')
    .replace(/\bresume continues from\b/g, 'Resume Run continues from')
    .replace(/\ba later --resume\b/g, 'a later Resume Run')
    .replace(/(^|\s)--resume:/g, '$1Resume Run:');
}

/** `2026-11-30 05:40:00,123 INFO message` (the worker's logging format): the message part. */
const WORKER_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/;

export function workerLogMessage(line: string): string | undefined {
  return WORKER_LINE.exec(line)?.[1];
}

/** What the worker's logging handler prints for an event it also wrote to events.jsonl, if any. */
export function eventLogMessage(ev: RunEvent): string | undefined {
  switch (ev.type) {
    case 'status':
      return ev.message ? `${ev.state}: ${ev.message}` : ev.state;
    case 'log':
      return String(ev.message);
    case 'error':
      return ev.field ? `[${ev.field}] ${ev.message}` : String(ev.message);
    default:
      return undefined;
  }
}

/**
 * Pairs the copies of a message that come from the two files, whichever file is read first: the
 * first copy is shown, its twin from the other file is dropped. Bounded: only the last `limit`
 * unpaired messages of each side are remembered.
 */
export class LogPairing {
  private readonly waiting = { event: new Map<string, number>(), worker: new Map<string, number>() };
  private readonly order = { event: [] as string[], worker: [] as string[] };

  constructor(private readonly limit = 1000) {}

  /** True when this message's twin was already shown (so this copy is dropped). */
  seen(side: 'event' | 'worker', message: string): boolean {
    const other = side === 'event' ? 'worker' : 'event';
    const n = this.waiting[other].get(message);
    if (n) {
      if (n === 1) this.waiting[other].delete(message);
      else this.waiting[other].set(message, n - 1);
      return true;
    }
    this.waiting[side].set(message, (this.waiting[side].get(message) ?? 0) + 1);
    const order = this.order[side];
    order.push(message);
    if (order.length > this.limit) {
      const old = order.shift() as string;
      const m = this.waiting[side].get(old);
      if (m && m > 1) this.waiting[side].set(old, m - 1);
      else this.waiting[side].delete(old);
    }
    return false;
  }
}
