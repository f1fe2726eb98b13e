// Theme colours for what CSS cannot paint (canvas pixels): a VS Code theme variable resolved to RGB
// in the page, and a hook to redraw when VS Code switches the theme (it swaps the variables on
// <html> and the vscode-dark / vscode-light / vscode-high-contrast class on <body>).

/** The RGB of `var(name)` as the page computes it, else of `fallback`. */
export function themeRgb(name: string, fallback: string): [number, number, number] {
  const probe = document.createElement('span');
  probe.style.color = `var(${name}, ${fallback})`;
  probe.style.display = 'none';
  document.body.append(probe);
  const m = /rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(getComputedStyle(probe).color);
  probe.remove();
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [128, 128, 128];
}

/** Calls `redraw` after each theme switch. */
export function onThemeChange(redraw: () => void): void {
  let last = '';
  const observer = new MutationObserver(() => {
    const now = `${document.body.className}|${document.documentElement.getAttribute('style') ?? ''}`;
    if (now === last) return;
    last = now;
    redraw();
  });
  last = `${document.body.className}|${document.documentElement.getAttribute('style') ?? ''}`;
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
