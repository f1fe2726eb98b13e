// Trials train inside their study's driver process (trainer/bert_studio_trainer/sweep.py), so a
// trial run's status.json names the driver's pid, whose command line holds the study folder rather
// than the run folder. verifyWorker (src/core/runs/workerProcess.ts) asks this module whether a
// process is that driver. No imports from runs/: workerProcess imports this file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRecord } from '../../shared/guard';

/** Study ids are run-id-like folder names; trial runs add `-tNNN` (src/shared/runId.ts allows 200). */
export const STUDY_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,150}$/;

/**
 * Whether `args` (a process's command line, relative to `cwd`) is the sweep driver of the study
 * that `runDir` is a trial of: trials train inside the driver's process, so its pid is in their
 * status.json (src/core/runs/workerProcess.ts verifyWorker asks this).
 */
export function isStudyDriverOf(runDir: string, args: readonly string[], cwd: string | undefined, real: (p: string) => string): boolean {
  const at = args.indexOf('--study-dir');
  if (at < 0 || !args.includes('sweep') || at + 1 >= args.length) return false;
  let spec: unknown;
  try {
    spec = JSON.parse(fs.readFileSync(path.join(runDir, 'spec.json'), 'utf8'));
  } catch {
    return false;
  }
  const id = isRecord(spec) && isRecord(spec.study) ? spec.study.id : undefined;
  if (typeof id !== 'string' || !STUDY_ID_PATTERN.test(id)) return false;
  const dirArg = args[at + 1];
  const studyDir = path.isAbsolute(dirArg) ? dirArg : cwd !== undefined ? path.resolve(cwd, dirArg) : undefined;
  // <root>/runs/<run> belongs to the study <root>/studies/<id>.
  return studyDir !== undefined && real(studyDir) === real(path.join(path.dirname(path.dirname(runDir)), 'studies', id));
}

/**
 * "Use best trial": the run id of a study's best trial, from its status.json (`best.run`);
 * `{ run: undefined }` for a study with no completed trial yet, undefined when there is no such study.
 * Read without the study module (models/resolve.ts, which the study module depends on, asks it).
 */
export function bestTrialRunOf(studiesDir: string, id: string): { readonly run: string | undefined } | undefined {
  if (!STUDY_ID_PATTERN.test(id) || !fs.existsSync(path.join(studiesDir, id, 'study.json'))) return undefined;
  let status: unknown;
  try {
    status = JSON.parse(fs.readFileSync(path.join(studiesDir, id, 'status.json'), 'utf8'));
  } catch {
    return { run: undefined };
  }
  const run = isRecord(status) && isRecord(status.best) ? status.best.run : undefined;
  return { run: typeof run === 'string' ? run : undefined };
}
