// How a run is named to people: its name (spec.json `name`), else its id. Every message the editor
// shows about a run uses this; ids stay in folder paths, tooltips and `detail` lines.

import type { RunSpec } from './protocol';

export function runName(run: { readonly id: string; readonly spec?: Pick<RunSpec, 'name'> }): string {
  return run.spec?.name || run.id;
}
