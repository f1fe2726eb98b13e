// Every webview in three themes, and the keyboard. One window, two editor groups side by side:
//   left:  the Training Dashboard on a REAL tiny run (its confusion matrix and misclassified
//          examples), the Dataset statistics of an imported SST-2 subset, and the study view of a
//          finished hyperparameter search (a fixture study folder);
//   right: the Attention viewer (half the editor width: every head must show, wrapped) on a line
//          with Chinese characters, and the Fill-Mask panel.
// In "Default Dark Modern", "Default Light Modern" and "Default High Contrast" (picked through
// Preferences: Color Theme, as a user would) each webview is photographed into test-results/e2e/
// and checked: its text colour is the theme's foreground and reads against its background (WCAG
// contrast ≥ 4.5, ≥ 7 in high contrast), no input box is light in a dark theme, the chart lines and
// axis labels and the attention maps are drawn in the theme's colours, and the colours differ
// between the dark and light themes. Then the keyboard: Tab reaches the dashboard's controls and
// charts with a visible focus outline, the arrows move in the confusion matrix, Enter there lists
// a cell's examples and Enter on an example opens its source line; in the attention grid the
// arrows move between heads, Enter opens one with its token labels, Escape returns to it.
// UPDATE_SCREENSHOTS=1: media/screenshots/{dashboard,attention}-{dark,light,hc}.png.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseModelIfAsked, fillMaskModel, selectLine } from '../fixtures/inference.mjs';
import { copyRun, tinyAssets } from '../fixtures/tiny.mjs';

const RUN = '20991231-000000-themes';
const THEMES = [
  { name: 'Default Dark Modern', label: 'Dark Modern', short: 'dark', workbench: 'vs-dark', body: 'vscode-dark', minContrast: 4.5 },
  { name: 'Default Light Modern', label: 'Light Modern', short: 'light', workbench: 'vs', body: 'vscode-light', minContrast: 4.5 },
  { name: 'Default High Contrast', label: 'Dark High Contrast', short: 'hc', workbench: 'hc-black', body: 'vscode-high-contrast', minContrast: 7 },
];
const HC = THEMES[2];
const STUDY = 'themes-study';
/**
 * A finished hyperparameter study in the study-folder contract (study.json, status.json: see
 * src/core/sweeps/study.ts): four trials, one pruned, for the study view's table and charts.
 */
function writeStudy(ws) {
  const dir = join(ws, '.bert-studio', 'studies', STUDY);
  mkdirSync(dir, { recursive: true });
  const spec = { version: 1, task: 'sequence_classification', name: 'themes study', model: { name_or_path: 'prajjwal1/bert-tiny' }, data: { train: 'data/sst2-sample.tsv' }, training: { max_steps: 60 }, device: 'cpu' };
  writeFileSync(join(dir, 'study.json'), JSON.stringify({ version: 1, id: STUDY, name: 'themes study', created: '2025-03-01T10:00:00Z', spec, space: { learning_rate: { low: 1e-5, high: 1e-4, log: true }, per_device_train_batch_size: { choices: [8, 16] } }, n_trials: 4, pruner: { type: 'median' }, seed: 1 }, null, 2));
  const trial = (number, lr, bs, curve, state = 'completed') => ({ number, state, params: { learning_rate: lr, per_device_train_batch_size: bs }, value: state === 'completed' ? curve[curve.length - 1] : null, run: null, intermediate: curve.map((v, i) => [20 * (i + 1), v]), ...(state === 'pruned' ? { pruned_at: 20 * curve.length } : {}) });
  const trials = [trial(0, 2e-5, 8, [0.61, 0.68, 0.72]), trial(1, 8e-5, 16, [0.64, 0.75, 0.81]), trial(2, 1.2e-5, 16, [0.52], 'pruned'), trial(3, 4e-5, 8, [0.63, 0.71, 0.77])];
  writeFileSync(join(dir, 'status.json'), JSON.stringify({ id: STUDY, state: 'completed', started: 1740823200, updated: 1740823800, metric: 'accuracy', direction: 'maximize', n_trials: 4, finished: 4, trials, best: { trial: 1, run: null, value: 0.81, params: trials[1].params } }, null, 2));
}

