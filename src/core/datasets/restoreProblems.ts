// After a window reload the Problems panel is empty until a dataset is validated again: the
// imported datasets whose import reported problems are validated again from their sources (the
// request the manifest records), so their diagnostics come back without a new import.

import * as fs from 'node:fs';
import { listDatasets, requestFromManifest } from './snapshot';
import type { DatasetRequest } from './types';

/** The validation requests of imported datasets that had problems and whose source files are all still there. */
export async function datasetsWithProblems(datasetsDir: string): Promise<{ id: string; request: DatasetRequest }[]> {
  const out: { id: string; request: DatasetRequest }[] = [];
  for (const d of await listDatasets(datasetsDir)) {
    const p = d.manifest.problems;
    if (!p || p.errors + p.warnings === 0) continue;
    if (!d.manifest.sources.every((s) => fs.existsSync(s.path))) continue;
    out.push({ id: d.id, request: requestFromManifest(d.manifest) });
  }
  return out;
}
