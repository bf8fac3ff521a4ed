// The demo page's call health, end to end (real server, two real Chromium pages): each tile shows a
// quality indicator (own tile: client.connectionQuality; a remote tile: its tracks' scores) and the
// active speaker's tile is outlined, on every page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startServerProcess } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServerProcess>>;

const LEVELS = ['excellent', 'good', 'poor'];

describe('the demo page: quality per tile, the speaker outlined', () => {
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    // every page's microphone plays a steady tone: each user is heard until muted
    [server, browser] = await Promise.all([startServerProcess({ env: { DEMO: '1' } }), launchBrowser({ toneMicrophone: true })]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function join(userId: string): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.httpUrl}/`);
    await page.fill('input[name=roomId]', 'health-room');
    await page.fill('input[name=userId]', userId);
    await page.click('#join button[type=submit]');
    await page.waitForSelector('#status[data-state=connected]');
    return { page, errors };
  }

  const quality = (page: Page, userId: string) => page.locator(`.tile[data-user="${userId}"] .quality`);

  it('shows each tile a level and outlines whoever speaks', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    for (const [{ page }, other] of [[alice, 'bob'], [bob, 'alice']] as const) {
      // own tile: the connection's quality once connected (never 'lost' then)
      await page.waitForFunction(() => ['excellent', 'good', 'poor'].includes(document.querySelector<HTMLElement>('.tile .quality')!.dataset.level!));
      // the other's tile: a level from the server's scores of its tracks, named in the title
      await page.waitForFunction((u) => ['excellent', 'good', 'poor'].includes(document.querySelector<HTMLElement>(`.tile[data-user="${u}"] .quality`)?.dataset.level ?? ''), other);
      expect(LEVELS).toContain(await quality(page, other).textContent());
      expect(await quality(page, other).getAttribute('title')).toMatch(/^(audio|video) \d+\/10/);
    }

    // Both microphones play a tone. Both muted: nobody is outlined; Alice unmuted: her tile, on both
    // pages. (Both tones start together, so who is outlined before the mutes is either of them and
    // is not asserted; tests/server/lateSpeaker.test.ts proves a joining page is told the speaker.)
    const mute = (page: Page, userId: string, text: 'Mute' | 'Unmute') => page.click(`.tile[data-user="${userId}"] button:text("${text}")`);
    await mute(bob.page, 'bob', 'Mute');
    await mute(alice.page, 'alice', 'Mute');
    for (const { page } of [alice, bob]) await page.waitForFunction(() => !document.querySelector('.tile[data-speaking]'));
    await mute(alice.page, 'alice', 'Unmute');
    // Waited for as one state, Alice's tile and no other: on a loaded machine an audio interval
    // without her packets is silence to the server's level observer, which clears the speaker for
    // a moment (two loop runs counted 0 outlined right after seeing Alice's).
    for (const { page } of [alice, bob]) {
      await page.waitForFunction(() => {
        const outlined = [...document.querySelectorAll<HTMLElement>('.tile[data-speaking]')].map((t) => t.dataset.user);
        return outlined.length === 1 && outlined[0] === 'alice';
      });
    }
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });
});
