// Chart axes on a short, a stopped and a long run (fixture runs in the run-folder contract), read
// from each chart's data-axes (the axes as uPlot drew them: ranges, tick labels, widths), in the
// dashboard panel and in the side bar's Training Dashboard view:
//   - step ticks are whole numbers, and the step axis ends at the run's length: 6 for a 6-step run,
//     90 for a run stopped at step 85 of 90, 20000 for a 20k-step run;
//   - loss and learning rate never go below 0; accuracy stays within 0..1 even at 0.99;
//   - every value-axis label fits its axis (the learning rate's scientific labels included);
//   - every chart fits the width of its view (the side bar's too).
import { writeFixtureRun } from '../fixtures/studio.mjs';

const RUNS = [
  { id: '20250302-080000-short', name: 'short run', steps: 6, maxSteps: 6, every: 1, evalEvery: 2, peakAccuracy: 0.99, learningRate: 5e-5 },
  { id: '20250302-090000-stopped', name: 'stopped run', steps: 85, maxSteps: 90, every: 5, evalEvery: 20, state: 'stopped', learningRate: 2e-5 },
  { id: '20250302-100000-long', name: 'long run', steps: 20000, maxSteps: 20000, every: 100, evalEvery: 1000, peakAccuracy: 0.93, learningRate: 3e-5 },
];

const CHARTS = { loss: /^Loss/, lr: /^Learning rate/, eval: /^Evaluation/ };

/** The drawn axes of the chart titled `title` in `frame`: { width, font, axes: [{scale, min, max, ticks, size}] }. */
async function axesOf(frame, title) {
  const section = frame.locator('section.chart', { has: frame.locator('h3.chart-title', { hasText: title }) }).first();
  const raw = await section.getAttribute('data-axes', { timeout: 2000 }).catch(() => null);
  return raw ? JSON.parse(raw) : undefined;
}

/** A step tick label as a number ("12", "5k", "1.5M"); NaN when it is not one. */
function stepValue(label) {
  const m = /^(\d+(?:\.\d+)?)([kM]?)$/.exec(label);
  return m ? Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1) : Number.NaN;
}

/** Problems with one run's charts in `frame` (empty when the axes are as promised). */
async function axisProblems(frame, run) {
  const problems = [];
  const viewport = await frame.locator('body').evaluate(() => document.documentElement.clientWidth);
  for (const [key, title] of Object.entries(CHARTS)) {
    const drawn = await axesOf(frame, title);
    if (!drawn) {
      if (key !== 'eval' || run.steps >= run.evalEvery) problems.push(`${key}: no chart drawn`);
      continue;
    }
    const [x, y] = drawn.axes;
    if (x.min !== 0 || x.max !== run.maxSteps) problems.push(`${key}: step axis ${x.min}..${x.max}, not 0..${run.maxSteps}`);
    const steps = x.ticks.map(stepValue);
    if (!steps.length || steps.some((v) => !Number.isInteger(v))) problems.push(`${key}: step ticks ${JSON.stringify(x.ticks)} are not whole steps`);
    if (steps.some((v) => v > run.maxSteps)) problems.push(`${key}: a step tick past ${run.maxSteps}: ${JSON.stringify(x.ticks)}`);
    if (y.min < 0) problems.push(`${key}: value axis from ${y.min}, below 0`);
    if (key === 'eval' && y.max > 1) problems.push(`eval: accuracy axis up to ${y.max}, above 1`);
    // Each label, measured at the axes' font, fits the axis beside its tick (6 px) and gap (5 px).
    const widths = await frame.locator('body').evaluate((_b, { font, labels }) => {
      const c = document.createElement('canvas').getContext('2d');
      c.font = font;
      return labels.map((l) => c.measureText(l).width);
    }, { font: drawn.font, labels: y.ticks });
    const widest = Math.max(0, ...widths);
    if (widest + 11 > y.size) problems.push(`${key}: a label ${widest.toFixed(1)} px wide in a ${y.size} px axis: ${JSON.stringify(y.ticks)}`);
    if (drawn.width > viewport) problems.push(`${key}: chart ${drawn.width} px wide in a ${viewport} px view`);
  }
  const overflow = await frame.locator('body').evaluate(() => [...document.querySelectorAll('section.chart canvas')].map((c) => c.getBoundingClientRect().right).filter((r) => r > document.documentElement.clientWidth + 0.5));
  if (overflow.length) problems.push(`${overflow.length} chart canvas(es) past the right edge of the ${viewport} px view`);
  return problems;
}

export const scenario = {
  name: 'chart axes: whole steps fitted to the run, metric axes in range, labels that fit, charts that fit the side bar',
  timeoutMs: 300_000,
  prepare: (ws) => {
    for (const r of RUNS) writeFixtureRun(ws, r);
  },
  async run({ page, h }) {
    await h.openBertStudio(page);
    await h.expandView(page, 'Runs');
    await h.expandView(page, 'Training Dashboard');
    for (const view of ['Datasets', 'Models']) {
      const header = h.viewPane(page, view).locator('.pane-header').first();
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    await h.runCommand(page, 'BERT Studio: Open Training Dashboard');
    await page.locator('.part.editor .tab', { hasText: /dashboard/i }).first().waitFor({ timeout: 60_000 });
    const panel = await h.webviewFrameIn(page, '.part.editor');
    const side = await h.webviewFrameIn(page, h.viewPane(page, 'Training Dashboard'));
    const runs = h.viewPane(page, 'Runs');
    const all = [];
    for (const run of RUNS) {
      // One click on the run's row: the panel and the side bar view both show it.
      await runs.locator('.monaco-list-row', { hasText: run.name }).first().click();
      const shown = new RegExp(`step ${run.steps} / ${run.maxSteps}`);
      for (const [where, frame] of [['panel', panel], ['side bar', side]]) {
        await frame.getByText(shown).first().waitFor({ timeout: 60_000 });
        // The charts redraw for the run: wait until the loss chart's step axis is this run's.
        await h.waitFor(`${where}: the loss chart drawn for ${run.name}`, async () => (await axesOf(frame, CHARTS.loss))?.axes[0].max === run.maxSteps, { timeoutMs: 60_000 });
        const problems = await axisProblems(frame, run);
        const lr = (await axesOf(frame, CHARTS.lr))?.axes[1].ticks ?? [];
        const x = (await axesOf(frame, CHARTS.loss))?.axes[0].ticks ?? [];
        h.log(`${run.name} (${where}): steps ${x.join(' ')} · learning rate ${lr.join(' ')}`);
        all.push(...problems.map((p) => `${run.name} (${where}): ${p}`));
      }
      await h.screenshot(page, `chart-axes-${run.id.split('-').pop()}`);
    }
    // The README picture: the long run in the panel, the side bar beside it.
    await runs.locator('.monaco-list-row', { hasText: 'long run' }).first().click();
    await panel.getByText(/step 20000 \/ 20000/).first().waitFor({ timeout: 60_000 });
    await h.screenshot(page, 'dashboard-charts', { readme: true });
    if (all.length) throw new Error(`chart axes:\n${all.join('\n')}`);
  },
};
