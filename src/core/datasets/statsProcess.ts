// Runs `bert-studio dataset stats` in a child process so that tokenizing a large dataset never
// blocks the extension host. The CLI bundle is plain Node; inside VS Code it runs on the
// editor's own Node (ELECTRON_RUN_AS_NODE). Spawned without a shell, with an argument list.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { DatasetStatistics } from './stats';
import { AbortError } from './types';

export interface StatsProcessRequest {
  /** Node (process.execPath in the extension host). */
  readonly node: string;
  /** dist/cli.js */
  readonly cliPath: string;
  /** The dataset folder (with manifest.json). */
  readonly snapshotDir: string;
  readonly model?: string;
  readonly maxSeqLength: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number | undefined) => void;
}

/** Progress lines on stderr: `{"progress": done, "total": n}`. */
export function parseProgressLine(line: string): { done: number; total?: number } | undefined {
  if (!line.startsWith('{"progress"')) return undefined;
  try {
    const o = JSON.parse(line) as { progress?: unknown; total?: unknown };
    return typeof o.progress === 'number' ? { done: o.progress, total: typeof o.total === 'number' ? o.total : undefined } : undefined;
  } catch {
    return undefined;
  }
}

export function statisticsInChildProcess(req: StatsProcessRequest): Promise<DatasetStatistics> {
  const args = [req.cliPath, 'dataset', 'stats', '--snapshot', req.snapshotDir, '--max-seq-length', String(req.maxSeqLength), '--json', '--progress-json'];
  if (req.model) args.push('--model', req.model);
  return new Promise((resolve, reject) => {
    if (req.signal?.aborted) return reject(new AbortError());
    const child = spawn(req.node, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    let out = '';
    const errLines: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    createInterface({ input: child.stderr }).on('line', (line) => {
      const p = parseProgressLine(line);
      if (p) req.onProgress?.(p.done, p.total);
      else if (errLines.length < 50) errLines.push(line);
    });
    const onAbort = (): void => {
      child.kill();
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      req.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code) => {
      req.signal?.removeEventListener('abort', onAbort);
      if (req.signal?.aborted) return reject(new AbortError());
      if (code !== 0) {
        // With --json the CLI writes its errors to stdout as {"type": "error", "message"} lines.
        const problems = out
          .split('\n')
          .map((l) => {
            try {
              const o = JSON.parse(l) as { type?: unknown; message?: unknown };
              return o?.type === 'error' && typeof o.message === 'string' ? o.message : undefined;
            } catch {
              return undefined;
            }
          })
          .filter((m): m is string => m !== undefined);
        return reject(new Error(`statistics failed (exit ${code}): ${[...problems, ...errLines].join('\n')}`));
      }
      try {
        resolve(JSON.parse(out) as DatasetStatistics);
      } catch (err) {
        reject(new Error(`statistics: unreadable output: ${(err as Error).message}`));
      }
    });
  });
}
