import { packageRoot } from '../core/paths';
import { resolveInterpreter } from '../core/python/interpreter';
import { flag, type ParsedArgs } from './io';

/** --python, else $BERT_STUDIO_PYTHON, else a .venv in the workspace or beside the CLI, else python3. */
export async function cliPython(args: ParsedArgs, workspace: string): Promise<string> {
  const explicit = flag(args, 'python') ?? process.env.BERT_STUDIO_PYTHON;
  const resolved = await resolveInterpreter({ setting: explicit, workspaceFolders: [workspace, packageRoot()] });
  return resolved.path ?? 'python3';
}
