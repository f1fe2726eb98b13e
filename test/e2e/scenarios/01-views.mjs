// The BERT Studio container in the activity bar shows its four views; the Runs view lists the
// fixture's runs; each view gets a screenshot.
export const scenario = {
  name: 'activity bar container shows Datasets, Runs, Models and Training Dashboard',
  async run({ page, h }) {
    await h.openBertStudio(page);
    for (const view of ['Datasets', 'Runs', 'Models', 'Training Dashboard']) {
      await h.viewPane(page, view).locator('.pane-header').waitFor({ state: 'visible', timeout: 30_000 });
    }
    await h.expandView(page, 'Runs');
    const runs = h.viewPane(page, 'Runs');
    await runs.locator('.monaco-list-row', { hasText: 'sst2 sample' }).first().waitFor({ timeout: 30_000 });
    await runs.locator('.monaco-list-row', { hasText: 'sst2 lr 5e-5' }).first().waitFor({ timeout: 30_000 });
    // The dashboard view draws the latest run before the picture is taken.
    const dashboard = await h.webviewFrameIn(page, h.viewPane(page, 'Training Dashboard'));
    await dashboard.getByText(/step 300 \/ 300/).first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500);
    await h.screenshot(page, 'bert-studio-views', { readme: true });
    for (const [view, file] of [['Datasets', 'view-datasets'], ['Runs', 'view-runs'], ['Models', 'view-models'], ['Training Dashboard', 'view-dashboard']]) {
      await h.screenshot(page, file, { clip: await h.viewPane(page, view).boundingBox() });
    }
  },
};
