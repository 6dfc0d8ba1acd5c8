/**
 * The demo page as a user sees it, in headless Chromium at a desktop's
 * 1400×850 and a phone's 390×844: the layout (map first on a phone, the
 * sheet below it), a tooltip that stays live and shows the price, keyboard
 * access (Tab reaches the seats, Enter holds), the booking reference, the
 * hold-limit message with the limit, a disabled button that looks disabled,
 * and state colours with contrast. Screenshots of both viewports are kept
 * in test-results/ (demo-desktop.png, demo-phone.png, and zoomed ones).
 *
 * Needs Chromium (/usr/bin/chromium, or CHROMIUM_PATH); skipped without it.
 */
import { mkdirSync, statSync } from 'node:fs';
import type { Browser, JSHandle, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '../gateway/auth.js';
import { BACKGROUND, STATE_COLOURS } from '../gateway/demo/colors.js';
import type { DemoHandle } from '../gateway/demo/handle.js';
import { chromiumAvailable, chromiumPath, launchChromium } from '../scripts/chromium.js';
import { createVenueEvent, startTestGateway, wipePrefix, type TestGateway } from './support/gateway.js';

const haveChromium = chromiumAvailable();
if (!haveChromium) console.warn(`[browser tests] SKIPPED: no Chromium at ${chromiumPath()} (apt-get install chromium, or set CHROMIUM_PATH)`);

const ARTIFACTS = 'test-results';
const EVENT = 'views';
/** holds of at most 2 seats per holder: the limit message */
const LIMITS = { maxSeatsPerToken: 2, maxSeatsPerHolder: 2 };
const VIEWPORTS = { desktop: { width: 1400, height: 850 }, phone: { width: 390, height: 844 } } as const;

/** The page's DOM, as seen from page.evaluate (the tests compile without DOM types). */
interface Dom {
  document: { activeElement: { id: string } | null };
  getComputedStyle(element: unknown): { backgroundColor: string };
}

/** WCAG relative luminance and contrast ratio. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe('the demo page\'s state colours', () => {
  it.each(Object.entries(STATE_COLOURS))('%s (%s) has at least 3:1 contrast with the background', (_name, colour) => {
    expect(contrast(colour, BACKGROUND)).toBeGreaterThanOrEqual(3);
  });
});

describe.skipIf(!haveChromium)('the demo page at a desktop and a phone viewport', () => {
  let gw: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gw = await startTestGateway({ JWT_SECRET: DEV_JWT_SECRET, TICK_MS: '20' });
    await createVenueEvent(gw.store, EVENT, 2000, LIMITS);
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    if (gw) await wipePrefix(gw.prefix);
  });

  async function open(viewport: { width: number; height: number }, phone: boolean): Promise<{ page: Page; demo: JSHandle<DemoHandle> }> {
    const context = await browser.newContext({ viewport, locale: 'en-US', ...(phone && { isMobile: true, hasTouch: true, deviceScaleFactor: 2 }) });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${gw.httpUrl}/?event=${EVENT}`);
    const demo = (await page.waitForFunction(() => {
      const h = (globalThis as unknown as { seatmapDemo?: DemoHandle }).seatmapDemo;
      return h?.ready && h.connection === 'open' ? h : null;
    }, null, { timeout: 20_000 })) as JSHandle<DemoHandle>;
    return { page, demo };
  }

  const box = async (page: Page, selector: string) => (await page.locator(selector).boundingBox())!;

  it.each(Object.keys(VIEWPORTS) as (keyof typeof VIEWPORTS)[])('lays the page out for the %s viewport; screenshots kept', async (name) => {
    const viewport = VIEWPORTS[name];
    const { page } = await open(viewport, name === 'phone');
    const map = await box(page, '#map');
    const sheet = await box(page, 'aside');
    if (name === 'phone') {
      // map first, full width and most of the screen; the sheet below it, not squeezed beside it
      expect(map.width).toBeGreaterThanOrEqual(viewport.width - 2);
      expect(map.height).toBeGreaterThanOrEqual(320);
      expect(sheet.y).toBeGreaterThanOrEqual(map.y + map.height - 1);
      expect(sheet.width).toBeGreaterThanOrEqual(viewport.width - 2);
    } else {
      expect(map.width).toBeGreaterThan(1000);
      expect(sheet.x).toBeGreaterThanOrEqual(map.x + map.width - 1);
    }
    const path = `${ARTIFACTS}/demo-${name}.png`;
    await page.screenshot({ path, fullPage: true });
    expect(statSync(path).size).toBeGreaterThan(10_000);
    // zoomed in: row labels beside the seats
    await page.evaluate(() => (globalThis as unknown as { seatmapDemo: DemoHandle }).seatmapDemo.focusSeat(40, 24));
    await page.screenshot({ path: `${ARTIFACTS}/demo-${name}-zoomed.png` });
    await page.context().close();
  });

  it('keeps the tooltip live and shows the price in it', async () => {
    const { page, demo } = await open(VIEWPORTS.desktop, false);
    const seat = 100;
    await demo.evaluate((d, s) => d.focusSeat(s, 28), seat);
    const point = (await demo.evaluate((d, s) => d.seatPoint(s), seat))!;
    await page.mouse.move(point.x, point.y);
    const tip = page.locator('#tip');
    await expect.poll(() => tip.textContent()).toMatch(/· Row .* · .*€[\d,.]+ · free$/);
    // another holder takes the seat; the mouse does not move
    const held = await gw.store.hold({ eventId: EVENT, holder: 'someone-else', seats: [seat] });
    expect(held.ok).toBe(true);
    await expect.poll(() => tip.textContent(), { timeout: 10_000 }).toMatch(/ · held$/);
    if (held.ok) await gw.store.release({ eventId: EVENT, holder: 'someone-else', token: held.token });
    await expect.poll(() => tip.textContent(), { timeout: 10_000 }).toMatch(/ · free$/);
    await page.context().close();
  });

  it('reaches the seats with Tab and holds one with Enter; books it and shows the reference; says the hold limit', async () => {
    const { page, demo } = await open(VIEWPORTS.desktop, false);
    const book = page.locator('#book');
    // disabled looks disabled: no filled accent background
    expect(await book.isDisabled()).toBe(true);
    const disabledLook = await book.evaluate((b) => (globalThis as unknown as Dom).getComputedStyle(b).backgroundColor);
    expect(disabledLook).toBe('rgba(0, 0, 0, 0)');

    for (let i = 0; i < 5 && !(await page.evaluate(() => (globalThis as unknown as Dom).document.activeElement?.id === 'map')); i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as Dom).document.activeElement?.id)).toBe('map');
    await expect.poll(() => page.locator('#seat-status').textContent()).toMatch(/Row .* · Seat .* · free$/);
    await page.keyboard.press('ArrowRight');
    const focused = await page.locator('#seat-status').textContent();
    await page.keyboard.press('Enter');
    await expect.poll(() => demo.evaluate((d) => d.mySeats().length)).toBe(1);
    await expect.poll(() => page.locator('#seat-status').textContent()).toBe(focused!.replace(/free$/, 'held by you'));
    expect(await book.isDisabled()).toBe(false);
    expect(await book.evaluate((b) => (globalThis as unknown as Dom).getComputedStyle(b).backgroundColor)).not.toBe(disabledLook);

    // two more: the limit is two seats, and the message says so
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await expect.poll(() => demo.evaluate((d) => d.mySeats().length)).toBe(2);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#message').textContent()).toBe('You cannot hold more seats: the limit is 2 seats per hold token or 2 seats per holder.');

    await book.click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 15_000 }).toMatch(/^Booked 2 seats: booking reference SM-[A-Z0-9]+\.$/);
    await page.screenshot({ path: `${ARTIFACTS}/demo-desktop-booked.png` });
    await page.context().close();
  });
});
