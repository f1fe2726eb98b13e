import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Environment for a worker: the trainer package shipped beside the extension or CLI comes first
 * on PYTHONPATH, so the worker always matches the host that speaks to it.
 */
export function workerEnv(packageRootDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const trainer = path.join(packageRootDir, 'trainer');
  if (!fs.existsSync(path.join(trainer, 'bert_studio_trainer'))) return {};
  const existing = base.PYTHONPATH ? [base.PYTHONPATH] : [];
  return { PYTHONPATH: [trainer, ...existing].join(path.delimiter) };
}
