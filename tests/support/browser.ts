// Real Chromium (Debian's package) driven by playwright-core, with a fake camera and microphone.
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const chromiumFlags = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-gpu',
  '--no-first-run',
  // Pages of a test run side by side in one window-less browser: keep timers and media running.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumFlags });
}

/**
 * A page of its own context, opened on the server's origin (so the ES module can be imported from
 * `/media-infra-client.js`) with the page's console collected for failure messages.
 */
export async function openClientPage(browser: Browser, httpUrl: string): Promise<{ page: Page; consoleLines: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  await page.goto(`${httpUrl}/healthz`);
  // A string, not a function: vitest rewrites `import()` inside functions it transforms.
  await page.evaluate(`import(${JSON.stringify(`${httpUrl}/media-infra-client.js`)}).then((m) => { globalThis.MediaInfra = m; })`);
  return { page, consoleLines };
}
