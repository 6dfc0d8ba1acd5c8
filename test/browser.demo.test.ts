/**
 * The demo seat map in headless Chromium: two pages (two guests) on one
 * event. A click in one holds the seat and the other page shows it held;
 * booking shows it booked in both; after the gateway stops and a new one
 * starts on the same port and Redis prefix, both pages are reconnected and
 * show the state that changed meanwhile. The event's standing area (general
 * admission) is drawn with its places left; holding places in one page
 * changes the count in the other, live, and a quantity past what is left
 * is refused with the count. Screenshots go to test-results/.
 *
 * Needs Chromium (/usr/bin/chromium, or CHROMIUM_PATH); skipped without it.
 */
import { mkdirSync, statSync } from 'node:fs';
import type { Browser, JSHandle, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventFromLayout } from '../core/events.js';
import { generateVenue, withStandingArea } from '../core/layout/index.js';
import { SeatStore } from '../core/store/index.js';
import { DEV_JWT_SECRET, mintDevToken } from '../gateway/auth.js';
import { STATE_COLOURS, categoryColour } from '../gateway/demo/colors.js';
import type { DemoHandle } from '../gateway/demo/handle.js';
import { chromiumAvailable, chromiumPath, launchChromium } from '../scripts/chromium.js';
import { createVenueEvent, newPrefix, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { freePort } from './support/net.js';
import { newRedis } from './support/redis.js';

const haveChromium = chromiumAvailable();
if (!haveChromium) {
  console.warn(`[browser tests] SKIPPED: no Chromium at ${chromiumPath()} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

const EVENT = 'show';
const ARTIFACTS = 'test-results';
/** seats of the front rows, easy to see; the first ones the test clicks */
const SEAT_A = 12;
const SEAT_B = 30;
const SEAT_BY_OUTSIDER = 45;
/** the standing area's capacity */
const STANDING = 10;

interface DemoPage {
  page: Page;
  demo: JSHandle<DemoHandle>;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The page's test handle, once its map is drawn and its connection is open. */
async function connectedDemo(page: Page): Promise<JSHandle<DemoHandle>> {
  return (await page.waitForFunction(() => {
    const handle = (globalThis as unknown as { seatmapDemo?: DemoHandle }).seatmapDemo;
    return handle?.ready && handle.connection === 'open' ? handle : null;
  }, null, { timeout: 20_000 })) as JSHandle<DemoHandle>;
}

describe.skipIf(!haveChromium)('demo seat map in Chromium', () => {
  const prefix = newPrefix();
  const env = { JWT_SECRET: DEV_JWT_SECRET, TICK_MS: '20' };
  let port: number;
  let gw: TestGateway;
  let browser: Browser;
  let alice: DemoPage;
  let bob: DemoPage;

  /** A page in its own browser context: its own session storage, so its own guest token. */
  async function openPage(name: string, url = `${gw.httpUrl}/?event=${EVENT}`): Promise<DemoPage> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, locale: 'en-US' });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[${name}] page error:`, err));
    await page.goto(url);
    const demo = await connectedDemo(page);
    return { page, demo };
  }

  const state = (p: DemoPage, seat: number) => p.demo.evaluate((d, s) => d.seatState(s), seat);
  const mine = (p: DemoPage) => p.demo.evaluate((d) => d.mySeats());
  const colour = (p: DemoPage, seat: number) => p.demo.evaluate((d, s) => d.seatColour(s), seat);
  const indicator = (p: DemoPage) => p.page.locator('#connection').getAttribute('data-state');

  /** Zooms the page onto the seat (seats big enough to click and to read back) and clicks it. */
  async function click(p: DemoPage, seat: number): Promise<void> {
    await focus(p, seat);
    const point = await p.demo.evaluate((d, s) => d.seatPoint(s), seat);
    expect(point, `seat ${seat} is on screen`).not.toBeNull();
    await p.page.mouse.click(point!.x, point!.y);
  }

  const focus = (p: DemoPage, seat: number) => p.demo.evaluate((d, s) => d.focusSeat(s, 28), seat);

  beforeAll(async () => {
    port = await freePort();
    gw = await startTestGateway({ ...env, PORT: String(port) }, prefix);
    // the venue of createVenueEvent, with a standing area of STANDING places behind it
    const created = await createEventFromLayout(gw.store, EVENT, withStandingArea(generateVenue({ seats: 2000, seed: 7, name: EVENT }), STANDING));
    expect(created.ok).toBe(true);
    browser = await launchChromium();
    [alice, bob] = await Promise.all([openPage('alice'), openPage('bob')]);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await wipePrefix(prefix);
  });

  it('signs each page in as its own guest', async () => {
    const [a, b] = [await alice.demo.evaluate((d) => d.subject), await bob.demo.evaluate((d) => d.subject)];
    expect(a).toMatch(/^guest-/);
    expect(b).toMatch(/^guest-/);
    expect(a).not.toBe(b);
  });

  it('shows free seats in their category colours and the counts per category', async () => {
    expect(await state(alice, SEAT_A)).toBe(0);
    await focus(alice, SEAT_A);
    const category = await alice.demo.evaluate(async (d, s) => {
      const layout = (await (await fetch(`/events/${d.eventId}`)).json()) as { seats: { category: number[] } };
      return layout.seats.category[s]!;
    }, SEAT_A);
    expect(await colour(alice, SEAT_A)).toBe(categoryColour(category));
    await expect.poll(() => alice.page.locator('#counts tr').last().textContent()).toContain('2,000 / 2,000');
  });

  it('a click in one page holds the seat there and turns it held in the other', async () => {
    await click(alice, SEAT_A);
    await eventually(async () => (await mine(alice)).includes(SEAT_A), 'alice to hold the seat');
    await eventually(async () => (await state(bob, SEAT_A)) === 1, 'bob to see the seat held');
    expect(await mine(bob)).toEqual([]);

    // drawn as "yours" for alice and as "held" for bob
    await focus(bob, SEAT_A);
    await eventually(async () => (await colour(alice, SEAT_A)) === STATE_COLOURS.mine, 'alice to draw her seat');
    expect(await colour(bob, SEAT_A)).toBe(STATE_COLOURS.held);
    await expect.poll(() => alice.page.locator('#countdown').textContent()).toMatch(/^Held for \d+:\d\d$/);
    expect(await alice.page.locator('#hold-seats li').count()).toBe(1);
    await expect.poll(() => bob.page.locator('#counts tr').last().textContent()).toContain('1,999 / 2,000');
  });

  it('booking turns the seat booked in both pages', async () => {
    await alice.page.locator('#book').click();
    await expect.poll(() => alice.page.locator('#message').textContent(), { timeout: 15_000 }).toMatch(/^Booked 1 seat: booking reference SM-/);
    for (const p of [alice, bob]) {
      await eventually(async () => (await state(p, SEAT_A)) === 2, 'the seat to be booked');
      await eventually(async () => (await colour(p, SEAT_A)) === STATE_COLOURS.booked, 'the seat drawn booked');
    }
    expect(await mine(alice)).toEqual([]);
    expect(await alice.page.locator('#hold-seats li').count()).toBe(0);
  });

  it('Best available holds the seats the server picked, listed with their prices and a total', async () => {
    await alice.page.locator('#best-n').selectOption('3');
    await alice.page.locator('#best').click();
    await expect.poll(() => alice.page.locator('#message').textContent(), { timeout: 15_000 }).toMatch(/^Holding 3 seats together from /);
    await eventually(async () => (await mine(alice)).length === 3, 'alice to hold three seats');
    const seats = await mine(alice);
    expect(seats[2]! - seats[0]!).toBe(2); // side by side
    for (const seat of seats) await eventually(async () => (await state(bob, seat)) === 1, 'bob to see them held');
    expect(await alice.page.locator('#hold-seats li').count()).toBe(3);
    await expect.poll(() => alice.page.locator('#hold-total').textContent()).toMatch(/^Total .*\d/);
    await alice.page.locator('#release').click();
    await eventually(async () => (await mine(alice)).length === 0, 'alice to release them');
  });

  it('draws the standing area with its places left; holding places in one page changes the count in the other', async () => {
    const areaMark = (p: DemoPage) => p.page.locator('#ga-overlay .ga-area[data-area="0"]');
    const row = (p: DemoPage) => p.page.locator('#ga-areas tr[data-area="0"]');
    for (const p of [alice, bob]) {
      await p.page.locator('#fit').click();
      await expect.poll(() => areaMark(p).textContent()).toBe(`Standing · ${STANDING} left`);
      // drawn on the map, where the layout puts it: a visible box of its own
      const box = (await areaMark(p).boundingBox())!;
      expect(box.width).toBeGreaterThan(20);
      expect(box.height).toBeGreaterThan(2);
      await expect.poll(() => row(p).locator('.ga-left').textContent()).toBe(`${STANDING} / ${STANDING}`);
    }

    await row(alice).locator('.ga-qty').selectOption('3');
    await row(alice).locator('.ga-hold').click();
    await expect.poll(() => alice.page.locator('#message').textContent()).toBe('Holding 3 places in Standing.');
    // live in the other page: the count on the map and in its panel
    await expect.poll(() => areaMark(bob).textContent()).toBe(`Standing · ${STANDING - 3} left`);
    await expect.poll(() => row(bob).locator('.ga-left').textContent()).toBe(`${STANDING - 3} / ${STANDING}`);
    expect(await bob.demo.evaluate((d) => d.areaLeft(0))).toBe(STANDING - 3);
    expect(await alice.demo.evaluate((d) => d.myPlaces())).toEqual({ 0: 3 });
    await expect.poll(() => alice.page.locator('#hold-seats li[data-area="0"]').textContent()).toContain('Standing × 3');
    await expect.poll(() => row(alice).locator('.ga-mine').textContent()).toBe('yours: 3');

    // bob asks for more than is left: refused, with what is left, and nothing changes
    await row(bob).locator('.ga-qty').selectOption('8');
    await row(bob).locator('.ga-hold').click();
    await expect.poll(() => bob.page.locator('#message').textContent()).toBe(`Only ${STANDING - 3} places left in Standing: choose ${STANDING - 3} or fewer.`);
    expect(await bob.demo.evaluate((d) => d.myPlaces())).toEqual({});

    // alice books her places: the other page sees them stay taken; the area's count is unchanged by the book
    await alice.page.locator('#book').click();
    await expect.poll(() => alice.page.locator('#message').textContent(), { timeout: 15_000 }).toMatch(/^Booked 3 places in Standing: booking reference SM-/);
    expect(await alice.demo.evaluate((d) => d.myPlaces())).toEqual({});
    await expect.poll(() => bob.demo.evaluate((d) => d.client.areas(d.eventId)?.[0])).toEqual({ area: 0, free: STANDING - 3, held: 0, booked: 3 });
    await expect.poll(() => areaMark(bob).textContent()).toBe(`Standing · ${STANDING - 3} left`);

    // bob holds the rest and releases them again: the count follows in alice's page
    await row(bob).locator('.ga-qty').selectOption(String(STANDING - 3));
    await row(bob).locator('.ga-hold').click();
    await expect.poll(() => areaMark(alice).textContent()).toBe('Standing · 0 left');
    expect(await areaMark(alice).getAttribute('class')).toContain('sold-out');
    await bob.page.locator('#release').click();
    await expect.poll(() => areaMark(alice).textContent()).toBe(`Standing · ${STANDING - 3} left`);
  });

  it('after a gateway restart both pages are reconnected and show what changed meanwhile', async () => {
    await click(alice, SEAT_B);
    await eventually(async () => (await state(bob, SEAT_B)) === 1, 'bob to see the second hold');

    await gw.stop();
    for (const p of [alice, bob]) await eventually(async () => (await indicator(p)) !== 'open', 'the page to notice');
    // the event moves on while no gateway runs
    const redis = newRedis();
    const store = new SeatStore({ redis, prefix });
    await store.hold({ eventId: EVENT, holder: 'outsider', seats: [SEAT_BY_OUTSIDER] });
    gw = await startTestGateway({ ...env, PORT: String(port) }, prefix);

    const truth = (await store.snapshot(EVENT))!;
    for (const p of [alice, bob]) {
      // the page backs off up to 30 s between attempts; a restart takes a second or two
      await eventually(async () => (await indicator(p)) === 'open', 'the page to reconnect', 40_000);
      await eventually(async () => (await p.demo.evaluate((d) => d.position()?.seq)) === truth.seq, 'the page to catch up');
      const seats = await p.demo.evaluate((d) => Array.from(d.client.seats(d.eventId)!));
      expect(Buffer.from(seats).equals(truth.status)).toBe(true);
      expect(await p.page.locator('#connection .text').textContent()).toBe('Live');
      await focus(p, SEAT_BY_OUTSIDER);
      expect(await colour(p, SEAT_BY_OUTSIDER)).toBe(STATE_COLOURS.held);
    }
    expect([await state(alice, SEAT_A), await state(alice, SEAT_B), await state(alice, SEAT_BY_OUTSIDER)]).toEqual([2, 1, 1]);
    // alice still knows the seat she held before the restart is hers
    expect(await mine(alice)).toEqual([SEAT_B]);
    await redis.quit();

    for (const [name, p] of [['alice', alice], ['bob', bob]] as const) {
      await p.page.locator('#fit').click();
      const path = `${ARTIFACTS}/browser-demo-${name}.png`;
      await p.page.screenshot({ path });
      expect(statSync(path).size).toBeGreaterThan(10_000);
    }
  }, 90_000);

  it('draws the seats a presale holds back in their own colour, named in the legend', async () => {
    const SEAT_RESERVED = 75;
    // the page's gateway runs with the development secret
    const admin = await mintDevToken(DEV_JWT_SECRET, { sub: 'ops', scope: 'admin' });
    const put = await fetch(`${gw.httpUrl}/events/${EVENT}/channels/fans`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ seats: [SEAT_RESERVED] }),
    });
    expect(put.status).toBe(200);
    await eventually(async () => (await state(alice, SEAT_RESERVED)) === 4, 'alice to see the seat reserved');
    await focus(alice, SEAT_RESERVED);
    await eventually(async () => (await colour(alice, SEAT_RESERVED)) === STATE_COLOURS.reserved, 'the seat drawn reserved');
    expect(await alice.page.locator('#legend').textContent()).toContain('Reserved for a presale');
  });
});

