// How a model folder is named to the user: the run's name (spec.json `name`) for a run folder or
// its onnx/ or model/ subfolder, else the folder's own name.

import * as fs from 'node:fs';
import * as path from 'node:path';

export function modelDisplayName(folder: string): string {
  const root = path.resolve(folder);
  const runDir = ['onnx', 'model', 'best'].includes(path.basename(root)) ? path.dirname(root) : root;
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(runDir, 'spec.json'), 'utf8')) as { name?: unknown };
    if (typeof spec.name === 'string' && spec.name.trim()) return spec.name.trim();
  } catch {
    // Not a run folder (or an unreadable spec): the folder's name says enough.
  }
  return path.basename(runDir);
}

/** An entity count and its types, most frequent first: "12 entities: PER 5, LOC 4, ORG 3". */
export function entitySummary(counts: ReadonlyMap<string, number>): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t, n]) => `${t} ${n}`);
  return `${total} ${total === 1 ? 'entity' : 'entities'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
