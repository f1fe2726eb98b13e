// Run ids, checked the same way by the run store, the CLI, the extension's commands and the
// dashboard's messages: a folder name in the runs folder, never a path.

/** Letters, digits, '.', '_', '-'; not starting with '.' (so never '.', '..' or a hidden folder); at most 200 characters. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export function isRunId(id: unknown): id is string {
  return typeof id === 'string' && RUN_ID_PATTERN.test(id);
}