// A line for the attention viewer: English WordPieces and Chinese characters (one token each).
const TEXT = 'Paris is the capital of France; 巴黎是法国的首都。';

// ---- colours -----------------------------------------------------------------------------------
const rgb = (s) => (/rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+))?/.exec(s ?? '') ?? []).slice(1).map((v) => (v === undefined ? 1 : Number(v)));
function luminance(c) {
  const [r, g, b] = rgb(c).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}

/**
 * In a webview's content frame: its body class, text colour, effective background, the theme's
 * variables resolved, every native form control's colours, and (`canvas`) how many pixels of the
 * first matching canvas are close to the theme's charts blue and to the axis-label colour.
 */
async function probe(frame, { canvas } = {}) {
  return frame.locator('html').evaluate((_html, sel) => {
    const resolve = (v) => {
      const s = document.createElement('span');
      s.style.color = `var(${v})`;
      document.body.append(s);
      const c = getComputedStyle(s).color;
      s.remove();
      return c;
    };
    const transparent = (c) => /^rgba\(.*,\s*0\)$/.test(c) || c === 'transparent';
    const backgroundOf = (e) => {
      for (let n = e; n; n = n.parentElement) {
        const c = getComputedStyle(n).backgroundColor;
        if (!transparent(c)) return c;
      }
      return resolve('--vscode-editor-background');
    };
    const visible = (e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0;
    };
    const controls = [...document.querySelectorAll('input:not([type=range]):not([type=checkbox]), textarea, select')].filter(visible)
      .map((e) => ({ what: `${e.tagName.toLowerCase()}${e.type ? `[${e.type}]` : ''}`, fg: getComputedStyle(e).color, bg: backgroundOf(e) }));
    let pixels;
    const c = sel ? document.querySelector(sel) : null;
    if (c instanceof HTMLCanvasElement && c.width > 0) {
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const parse = (s) => (/rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(s) ?? []).slice(1).map(Number);
      const blue = parse(resolve('--vscode-charts-blue'));
      const label = parse(resolve('--vscode-descriptionForeground'));
      const near = (i, t, d) => Math.abs(data[i] - t[0]) + Math.abs(data[i + 1] - t[1]) + Math.abs(data[i + 2] - t[2]) <= d;
      // Canvas pixels are not premultiplied: a colour drawn at any opacity keeps its RGB (the
      // theme's description colour is translucent in high contrast); anti-aliased edges do not.
      pixels = { total: 0, blue: 0, label: 0, solid: 0, solidBlue: 0 };
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        pixels.total++;
        if (data[i + 3] > 200 && near(i, blue, 40)) pixels.blue++;
        if (data[i + 3] > 100 && near(i, label, 40)) pixels.label++;
        if (data[i + 3] >= 64) {
          pixels.solid++;
          if (near(i, blue, 12)) pixels.solidBlue++;
        }
      }
    }
    return {
      body: document.body.className,
      fg: getComputedStyle(document.body).color,
      bg: backgroundOf(document.body),
      themeFg: resolve('--vscode-foreground'),
      chartsBlue: resolve('--vscode-charts-blue'),
      controls,
      pixels,
    };
  }, canvas);
}

/**
 * Checks one webview's colours in one theme (and `more(probe)`: further problems, e.g. its canvas);
 * retried for a while, as the page redraws after a theme switch; returns the probe.
 */
async function checkColours(frame, theme, what, h, { canvas, more = () => [] } = {}) {
  let last;
  const problemsOf = (p) => {
    if (!p.body.includes(theme.body)) return [`body class "${p.body}", not ${theme.body}`];
    const problems = [];
    if (rgb(p.fg).join() !== rgb(p.themeFg).join()) problems.push(`text ${p.fg} is not the theme's foreground ${p.themeFg}`);
    const c = contrast(p.fg, p.bg);
    if (c < theme.minContrast) problems.push(`text contrast ${c.toFixed(2)} (${p.fg} on ${p.bg}) < ${theme.minContrast}`);
    for (const ctl of p.controls) {
      if (theme.short !== 'light' && luminance(ctl.bg) > 0.3) problems.push(`a light ${ctl.what} box (${ctl.bg}) in a dark theme`);
      if (contrast(ctl.fg, ctl.bg) < 4.5) problems.push(`${ctl.what} text contrast ${contrast(ctl.fg, ctl.bg).toFixed(2)} (${ctl.fg} on ${ctl.bg})`);
    }
    return [...problems, ...more(p)];
  };
  const p = await h.waitFor(`${what} in ${theme.name}`, async () => {
    const r = await probe(frame, { canvas });
    last = problemsOf(r);
    return last.length ? undefined : r;
  }, { timeoutMs: 30_000, intervalMs: 500 }).catch((err) => {
    throw new Error(`${what}, ${theme.name}: ${last?.join('; ') ?? err.message}`);
  });
  h.log(`${theme.short} ${what}: text ${p.fg} on ${p.bg} (contrast ${contrast(p.fg, p.bg).toFixed(1)}), ${p.controls.length} form control(s)${p.pixels ? `, canvas ${JSON.stringify(p.pixels)}` : ''}`);
  return p;
}

