// The page end of every webview's messages: what the host posts is checked against the page's
// guard (its protocol.ts, built with src/shared/guard.ts) before it is rendered; anything else is
// dropped with a console warning. The host end is src/core/webview/messages.ts.

import { check, describeRejected, type Guard } from '../../src/shared/guard';

export function onHostMessage<T>(page: string, g: Guard<T>, handle: (message: T) => void): void {
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const c = check(g, event.data);
    if (c.ok) handle(c.value);
    else console.warn(`${page}: dropped a malformed message from the host (${describeRejected(event.data, c.reason)})`);
  });
}
