// What the dashboard webview sends is untrusted input: every message is checked against its
// guard in webview/dashboard/protocol.ts (built with src/shared/guard.ts, the one guard helper of
// every webview); anything that does not match exactly is dropped.

import { check, describeRejected as describeRefused, isRecord } from '../../shared/guard';
import { SELECTION, WEBVIEW_MESSAGE, isRunId, type Selection, type WebviewMessage } from '../../../webview/dashboard/protocol';

export { isRunId };

export function isSelection(v: unknown): v is Selection {
  return SELECTION(v);
}

/** The message, when it is one the host understands with a well-formed payload. */
export function parseWebviewMessage(v: unknown): WebviewMessage | undefined {
  const c = check(WEBVIEW_MESSAGE, v);
  return c.ok ? c.value : undefined;
}

/** A short description of a rejected message for the log (never the whole payload), with the reason. */
export function describeRejected(v: unknown): string {
  return describeRefused(v, WEBVIEW_MESSAGE.problem(v));
}

/**
 * The run the `bertStudio.openDashboard` command was given: a run id, or a tree item (or any
 * object) with a string `runId` or `id`. Undefined means "the most recent run".
 */
export function runIdFromArg(arg: unknown): string | undefined {
  if (isRunId(arg)) return arg;
  if (isRecord(arg)) {
    if (isRunId(arg.runId)) return arg.runId;
    if (isRunId(arg.id)) return arg.id;
    // A tree item wrapping a RunInfo.
    if (isRecord(arg.run) && isRunId(arg.run.id)) return arg.run.id;
  }
  return undefined;
}