async function setTheme(page, h, theme) {
  await h.runCommand(page, 'Preferences: Color Theme');
  // The picker lists a theme by its label ("Dark Modern"); the setting holds its id ("Default Dark Modern").
  await page.locator('.quick-input-widget .quick-input-box input').fill(theme.label);
  await h.pickQuickItem(page, theme.label, { exact: true });
  await h.waitFor(`the workbench in ${theme.name}`, () => page.evaluate((k) => document.querySelector('.monaco-workbench')?.classList.contains(k), theme.workbench), { timeoutMs: 20_000 });
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => page.keyboard.press('Escape'));
}

const group = (page, i) => page.locator('.part.editor .editor-group-container').nth(i);
/** Brings the tab titled `title` of editor group `i` to the front. */
async function showTab(page, h, i, title) {
  const tab = group(page, i).locator('.tab', { hasText: title }).first();
  await tab.waitFor({ timeout: 30_000 });
  await tab.click();
  await h.waitFor(`the "${title}" tab active`, async () => /\bactive\b/.test((await tab.getAttribute('class')) ?? ''), { timeoutMs: 10_000 });
  await page.mouse.move(200, 650); // off the tab (its hover), onto the side bar's empty part
}
/** The content frame of the webview shown in editor group `i`. */
const frameIn = (page, h, i) => h.webviewFrameIn(page, group(page, i), { timeoutMs: 60_000 });

/** What has the focus in a webview frame: tag, classes, role, label, and its outline. */
const focused = (frame) => frame.locator('html').evaluate(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return { tag: 'body' };
  const s = getComputedStyle(e);
  const focus = document.createElement('span');
  focus.style.color = 'var(--vscode-focusBorder)';
  document.body.append(focus);
  const ring = getComputedStyle(focus).color;
  focus.remove();
  return { tag: e.tagName.toLowerCase(), cls: e.className, role: e.getAttribute('role'), label: e.getAttribute('aria-label'), cell: e.dataset?.cell, text: (e.textContent ?? '').slice(0, 120), outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, ring, outlined: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 && s.outlineColor === ring };
});

/** Presses Tab until `until(focused)` holds (at most `max` times); returns the path taken. */
async function tabUntil(page, frame, until, max, what) {
  const path = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(frame);
    path.push(f);
    if (until(f)) return path;
  }
  throw new Error(`Tab did not reach ${what} in ${max} presses: ${path.map((f) => `${f.tag}.${f.cls ?? ''}`).join(' → ')}`);
}

