// The Training Dashboard side bar view follows the most recent run and draws its loss curve.
export const scenario = {
  name: 'Training Dashboard side bar view shows the latest run',
  async run({ page, h }) {
    await h.openBertStudio(page);
    await h.expandView(page, 'Training Dashboard');
    // Give the dashboard room: collapse the views above it.
    for (const view of ['Datasets', 'Models']) {
      const header = h.viewPane(page, view).locator('.pane-header').first();
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    const pane = h.viewPane(page, 'Training Dashboard');
    const frame = await h.webviewFrameIn(page, pane);
    await frame.getByText(/step 300 \/ 300/).first().waitFor({ timeout: 30_000 });
    await h.waitFor('loss chart drawn', async () => (await frame.locator('canvas').count()) > 0, { timeoutMs: 30_000 });
    await page.waitForTimeout(500);
    await h.screenshot(page, 'view-dashboard', { clip: await pane.boundingBox() });
  },
};
