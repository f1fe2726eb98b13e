import * as path from 'node:path';

/** Where BERT Studio keeps datasets and runs inside a workspace (see DESIGN.md). */
export interface StudioLayout {
  readonly root: string;
  readonly datasetsDir: string;
  readonly runsDir: string;
  /** Hyperparameter searches: one folder per study (study.json, optuna.db, status.json); its trials are runs in runsDir. */
  readonly studiesDir: string;
}

export function studioLayout(workspaceFolder: string, studioFolder = '.bert-studio'): StudioLayout {
  const root = path.resolve(workspaceFolder, studioFolder);
  return { root, datasetsDir: path.join(root, 'datasets'), runsDir: path.join(root, 'runs'), studiesDir: path.join(root, 'studies') };
}

/** The extension's or CLI's install root: the folder holding package.json, dist/ and trainer/. */
export function packageRoot(fromDir: string = __dirname): string {
  // Bundled code lives in <root>/dist; compiled tests in <root>/out/src/core.
  const parts = fromDir.split(path.sep);
  for (const marker of ['dist', 'out']) {
    const i = parts.lastIndexOf(marker);
    if (i > 0) return parts.slice(0, i).join(path.sep) || path.sep;
  }
  return path.resolve(fromDir, '..', '..');
}
