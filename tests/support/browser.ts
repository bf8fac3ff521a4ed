// Real Chromium (Debian's package) driven by playwright-core, with a fake camera and microphone.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeToneWav } from './tone.js';

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

let tones = 0;

/**
 * `toneMicrophone`: every page's fake microphone plays a steady tone (tone.ts) instead of
 * Chromium's quiet beep, loud enough to be the active speaker; the file goes with the browser.
 */
export async function launchBrowser(options: { toneMicrophone?: boolean } = {}): Promise<Browser> {
  if (!options.toneMicrophone) return chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumFlags });
  const tone = writeToneWav(join(tmpdir(), `media-infra-tone-${process.pid}-${++tones}.wav`));
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...chromiumFlags, `--use-file-for-fake-audio-capture=${tone}`] });
    browser.on('disconnected', () => rmSync(tone, { force: true }));
    return browser;
  } catch (err) {
    rmSync(tone, { force: true });
    throw err;
  }
}

/**
 * Installed in every client page as `globalThis.testFrames`. A track object proves nothing: only
 * frames read from it show that media was decoded. Audio yields frames only while something
 * plays it (`play`, muted).
 */
function installTestFrames(): void {
  (globalThis as any).testFrames = {
    async play(track: MediaStreamTrack): Promise<void> {
      const el = document.createElement('audio');
      el.muted = true;
      el.srcObject = new MediaStream([track]);
      document.body.append(el);
      await el.play();
    },
    /** Reads decoded frames until the track ends or `onFrame` returns false; each frame is closed after `onFrame`. */
    async read(track: MediaStreamTrack, onFrame: (frame: any) => boolean | void): Promise<void> {
      const reader = new (globalThis as any).MediaStreamTrackProcessor({ track }).readable.getReader();
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) return;
        const more = onFrame(value);
        value.close();
        if (more === false) return reader.releaseLock();
      }
    },
  };
}

/**
 * A page of its own context, opened on the server's origin (so the ES module can be imported from
 * `/media-infra-client.js`) with the page's console collected for failure messages.
 * `moduleLoadMs`: how long the import took in the page (the join bench reports it).
 */
export async function openClientPage(browser: Browser, httpUrl: string): Promise<{ page: Page; consoleLines: string[]; moduleLoadMs: number }> {
  const context = await browser.newContext();
  await context.addInitScript(installTestFrames);
  const page = await context.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  await page.goto(`${httpUrl}/healthz`);
  // A string, not a function: vitest rewrites `import()` inside functions it transforms.
  const moduleLoadMs = (await page.evaluate(
    `(async () => { const t0 = performance.now(); globalThis.MediaInfra = await import(${JSON.stringify(`${httpUrl}/media-infra-client.js`)}); return performance.now() - t0; })()`,
  )) as number;
  return { page, consoleLines, moduleLoadMs };
}
