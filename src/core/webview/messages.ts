// The host end of every webview (dashboard, dataset statistics, fill-mask, attention): what a
// page posts is untrusted input, checked against that page's guard (webview/<page>/protocol.ts,
// built with src/shared/guard.ts) before anything acts on it. A refused message is dropped and
// logged with its type, keys and the reason, never its payload. The page end is
// webview/shared/messages.ts.

import { check, describeRejected, type Guard } from '../../shared/guard';

export function receiveChecked<T>(page: string, g: Guard<T>, handle: (message: T) => void, warn: (line: string) => void): (raw: unknown) => void {
  return (raw) => {
    const c = check(g, raw);
    if (c.ok) handle(c.value);
    else warn(`${page}: dropped a malformed message from the webview (${describeRejected(raw, c.reason)})`);
  };
}
