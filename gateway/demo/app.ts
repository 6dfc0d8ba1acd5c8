/**
 * The demo seat map served at `/`: one event (`?event=<id>`, default
 * `demo`) live on a canvas, click to hold and release, or ask for the best
 * seats available, hold places of its standing areas by quantity, book, and
 * everyone else's changes as they happen.
 * Everything goes through the client SDK.
 */
import {
  RequestError,
  SEAT_STATE,
  SeatMapClient,
  fetchLayout,
  layoutCategories,
  type HoldInfo,
  type SeatMapLayout,
} from '../../core/client/index.js';
import type { HelloMessage } from '../../core/protocol/index.js';
import { SeatPalette } from './colors.js';
import { SeatKeyboard } from './keyboard.js';
import { VenueLabels } from './labels.js';
import type { DemoHandle, DemoMetrics } from './handle.js';
import { MapView } from './map-view.js';
import { BestPanel } from './best-panel.js';
import { GaPanel } from './ga-panel.js';
import { ConnectionIndicator, CountsTable, HoldPanel, renderLegend } from './panel.js';
import { SeatRenderer, type SeatGeometry } from './renderer.js';
import { tokenSource } from './token.js';

declare global {
  interface Window {
    seatmapDemo?: DemoHandle;
  }
}

const DEFAULT_EVENT = 'demo';

const eventId = new URLSearchParams(location.search).get('event') || DEFAULT_EVENT;
const metrics: DemoMetrics = { layoutAt: null, snapshotAt: null, firstRenderAt: null, fullRenderMs: [], diffApplyMs: [], diffSeats: [] };
/** when the diff being applied was handed to the client (for metrics.diffApplyMs) */
let diffStartedAt = 0;

