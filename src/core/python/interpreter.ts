import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where an interpreter choice came from, so the UI can say it. */
export type InterpreterSource = 'setting' | 'workspace-venv' | 'python-extension' | 'none';

export interface ResolvedInterpreter {
  readonly path: string | undefined;
  readonly source: InterpreterSource;
}

export interface InterpreterInputs {
  /** The bertStudio.pythonPath setting (may be empty). */
  readonly setting?: string;
  /** Workspace folders to look for `.venv` in. */
  readonly workspaceFolders: readonly string[];
  /** The Python extension's selected interpreter, if it is installed and has one. */
  readonly pythonExtension?: () => Promise<string | undefined>;
  readonly exists?: (p: string) => boolean;
}

export function venvPython(venvDir: string): string {
  return process.platform === 'win32' ? path.join(venvDir, 'Scripts', 'python.exe') : path.join(venvDir, 'bin', 'python');
}

/** The setting, else a workspace `.venv`, else the Python extension's selected interpreter. */
export async function resolveInterpreter(inputs: InterpreterInputs): Promise<ResolvedInterpreter> {
  const exists = inputs.exists ?? ((p: string) => fs.existsSync(p));
  const setting = inputs.setting?.trim();
  if (setting) return { path: setting, source: 'setting' };
  for (const folder of inputs.workspaceFolders) {
    const candidate = venvPython(path.join(folder, '.venv'));
    if (exists(candidate)) return { path: candidate, source: 'workspace-venv' };
  }
  const fromExtension = await inputs.pythonExtension?.();
  if (fromExtension) return { path: fromExtension, source: 'python-extension' };
  return { path: undefined, source: 'none' };
}