export const scenario = {
  // Its own window: a fresh workspace for the import, and the theme changes stay out of the others.
  isolated: true,
  name: 'themes: every webview in dark, light and high-contrast themes (colours from the theme, contrast, screenshots); keyboard navigation of the dashboard and the attention grid',
  timeoutMs: 480_000,
  prepare: (ws) => {
    writeFileSync(join(ws, 'themes.txt'), `${TEXT}\n`);
    writeStudy(ws);
  },
  async run({ page, dirs, h }) {
    const ws = dirs.workspace;
    const assets = await tinyAssets();
    const runDir = copyRun(assets.runs.cls, ws, RUN);
    const spec = JSON.parse(readFileSync(join(runDir, 'spec.json'), 'utf8'));
    const model = await fillMaskModel(ws);

    // Left group: the dataset statistics of an import.
    await h.explorerContextMenu(page, 'data/sst2/train.tsv', 'Import Dataset');
    const imported = page.locator('.notifications-toasts .notification-toast', { hasText: /Imported "sst2/ }).first();
    await h.waitFor('the import', async () => {
      if (await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Validation data' }).isVisible()) await h.pickQuickItem(page, 'Use dev.tsv', { timeoutMs: 5000 });
      return imported.isVisible();
    }, { timeoutMs: 90_000, intervalMs: 1000 });
    await imported.locator('.monaco-button', { hasText: 'Show Statistics' }).click();
    await page.locator('.part.editor .tab', { hasText: /Dataset:/ }).first().waitFor({ timeout: 30_000 });
    await h.clearNotifications(page);

    // Right group: attention for the line (half the editor's width), then the fill-mask panel.
    const selected = await selectLine(page, h, 'themes.txt', 1);
    if (selected !== TEXT.length) throw new Error(`selected ${selected} characters of ${TEXT.length}`);
    await h.runCommand(page, 'BERT Studio: Show Attention for Selection');
    await chooseModelIfAsked(page, h, model, page.locator('.part.editor .tab', { hasText: /^\s*Attention/ }));
    await h.runCommand(page, 'BERT Studio: Open Fill-Mask Panel');
    await group(page, 1).locator('.tab', { hasText: 'Fill Mask' }).first().waitFor({ timeout: 30_000 });
    const fill = await frameIn(page, h, 1);
    await fill.locator('textarea').fill('paris is the [MASK] of france .');
    await h.waitFor('fill-mask completions', async () => (await fill.locator('ol li').count()) >= 3, { timeoutMs: 60_000 });

    // Left group again: the dashboard, on the real run (the most recent: followed).
    await h.runCommand(page, 'View: Focus First Editor Group');
    await h.runCommand(page, 'BERT Studio: Refresh Runs');
    await h.runCommand(page, 'BERT Studio: Open Training Dashboard');
    await group(page, 0).locator('.tab', { hasText: 'Training Dashboard' }).first().waitFor({ timeout: 30_000 });
    // And the study view of a finished hyperparameter search, beside it.
    await h.runCommand(page, 'BERT Studio: Open Study');
    await h.pickQuickItem(page, 'themes study');
    await group(page, 0).locator('.tab', { hasText: 'Study' }).first().waitFor({ timeout: 30_000 });

    const seen = {};
    for (const theme of THEMES) {
      await setTheme(page, h, theme);
      // Dashboard | attention.
      await showTab(page, h, 0, 'Training Dashboard');
      await showTab(page, h, 1, 'Attention');
      const dash = await frameIn(page, h, 0);
      await h.waitFor('the run on the dashboard', async () => (await dash.locator('table.confusion td.cell').count()) > 0 && (await dash.locator('.chart-body canvas').count()) > 0, { timeoutMs: 60_000 });
      const att = await frameIn(page, h, 1);
      await att.locator('.grid .cell canvas').first().waitFor({ timeout: 60_000 });
      await page.waitForTimeout(400); // a redraw after the theme switch
      const d = await checkColours(dash, theme, 'dashboard', h, {
        canvas: '.chart-body canvas',
        more: (p) => [
          ...(p.pixels?.blue >= 20 ? [] : [`the loss curve is not drawn in the theme's charts blue ${p.chartsBlue}: ${JSON.stringify(p.pixels)}`]),
          ...(p.pixels?.label >= 20 ? [] : [`the chart's axis labels are not in the theme's description colour: ${JSON.stringify(p.pixels)}`]),
        ],
      });
      const a = await checkColours(att, theme, 'attention', h, {
        canvas: '.grid .cell canvas',
        more: (p) => (p.pixels?.solid >= 5 && p.pixels.solidBlue === p.pixels.solid ? [] : [`attention map cells not in the theme's charts blue ${p.chartsBlue}: ${JSON.stringify(p.pixels)}`]),
      });
      // Half the editor's width, and still every head of every layer, wrapped within it.
      const grid = await att.locator('html').evaluate(() => {
        const cells = [...document.querySelectorAll('.grid .cell')];
        const rows = [...document.querySelectorAll('.grid .layer')].map((l) => l.querySelectorAll('.cell').length);
        return { cells: cells.length, rows, width: document.documentElement.clientWidth, right: Math.max(...cells.map((c) => c.getBoundingClientRect().right)), lines: new Set(cells.map((c) => Math.round(c.getBoundingClientRect().top))).size };
      });
      const editorWidth = (await page.locator('.part.editor').boundingBox()).width;
      if (grid.width > editorWidth * 0.6) throw new Error(`the attention viewer is ${grid.width} px of a ${editorWidth} px editor: not half width`);
      if (grid.right > grid.width) throw new Error(`attention heads beyond the panel's right edge: ${grid.right} > ${grid.width}`);
      if (grid.rows.some((n) => n !== grid.rows[0]) || grid.cells !== grid.rows.length * grid.rows[0]) throw new Error(`attention grid rows ${grid.rows.join(',')}`);
      if (grid.rows[0] >= 8 && grid.lines <= grid.rows.length) throw new Error(`${grid.rows[0]} heads a layer in ${grid.width} px but no row wrapped`);
      await h.clearNotifications(page); // the README pictures without toasts
      await h.screenshot(page, `themes-${theme.short}-dashboard-attention`);
      await h.screenshot(page, `dashboard-${theme.short}`, { readme: true, clip: await group(page, 0).boundingBox() });
      await h.screenshot(page, `attention-${theme.short}`, { readme: true, clip: await group(page, 1).boundingBox() });

      // Dataset statistics | fill mask.
      await showTab(page, h, 0, 'Dataset:');
      await showTab(page, h, 1, 'Fill Mask');
      const stats = await frameIn(page, h, 0);
      await stats.locator('.hist').first().waitFor({ timeout: 60_000 });
      const fm = await frameIn(page, h, 1);
      await fm.locator('textarea').waitFor({ timeout: 30_000 });
      await h.waitFor('fill-mask completions', async () => (await fm.locator('ol li').count()) >= 3, { timeoutMs: 60_000 });
      const s = await checkColours(stats, theme, 'dataset statistics', h);
      const f = await checkColours(fm, theme, 'fill mask', h);
      if (f.controls.length < 2) throw new Error(`fill mask: ${f.controls.length} form controls checked (the text box and Top k expected)`);
      await h.screenshot(page, `themes-${theme.short}-stats-fill-mask`);

      // The study view: its charts in the theme's colours too (completed trials in charts blue).
      await showTab(page, h, 0, 'Study');
      const study = await frameIn(page, h, 0);
      await study.locator('.uplot canvas').first().waitFor({ timeout: 60_000 });
      const st = await checkColours(study, theme, 'study', h, {
        canvas: '.uplot canvas',
        more: (p) => [
          ...(p.pixels?.blue >= 10 ? [] : [`the trials are not drawn in the theme's charts blue ${p.chartsBlue}: ${JSON.stringify(p.pixels)}`]),
        ],
      });
      await h.screenshot(page, `themes-${theme.short}-study`, { clip: await group(page, 0).boundingBox() });
      seen[theme.short] = { dashboard: d, attention: a, stats: s, fill: f, study: st };
    }
    // The dark and light themes differ in text and background everywhere: nothing is fixed.
    for (const what of ['dashboard', 'attention', 'stats', 'fill', 'study']) {
      const [dk, lt] = [seen.dark[what], seen.light[what]];
      if (dk.fg === lt.fg || dk.bg === lt.bg) throw new Error(`${what}: the same colours in the dark and light themes (${dk.fg} on ${dk.bg})`);
    }

    // ---- keyboard (high contrast) ---------------------------------------------------------------
    await showTab(page, h, 0, 'Training Dashboard');
    await showTab(page, h, 1, 'Attention');
    const dash = await frameIn(page, h, 0);
    await dash.locator('table.confusion td.cell').first().waitFor({ timeout: 60_000 });
    // Tab from the top of the page: the run picker, the smoothing slider, the charts, then the matrix.
    await dash.locator('body').click({ position: { x: 2, y: 2 } });
    const path = await tabUntil(page, dash, (f) => f.tag === 'td', 40, 'the confusion matrix');
    const reached = (test) => path.some(test);
    if (!reached((f) => f.tag === 'vscode-single-select')) throw new Error(`Tab skipped the run picker: ${path.map((f) => f.tag).join(' → ')}`);
    if (!reached((f) => f.tag === 'input' && /smoothing/.test(f.cls))) throw new Error('Tab skipped the smoothing slider');
    const chartStops = path.filter((f) => /chart-body/.test(f.cls));
    if (!chartStops.length) throw new Error('Tab reached no chart');
    const unringed = path.filter((f) => f.tag !== 'vscode-single-select' && f.tag !== 'vscode-checkbox' && !f.outlined);
    if (unringed.length) throw new Error(`focused without a focus outline in ${HC.name}: ${unringed.map((f) => `${f.tag}.${f.cls} (${f.outline}; ring ${f.ring})`).join(', ')}`);
    h.log(`dashboard Tab order: ${path.map((f) => f.tag === 'td' ? `cell ${f.cell}` : `${f.tag}${f.cls ? `.${String(f.cls).split(' ')[0]}` : ''}`).join(' → ')}`);
    // A chart zooms with "+" and resets with "0".
    const chart = dash.locator('.chart-body').first();
    await chart.focus();
    await page.keyboard.press('+');
    await h.waitFor('the zoom note after "+"', async () => /Zoomed to steps/.test(await dash.locator('.zoom-note').innerText()), { timeoutMs: 10_000 });
    await page.keyboard.press('0');
    await h.waitFor('the zoom reset by "0"', async () => !/Zoomed to steps/.test(await dash.locator('.zoom-note').innerText()), { timeoutMs: 10_000 });
    // The matrix: arrows to an off-diagonal cell with examples, Enter lists them, Enter on one opens it.
    await dash.locator('table.confusion td.cell').first().focus();
    const target = await dash.locator('table.confusion td.clickable').first().getAttribute('data-cell');
    if (!target) throw new Error('no confusion cell with misclassified examples (the real run predicted everything right?)');
    const [ti, tj] = target.split(',').map(Number);
    const from = (await focused(dash)).cell.split(',').map(Number);
    for (let k = from[0]; k < ti; k++) await page.keyboard.press('ArrowDown');
    for (let k = from[0]; k > ti; k--) await page.keyboard.press('ArrowUp');
    for (let k = from[1]; k < tj; k++) await page.keyboard.press('ArrowRight');
    for (let k = from[1]; k > tj; k--) await page.keyboard.press('ArrowLeft');
    if ((await focused(dash)).cell !== target) throw new Error(`the arrows reached cell ${(await focused(dash)).cell}, not ${target}`);
    await page.keyboard.press('Enter');
    const cellCaption = dash.locator('h4', { hasText: /^Gold .*, predicted .*: \d+ listed example/ }).first();
    await cellCaption.waitFor({ timeout: 10_000 });
    const after = await focused(dash);
    if (after.cell !== target || !after.outlined) throw new Error(`after Enter the focus is on ${JSON.stringify(after)}, not cell ${target} with its outline`);
    // Enter again keeps the cell's list (as a data-map region button does): no toggle back to all examples.
    const listed = await dash.locator('ol.examples li').count();
    await page.keyboard.press('Enter');
    // (The page re-renders inside its keydown handler: a toggle would show by the time press() returns.)
    if (!(await cellCaption.isVisible()) || (await dash.locator('ol.examples li').count()) !== listed) throw new Error(`a second Enter on cell ${target} changed its list: ${await dash.locator('h4').allInnerTexts()}`);
    // Escape lists all again, the focus still on the cell; Enter lists the cell once more.
    await page.keyboard.press('Escape');
    await dash.locator('h4', { hasText: /^Misclassified examples/ }).first().waitFor({ timeout: 10_000 });
    if ((await focused(dash)).cell !== target) throw new Error(`after Escape the focus left cell ${target}: ${JSON.stringify(await focused(dash))}`);
    await page.keyboard.press('Enter');
    await cellCaption.waitFor({ timeout: 10_000 });
    await page.keyboard.press('Tab');
    const example = await focused(dash);
    if (example.tag !== 'li' || !/openable/.test(example.cls)) throw new Error(`Tab after the matrix reached ${JSON.stringify(example)}, not an example`);
    if (!example.outlined) throw new Error(`the focused example has no focus outline: ${example.outline}`);
    const exampleText = (await dash.locator('li.example:focus .example-text').innerText()).trim();
    await page.keyboard.press('Enter');
    const file = spec.data.validation;
    await group(page, 0).locator('.tab.active', { hasText: file.split('/').pop() }).first().waitFor({ timeout: 30_000 });
    const status = await h.waitFor('the cursor on the example line', async () => /^Ln (\d+)/.exec(await h.editorSelectionStatus(page)), { timeoutMs: 15_000 });
    const line = readFileSync(file, 'utf8').split('\n')[Number(status[1]) - 1] ?? '';
    if (!line.includes(exampleText.slice(0, 40))) throw new Error(`Enter opened line ${status[1]} of ${file} ("${line.slice(0, 80)}"), not the example "${exampleText.slice(0, 80)}"`);
    h.log(`Enter on the example opened ${file}:${status[1]}`);

    // The attention grid: Tab to it, the arrows move between heads, Enter opens one, Escape returns.
    const att = await frameIn(page, h, 1);
    await att.locator('.grid .cell').first().waitFor({ timeout: 30_000 });
    await att.locator('.meta').first().click();
    await tabUntil(page, att, (f) => f.role === 'gridcell', 20, 'the attention grid');
    const start = await focused(att);
    if (start.label !== 'Layer 1, head 1' || !start.outlined) throw new Error(`the grid's Tab stop is ${JSON.stringify(start)}`);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const moved = await focused(att);
    if (moved.label !== 'Layer 2, head 2') throw new Error(`ArrowRight, ArrowDown reached ${moved.label}`);
    await page.keyboard.press('Enter');
    await att.locator('.heatmap .hm-rows .hm-label').first().waitFor({ timeout: 10_000 });
    const labels = await att.locator('html').evaluate(() => ({
      rows: [...document.querySelectorAll('.hm-rows .hm-label')].map((e) => ({ text: e.textContent, title: e.title, left: e.getBoundingClientRect().left, color: getComputedStyle(e).color })),
      cols: document.querySelectorAll('.hm-cols .hm-label').length,
      tokens: Number(/(\d+) tokens/.exec(document.body.innerText)?.[1]),
      focus: document.activeElement?.className,
      selects: [...document.querySelectorAll('.bar select')].map((s) => s.value),
    }));
    if (labels.rows.length !== labels.tokens || labels.cols !== labels.tokens) throw new Error(`heatmap labels: ${labels.rows.length} rows, ${labels.cols} columns for ${labels.tokens} tokens`);
    if (labels.rows.some((l) => l.left < 0 || !(l.text === l.title || (l.text.endsWith('…') && l.title.startsWith(l.text.slice(0, -1)))))) throw new Error(`a heatmap label cut off or not its token: ${JSON.stringify(labels.rows.slice(0, 6))}`);
    const cjk = labels.rows.filter((l) => /\p{Script=Han}/u.test(l.text));
    if (cjk.length < 4) throw new Error(`Chinese tokens not labelled whole: ${labels.rows.map((l) => l.text).join(' ')}`);
    if (labels.focus !== 'heatmap' || labels.selects.join() !== '1,1') throw new Error(`Enter opened ${JSON.stringify(labels)} instead of layer 2, head 2 focused`);
    h.log(`heatmap of L2 H2: ${labels.rows.map((l) => l.text).join(' ')}`);
    // The arrows read the map's cells as the mouse does: tokens and weight in the tip. The first key
    // puts the cursor on the first cell; then down and right: query token 2, key token 2.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    const tipText = await att.locator('.tip').innerText();
    const second = labels.rows[1].title;
    if (!tipText.startsWith(`${second} → ${second}: `) || !/: \d\.\d{4}$/.test(tipText)) throw new Error(`the keyboard's cell tip reads "${tipText}", not "${second} → ${second}: weight"`);
    await h.screenshot(page, 'themes-hc-attention-heatmap');
    await page.keyboard.press('Escape');
    await att.locator('.grid .cell').first().waitFor({ timeout: 10_000 });
    const back = await focused(att);
    if (back.label !== 'Layer 2, head 2') throw new Error(`Escape came back to ${JSON.stringify(back)}, not layer 2, head 2`);

  },
};
