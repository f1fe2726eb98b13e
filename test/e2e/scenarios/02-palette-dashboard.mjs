// F1 → "BERT Studio: Open Training Dashboard" opens the dashboard panel on the most recent run,
// and its webview draws the run's charts and final state.
export const scenario = {
  name: 'command palette opens the Training Dashboard panel with the latest run',
  async run({ page, h }) {
    await h.runCommand(page, 'BERT Studio: Open Training Dashboard');
    await page.locator('.part.editor .tab', { hasText: /dashboard/i }).first().waitFor({ timeout: 30_000 });
    const frame = await h.webviewFrameIn(page, '.part.editor');
    // The fixture's latest run finished at step 300 of 300.
    await frame.getByText(/step 300 \/ 300/).first().waitFor({ timeout: 30_000 });
    await frame.getByText(/^loss/i).first().waitFor({ timeout: 30_000 });
    await h.waitFor('charts drawn', async () => (await frame.locator('canvas').count()) >= 3, { timeoutMs: 30_000 });
    await page.waitForTimeout(500); // the charts' first paint
    await h.screenshot(page, 'dashboard-panel', { readme: true });
  },
};
