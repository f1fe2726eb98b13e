// Decides whether a misclassified example's source may be opened. The path comes from a run's
// events (written by the worker, from the dataset), never from the webview, and is still checked:
// it must be an existing file inside the workspace or inside one of the run's dataset sources.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SourceRoots {
  /** Workspace folders. */
  readonly workspaces: readonly string[];
  /** Files or folders the run's spec names as its data (train/validation/test), and the sources in its dataset manifest. */
  readonly dataSources: readonly string[];
  /** Base for relative source paths (the workspace folder). */
  readonly base: string;
}

export type SourceCheck = { readonly ok: true; readonly file: string; readonly line: number } | { readonly ok: false; readonly reason: string };

function real(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function checkSource(source: unknown, roots: SourceRoots): SourceCheck {
  if (typeof source !== 'object' || source === null) return { ok: false, reason: 'the example has no source' };
  const { file, line } = source as { file?: unknown; line?: unknown };
  if (typeof file !== 'string' || file === '' || file.includes('\0')) return { ok: false, reason: 'the example has no source file' };
  if (typeof line !== 'number' || !Number.isSafeInteger(line) || line < 1) return { ok: false, reason: 'the example has no valid line' };
  const resolved = real(path.resolve(roots.base, file));
  if (!resolved) return { ok: false, reason: `${file} does not exist` };
  try {
    if (!fs.statSync(resolved).isFile()) return { ok: false, reason: `${file} is not a file` };
  } catch {
    return { ok: false, reason: `${file} cannot be read` };
  }
  for (const ws of roots.workspaces) {
    const r = real(ws);
    if (r && inside(resolved, r)) return { ok: true, file: resolved, line };
  }
  for (const src of roots.dataSources) {
    const r = real(path.resolve(roots.base, src));
    if (r && (r === resolved || inside(resolved, r))) return { ok: true, file: resolved, line };
  }
  return { ok: false, reason: `${file} is outside the workspace and the run's dataset sources` };
}

/** Data paths a spec names, and the source paths its dataset manifest lists (best effort). */
export function runDataSources(spec: unknown, datasetsDir: string | undefined): string[] {
  const out: string[] = [];
  if (typeof spec !== 'object' || spec === null) return out;
  const s = spec as { data?: Record<string, unknown>; dataset_id?: unknown };
  for (const key of ['train', 'validation', 'test']) {
    const v = s.data?.[key];
    if (typeof v === 'string' && v) out.push(v);
  }
  if (datasetsDir && typeof s.dataset_id === 'string' && /^[A-Za-z0-9._-]+$/.test(s.dataset_id) && s.dataset_id !== '..') {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(datasetsDir, s.dataset_id, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      // Accepts a path, a list of them, {path|file}, or an object of those keyed by split.
      const collect = (v: unknown, depth = 0): void => {
        if (depth > 3) return;
        if (typeof v === 'string' && v) out.push(v);
        else if (Array.isArray(v)) v.forEach((x) => collect(x, depth + 1));
        else if (typeof v === 'object' && v !== null) {
          const r = v as Record<string, unknown>;
          const p = r.path ?? r.file;
          if (typeof p === 'string' && p) out.push(p);
          else Object.values(r).forEach((x) => collect(x, depth + 1));
        }
      };
      collect(manifest.source);
      collect(manifest.sources);
    } catch {
      // No manifest: the spec's paths are all there is.
    }
  }
  return out;
}