const client = new SeatMapClient({
  url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`,
  getToken: tokenSource(),
  frameFilter: (message) => {
    if (message.t === 'diff') diffStartedAt = performance.now();
    return true;
  },
});

const indicator = new ConnectionIndicator();
client.on('connection', (change) => {
  indicator.show(change);
  handle.connection = change.state;
});

const handle: DemoHandle = {
  eventId,
  seatCount: 0,
  ready: false,
  connection: client.state,
  subject: null,
  seatState: (seat) => client.seats(eventId)?.[seat] ?? -1,
  seatPoint: () => null,
  seatColour: () => null,
  mySeats: () => [...client.mySeats(eventId)].sort((a, b) => a - b),
  areaLeft: () => null,
  myPlaces: () => ({}),
  position: () => client.position(eventId),
  focusSeat: () => {},
  metrics,
  client,
};
window.seatmapDemo = handle;

// Connect and load the layout at the same time: the snapshot and the layout race, the first render waits for both.
client.watch(eventId);
void client.connect().catch(() => {}); // the indicator shows why it stopped
void start().catch((err: unknown) => {
  document.getElementById('loading')!.textContent = `Cannot show ${eventId}: ${err instanceof Error ? err.message : String(err)}`;
});

async function start(): Promise<void> {
  const layout = await fetchLayout(location.origin, eventId);
  metrics.layoutAt = performance.now();
  document.getElementById('title')!.textContent = layout.name;
  document.title = `${layout.name} · seat map`;
  handle.seatCount = layout.seatCount;
  client.watch(eventId, layoutCategories(layout));

  const labelOf = seatLabeller(layout);
  const counts = new CountsTable(layout);
  renderLegend(layout);
  const money = new Intl.NumberFormat(undefined, { style: 'currency', currency: layout.currency || 'EUR' });
  const priceOf = (seat: number) => layout.categories[layout.seats.category[seat]!]?.price ?? 0;
  const formatMoney = (minor: number) => money.format(minor / 100);
  const gaPanel = new GaPanel(layout, { hold: holdPlaces }, formatMoney);
  const panel = new HoldPanel({ book, release: releaseAll, extend: extendAll }, labelOf, priceOf, formatMoney, gaPanel);
  const bestPanel = new BestPanel(layout, { bestAvailable });
  const wheelchair = new Set(layout.seats.attrs?.wheelchair ?? []);
  const companion = new Set(layout.seats.attrs?.companion ?? []);
  const canvas = document.getElementById('map') as HTMLCanvasElement;
  const geometry = geometryOf(layout);
  const renderer = new SeatRenderer(canvas, geometry, new SeatPalette(layout.categories.length), new VenueLabels(layout, geometry.pitch));
  let keyboard: SeatKeyboard | null = null;
  let mine: ReadonlySet<number> = client.mySeats(eventId);

  const view = new MapView(canvas, document.getElementById('tip')!, document.getElementById('fit')!, renderer, {
    status: () => client.seats(eventId),
    mine: () => mine,
    describe: (seat) => {
      const category = layout.categories[layout.seats.category[seat]!];
      const kind = wheelchair.has(seat) ? ' · wheelchair space' : companion.has(seat) ? ' · companion seat' : '';
      return `${labelOf(seat)} · ${category ? `${category.label} ${money.format(category.price / 100)}` : ''}${kind} · ${stateName(seat)}`;
    },
    click: (seat) => void onSeatClick(seat),
    rendered: (ms) => {
      metrics.fullRenderMs.push(ms);
      gaPanel.place((area) => renderer.areaRect(area));
      keyboard?.follow();
      if (metrics.firstRenderAt === null && client.seats(eventId)) {
        metrics.firstRenderAt = performance.now();
        handle.ready = true;
        document.getElementById('loading')!.remove();
      }
    },
  });
  handle.seatPoint = (seat) => {
    const centre = renderer.seatCentre(seat);
    if (!centre) return null;
    const rect = canvas.getBoundingClientRect();
    return { x: rect.left + centre.x, y: rect.top + centre.y };
  };
  handle.seatColour = (seat) => renderer.colourAt(seat);
  keyboard = new SeatKeyboard(canvas, document.getElementById('focus-ring')!, document.getElementById('seat-status')!, layout, {
    centre: (seat) => renderer.seatCentre(seat),
    reveal: (seat) => {
      renderer.focus(seat, Math.max(renderer.pitchCss, 16));
      view.renderAll();
    },
    describe: (seat) => view.describeSeat(seat),
    showTip: (seat, x, y) => view.showTipAt(seat, x, y),
    hideTip: () => view.hideTip(),
    activate: (seat) => void onSeatClick(seat),
    firstFree: () => client.seats(eventId)?.indexOf(SEAT_STATE.free) ?? 0,
  });
  handle.focusSeat = (seat, pixels) => {
    renderer.focus(seat, pixels);
    view.renderAll();
  };

  // counts and the panel are text: once per frame is plenty, however many diffs arrive
  let countsQueued = false;
  const showCounts = () => {
    if (countsQueued) return;
    countsQueued = true;
    requestAnimationFrame(() => {
      countsQueued = false;
      const current = client.counts(eventId);
      if (current) counts.show(current);
    });
  };

  client.on('snapshot', ({ ev, status }) => {
    if (ev !== eventId) return;
    // a rebuilt event may have another venue: start over with its layout
    if (status.length !== layout.seatCount) return location.reload();
    metrics.snapshotAt ??= performance.now();
    view.renderAll();
    view.refreshTip();
    keyboard?.refresh();
    showCounts();
  });
  client.on('seats', ({ ev, changes }) => {
    if (ev !== eventId) return;
    const seats = changes.map((c) => c.seat);
    view.renderSeats(seats);
    // the tooltip says what the seat is now, not what it was when the mouse last moved
    view.refreshTip(seats);
    keyboard?.refresh(seats);
    metrics.diffApplyMs.push(performance.now() - diffStartedAt);
    metrics.diffSeats.push(changes.length);
    showCounts();
  });
  client.on('areas', ({ ev, areas }) => {
    if (ev === eventId) gaPanel.showCounts(areas);
  });
  client.on('holds', () => {
    gaPanel.showMine(client.myPlaces(eventId));
    const next = client.mySeats(eventId);
    const changed = [...mine].filter((s) => !next.has(s)).concat([...next].filter((s) => !mine.has(s)));
    mine = next;
    view.renderSeats(changed);
    view.refreshTip(changed);
    keyboard?.refresh(changed);
    panel.show(client.holds(eventId));
  });
  const showSession = (hello: HelloMessage) => {
    handle.subject = hello.sub;
    document.getElementById('who')!.textContent = hello.sub ? `signed in as ${hello.sub}` : 'anonymous viewer';
    panel.setCanHold(hello.scopes.includes('seats:hold'));
    bestPanel.setCanHold(hello.scopes.includes('seats:hold'));
    gaPanel.setCanHold(hello.scopes.includes('seats:hold'));
  };
  client.on('hello', showSession);
  client.on('hold-expired', (hold) => panel.say(`Your hold on ${holdWhat(hold)} expired.`, 'error'));
  client.on('event-gone', ({ ev }) => ev === eventId && panel.say('This event no longer exists.', 'error'));
  client.on('auth-failed', () => panel.say('The gateway refused the token. Reload the page to get a new one.', 'error'));
  // the connection may have been quicker than the layout
  if (client.session) showSession(client.session);
  if (client.seats(eventId)) {
    metrics.snapshotAt ??= performance.now();
    view.renderAll();
    showCounts();
  }
  const areasNow = client.areas(eventId);
  if (areasNow) gaPanel.showCounts(areasNow);
  handle.areaLeft = (area) => client.areas(eventId)?.find((a) => a.area === area)?.free ?? null;
  handle.myPlaces = () => Object.fromEntries(client.myPlaces(eventId));

  /** "2 seats", "3 places in Standing", "2 seats and 3 places in Standing" */
  function holdWhat(hold: HoldInfo): string {
    const parts = hold.seats.length > 0 ? [seatCount(hold.seats.length)] : [];
    for (const [area, qty] of hold.ga ?? []) parts.push(`${placeCount(qty)} in ${gaPanel.labelOf(area)}`);
    return parts.join(' and ') || 'nothing';
  }

  /** Holds `qty` places of an area, in the page's hold token when it has one (a new one when that token is gone). */
  async function holdPlaces(area: number, qty: number): Promise<void> {
    if (!client.session?.scopes.includes('seats:hold')) return panel.say('View only: this page has no token that may hold places.', 'error');
    const label = gaPanel.labelOf(area);
    gaPanel.setBusy(true);
    try {
      const tok = client.holdToken(eventId);
      try {
        await client.hold(eventId, [], { ga: [[area, qty]], ...(tok && { tok }) });
      } catch (err) {
        if (!tok || !(err instanceof RequestError) || (err.code !== 'EXPIRED' && err.code !== 'NOT_HOLDER')) throw err;
        await client.hold(eventId, [], { ga: [[area, qty]] });
      }
      panel.say(`Holding ${placeCount(qty)} in ${label}.`, 'ok');
    } catch (err) {
      if (err instanceof RequestError && err.code === 'UNAVAILABLE' && err.details.reason === 'ga') {
        const left = err.details.left?.[0] ?? 0;
        panel.say(left > 0 ? `Only ${placeCount(left)} left in ${label}: choose ${left === 1 ? '1' : `${left} or fewer`}.` : `${label} is sold out.`, 'error');
      } else panel.say(explain(err, `${placeCount(qty)} in ${label}`, labelOf), 'error');
    } finally {
      gaPanel.setBusy(false);
    }
  }

  function stateName(seat: number): string {
    const state = client.seats(eventId)?.[seat];
    if (state === SEAT_STATE.held) return mine.has(seat) ? 'held by you' : 'held';
    return state === SEAT_STATE.free ? 'free' : state === SEAT_STATE.booked ? 'booked' : state === SEAT_STATE.blocked ? 'not for sale' : state === SEAT_STATE.reserved ? 'reserved for a presale' : '…';
  }

  async function onSeatClick(seat: number): Promise<void> {
    if (!client.session?.scopes.includes('seats:hold')) return panel.say('View only: this page has no token that may hold seats.', 'error');
    const label = labelOf(seat);
    const ownHold = client.holds(eventId).find((h) => h.seats.includes(seat));
    try {
      if (ownHold) {
        await client.release(eventId, ownHold.tok, [seat]);
        return panel.say(`Released ${label}.`);
      }
      const state = client.seats(eventId)?.[seat];
      if (state !== SEAT_STATE.free) return panel.say(`${label} is ${stateName(seat)}.`);
      await holdSeat(seat);
      panel.say(`Holding ${label}.`, 'ok');
    } catch (err) {
      panel.say(explain(err, label, labelOf), 'error');
    }
  }

  /** Asks the server for the best `n` seats (of `category`), added to the page's hold token when it has one. */
  async function bestAvailable(n: number, category: string | null): Promise<void> {
    const best = { n, ...(category && { categories: [category] }) };
    const what = `${seatCount(n)}${category ? ` in ${layout.categories.find((c) => c.id === category)?.label ?? category}` : ''}`;
    bestPanel.setBusy(true);
    panel.say(`Looking for the best ${what}…`);
    try {
      const tok = client.holdToken(eventId);
      let held;
      try {
        held = await client.holdBest(eventId, best, tok ? { tok } : {});
      } catch (err) {
        if (!tok || !(err instanceof RequestError) || (err.code !== 'EXPIRED' && err.code !== 'NOT_HOLDER')) throw err;
        held = await client.holdBest(eventId, best);
      }
      const first = held.seats[0]!;
      panel.say(`Holding ${held.together ? `${seatCount(held.seats.length)} together` : seatCount(held.seats.length)} from ${labelOf(first)}.`, 'ok');
      handle.focusSeat(first, Math.max(renderer.pitchCss, 16));
    } catch (err) {
      if (err instanceof RequestError && err.code === 'NO_BLOCK') {
        const largest = err.details.largest ?? 0;
        panel.say(largest > 0 ? `No ${what} together are free now; the most seats free side by side is ${largest}.` : `No ${what} are free now.`, 'error');
      } else panel.say(explain(err, what, labelOf), 'error');
    } finally {
      bestPanel.setBusy(false);
    }
  }

  /** Adds the seat to the page's current hold token, or starts a new one when that token is gone. */
  async function holdSeat(seat: number): Promise<void> {
    const tok = client.holdToken(eventId);
    try {
      await client.hold(eventId, [seat], tok ? { tok } : {});
    } catch (err) {
      if (!tok || !(err instanceof RequestError) || (err.code !== 'EXPIRED' && err.code !== 'NOT_HOLDER')) throw err;
      await client.hold(eventId, [seat]);
    }
  }

  async function book(): Promise<void> {
    await eachHold('Booking…', async (hold) => {
      const what = holdWhat(hold);
      const booked = await client.book(eventId, hold.tok);
      // the reference a support desk and the admin API know the booking by
      return `Booked ${what}: booking reference ${booked.reference ?? booked.id}.`;
    });
  }

  async function releaseAll(): Promise<void> {
    await eachHold('Releasing…', async (hold) => {
      const what = holdWhat(hold);
      await client.release(eventId, hold.tok);
      return `Released ${what}.`;
    });
  }

  async function extendAll(): Promise<void> {
    await eachHold('Extending…', async (hold) => {
      const { expiresAt } = await client.extend(eventId, hold.tok);
      return `Held until ${new Date(expiresAt).toLocaleTimeString()}.`;
    });
  }

  async function eachHold(working: string, action: (hold: HoldInfo) => Promise<string>): Promise<void> {
    panel.setBusy(true);
    panel.say(working);
    try {
      const outcomes: string[] = [];
      for (const hold of client.holds(eventId).filter((h) => h.seats.length > 0 || (h.ga?.length ?? 0) > 0)) outcomes.push(await action(hold));
      panel.say(outcomes.join(' '), 'ok');
    } catch (err) {
      panel.say(explain(err, 'your seats', labelOf), 'error');
    } finally {
      panel.setBusy(false);
    }
  }
}

function explain(err: unknown, what: string, labelOf: (seat: number) => string): string {
  if (!(err instanceof RequestError)) return err instanceof Error ? err.message : String(err);
  switch (err.code) {
    case 'UNAVAILABLE':
      if (err.details.reason === 'accessible') return `${what} is a wheelchair space, kept for accessible bookings for now.`;
      return `Someone else just took ${what}.`;
    case 'ORPHAN_SEAT': {
      // the seats the change would leave alone, which nobody could buy
      const alone = (err.seats ?? []).map(labelOf);
      return alone.length > 0
        ? `That would leave ${alone.join(' and ')} on ${alone.length === 1 ? 'its' : 'their'} own between taken seats, where nobody would buy ${alone.length === 1 ? 'it' : 'them'}. Hold ${alone.length === 1 ? 'that seat' : 'those seats'} too, or choose seats next to taken ones.`
        : 'That would leave a single seat on its own between taken seats. Choose seats next to taken ones.';
    }
    case 'BAD_REQUEST':
      if (err.details.reason === 'companion') return 'A companion seat goes with a wheelchair space: hold the wheelchair space first.';
      return `${err.code}: ${err.message}`;
    case 'HOLD_LIMIT': {
      // the gateway's message names the limits: "… the limit of 10 seats per hold token or 20 seats per holder …"
      const limit = /the limit of (.+?) for event/.exec(err.message)?.[1];
      return limit ? `You cannot hold more seats: the limit is ${limit}.` : 'You already hold as many seats as this event allows.';
    }
    case 'EXPIRED':
      return 'Your hold has expired.';
    case 'RATE_LIMITED':
      return 'Too many clicks: wait a moment.';
    case 'TIMEOUT':
    case 'DISCONNECTED':
      return `No answer for ${what}: the connection dropped. Check the map before trying again.`;
    default:
      return `${err.code}: ${err.message}`;
  }
}

/** "1 place", "3 places" */
function placeCount(n: number): string {
  return `${n.toLocaleString()} ${n === 1 ? 'place' : 'places'}`;
}

/** "1 seat", "3 seats" */
function seatCount(n: number): string {
  return `${n.toLocaleString()} ${n === 1 ? 'seat' : 'seats'}`;
}

/** Seat positions and categories as typed arrays; the pitch from the first seats of a sample of rows. */
function geometryOf(layout: SeatMapLayout): SeatGeometry {
  const x = Float32Array.from(layout.seats.x);
  const y = Float32Array.from(layout.seats.y);
  const gaps: number[] = [];
  const step = Math.max(1, Math.floor(layout.rows.length / 200));
  for (let r = 0; r < layout.rows.length; r += step) {
    const { first, count } = layout.rows[r]!;
    if (count >= 2) gaps.push(Math.hypot(x[first + 1]! - x[first]!, y[first + 1]! - y[first]!));
  }
  gaps.sort((a, b) => a - b);
  const wheelchair = new Uint8Array(layout.seatCount);
  for (const seat of layout.seats.attrs?.wheelchair ?? []) wheelchair[seat] = 1;
  const areas = (layout.areas ?? []).map((a) => a.shape);
  return { x, y, category: Uint16Array.from(layout.seats.category), pitch: gaps[Math.floor(gaps.length / 2)] || 0.5, wheelchair, areas };
}

/** "Section A · Row 3 · Seat 12" for a seat index. */
function seatLabeller(layout: SeatMapLayout): (seat: number) => string {
  const rowOf = new Int32Array(layout.seatCount);
  layout.rows.forEach((row, r) => rowOf.fill(r, row.first, row.first + row.count));
  return (seat) => {
    const row = layout.rows[rowOf[seat]!];
    const section = row && layout.sections[row.section];
    return `${section?.label ?? ''} · Row ${row?.label ?? '?'} · Seat ${layout.seats.label[seat] ?? seat}`;
  };
}
