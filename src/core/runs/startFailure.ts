// Why a worker died before it started training, from the end of its worker.log: the last Python
// traceback (or the last lines), its one-line summary, and a module it could not import (the
// training environment is missing or still being set up).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanLogLine, workerLogMessage } from '../dashboard/logText';
import { WORKER_LOG } from './worker';

export interface StartFailure {
  /** The traceback, or the last lines of worker.log when there is none; escape codes removed. */
  readonly lines: string[];
  /** One line for a notification: the exception (`ModuleNotFoundError: No module named 'torch'`) or the last line. */
  readonly summary?: string;
  /** The top-level package a ModuleNotFoundError names. */
  readonly missingModule?: string;
}

const EXCEPTION = /^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b(?::.*)?$/;

export function readStartFailure(runDir: string, maxLines = 80, maxBytes = 64 * 1024): StartFailure {
  let text = '';
  try {
    const fd = fs.openSync(path.join(runDir, WORKER_LOG), 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return { lines: [] };
  }
  const all = text.split('\n').map(cleanLogLine);
  while (all.length && !all[all.length - 1]?.trim()) all.pop();
  const tb = all.lastIndexOf('Traceback (most recent call last):');
  const lines = (tb >= 0 ? all.slice(tb) : all).slice(-maxLines);
  const last = lines[lines.length - 1]?.trim();
  const summary = [...lines].reverse().find((l) => EXCEPTION.test(l.trim()))?.trim() ?? (last !== undefined ? (workerLogMessage(last) ?? last) : undefined);
  const missing = /ModuleNotFoundError: No module named '([^'.]+)/.exec(lines.join('\n'))?.[1];
  return { lines, ...(summary ? { summary } : {}), ...(missing ? { missingModule: missing } : {}) };
}
