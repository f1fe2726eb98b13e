// Small DOM helpers of the dashboard (`el` is the shared one, ../shared/dom). Text always goes in
// through textContent: run names, labels, examples and log lines come from datasets and logs, and
// are never parsed as HTML.

/** A custom element (vscode-elements) as a plain element with its properties. */
export function custom<T extends object>(tag: string, className?: string): HTMLElement & T {
  const e = document.createElement(tag) as HTMLElement & T;
  if (className) e.className = className;
  return e;
}

export function clear(e: Element): void {
  while (e.firstChild) e.removeChild(e.firstChild);
}

export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function formatNumber(v: number | undefined, digits = 4): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}