describe.skipIf(!haveChromium)('demo seat map on a gateway with its own secret', () => {
  let gw: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gw = await startTestGateway(); // the tests' own secret: no demo tokens
    await createVenueEvent(gw.store, EVENT, 500);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await wipePrefix(gw.prefix);
  });

  async function open(url: string): Promise<{ page: Page; demo: JSHandle<DemoHandle> }> {
    const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
    await page.goto(url);
    const demo = await connectedDemo(page);
    return { page, demo };
  }

  it('takes a token from the #token= fragment', async () => {
    const { page, demo } = await open(`${gw.httpUrl}/?event=${EVENT}#token=${await token('carol')}`);
    expect(await demo.evaluate((d) => d.subject)).toBe('carol');
    await expect.poll(() => page.locator('#who').textContent()).toBe('signed in as carol');
  });

  it('without a token shows the seats read-only to an anonymous viewer', async () => {
    const { page, demo } = await open(`${gw.httpUrl}/?event=${EVENT}`);
    expect(await demo.evaluate((d) => d.subject)).toBeNull();
    await demo.evaluate((d) => d.focusSeat(3, 28));
    const point = (await demo.evaluate((d) => d.seatPoint(3)))!;
    await page.mouse.click(point.x, point.y);
    await expect.poll(() => page.locator('#message').textContent()).toMatch(/^View only/);
    expect(await demo.evaluate((d) => d.mySeats())).toEqual([]);
    expect(await demo.evaluate((d) => d.seatState(3))).toBe(0);
  });
});
