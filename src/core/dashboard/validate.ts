// Type guards for everything the dashboard webview sends to the host. A webview is a web page:
// treat what it posts as untrusted input. Anything that does not match exactly is dropped.

import { LIMITS, RUN_ID_PATTERN, ToHost, type Selection, type WebviewMessage } from '../../../webview/dashboard/protocol';

type Rec = Readonly<Record<string, unknown>>;

function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(rec: Rec, allowed: readonly string[]): boolean {
  return Object.keys(rec).every((k) => allowed.includes(k));
}

export function isRunId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= LIMITS.runId && RUN_ID_PATTERN.test(v) && v !== '.' && v !== '..';
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function isSelection(v: unknown): v is Selection {
  if (!isRecord(v) || !onlyKeys(v, ['primary', 'compare', 'pinned'])) return false;
  if (v.primary !== undefined && !isRunId(v.primary)) return false;
  if (v.pinned !== undefined && typeof v.pinned !== 'boolean') return false;
  return Array.isArray(v.compare) && v.compare.length <= LIMITS.compare && v.compare.every(isRunId);
}

/** The message, when it is one the host understands with a well-formed payload. */
export function parseWebviewMessage(v: unknown): WebviewMessage | undefined {
  if (!isRecord(v) || typeof v.type !== 'string') return undefined;
  switch (v.type) {
    case ToHost.Ready:
      return onlyKeys(v, ['type', 'selection']) && (v.selection === undefined || isSelection(v.selection)) ? (v as WebviewMessage) : undefined;
    case ToHost.Select:
      return onlyKeys(v, ['type', 'selection']) && isSelection(v.selection) ? (v as WebviewMessage) : undefined;
    case ToHost.RequestRange:
      return onlyKeys(v, ['type', 'requestId', 'x0', 'x1']) &&
        isIndex(v.requestId) &&
        typeof v.x0 === 'number' &&
        typeof v.x1 === 'number' &&
        Number.isFinite(v.x0) &&
        Number.isFinite(v.x1) &&
        v.x0 < v.x1
        ? (v as WebviewMessage)
        : undefined;
    case ToHost.OpenExample:
      return onlyKeys(v, ['type', 'runId', 'step', 'index']) && isRunId(v.runId) && isIndex(v.step) && isIndex(v.index) ? (v as WebviewMessage) : undefined;
    case ToHost.OpenLog:
      return onlyKeys(v, ['type', 'runId']) && isRunId(v.runId) ? (v as WebviewMessage) : undefined;
    default:
      return undefined;
  }
}

/** A short description of a rejected message for the log (never the whole payload). */
export function describeRejected(v: unknown): string {
  if (!isRecord(v)) return `non-object (${v === null ? 'null' : typeof v})`;
  const type = typeof v.type === 'string' ? v.type.slice(0, 40) : typeof v.type;
  return `type=${JSON.stringify(type)} keys=${Object.keys(v).slice(0, 8).join(',')}`;
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
