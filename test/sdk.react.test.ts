/**
 * The SDK's React hook (`@seatmap/client/react`: SeatMapProvider,
 * useSeatMap) rendered with React DOM into a happy-dom document, against a
 * real gateway: the component shows the event's counts from its snapshot,
 * holds through the hook's operation, sees its own hold and the seat's
 * state change, books it, and re-renders on another client's change; and
 * the general-admission areas' counters (`areas`), held through the hook's
 * `hold` with `ga` and moved by another client, a diff of places only.
 */
import { Window } from 'happy-dom';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatMapClient } from '../core/client/index.js';
import { createEventFromLayout } from '../core/events.js';
import { generateVenue, withStandingArea } from '../core/layout/index.js';
import { createVenueEvent, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';

// a DOM for React in this Node process (the gateway runs here too, so the test keeps the Node environment)
const window = new Window({ url: 'http://127.0.0.1/' });
for (const name of ['window', 'document', 'navigator', 'HTMLElement', 'Element', 'Node', 'Text', 'Event', 'MouseEvent', 'MutationObserver', 'getComputedStyle', 'requestAnimationFrame', 'cancelAnimationFrame']) {
  Object.defineProperty(globalThis, name, { value: name === 'window' ? window : (window as unknown as Record<string, unknown>)[name], configurable: true, writable: true });
}
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
const { createElement: h, useState } = await import('react');
const { act, cleanup, fireEvent, render, waitFor } = await import('@testing-library/react');
const { SeatMapProvider, useSeatMap } = await import('../core/client/react.js');

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
  await createVenueEvent(gw.store, 'hook', 120);
  expect((await createEventFromLayout(gw.store, 'hook-ga', withStandingArea(generateVenue({ seats: 100, seed: 7, name: 'hook-ga' }), 50))).ok).toBe(true);
});

afterAll(async () => {
  cleanup();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
  await window.happyDOM.close();
});

function Seats({ ev }: { ev: string }) {
  const { seats, counts, holds, connection, hold, book } = useSeatMap(ev);
  const [booked, setBooked] = useState('');
  return h(
    'div',
    null,
    h('p', { 'data-testid': 'connection' }, connection),
    h('p', { 'data-testid': 'free' }, counts ? String(counts.total.free) : '…'),
    h('p', { 'data-testid': 'seat-5' }, seats ? String(seats[5]) : '…'),
    h('p', { 'data-testid': 'holds' }, holds.map((x) => x.seats.join(',')).join(' ')),
    h('button', { onClick: () => void hold([5, 6]) }, 'hold'),
    h('button', { onClick: () => void book(holds[0]!.tok).then((b) => setBooked(b.reference ?? '')) }, 'book'),
    h('p', { 'data-testid': 'booked' }, booked),
  );
}

describe('useSeatMap', () => {
  it('renders the live seats, counts and own holds, and runs the operations', async () => {
    const client = new SeatMapClient({ url: gw.wsUrl, token: await token('hook-user'), WebSocket: WebSocket as never });
    await client.connect();
    const view = render(h(SeatMapProvider, { client }, h(Seats, { ev: 'hook' })));
    const text = (id: string) => (view.getByTestId(id) as unknown as { textContent: string | null }).textContent;

    await waitFor(() => expect(text('free')).toBe('120'), { timeout: 10_000 });
    expect(text('connection')).toBe('open');
    expect(text('seat-5')).toBe('0');

    await act(async () => void fireEvent.click(view.getByText('hold')));
    await waitFor(() => expect(text('holds')).toBe('5,6'), { timeout: 10_000 });
    await waitFor(() => expect(text('seat-5')).toBe('1'));
    expect(text('free')).toBe('118');

    // another client's change re-renders the map
    const other = await TestClient.connect(gw.wsUrl, { token: await token('hook-other') });
    await other.ok({ t: 'hold', ev: 'hook', seats: [100] });
    await waitFor(() => expect(text('free')).toBe('117'), { timeout: 10_000 });

    await act(async () => void fireEvent.click(view.getByText('book')));
    await waitFor(() => expect(text('booked')).toMatch(/^SM-/), { timeout: 15_000 });
    await waitFor(() => expect(text('seat-5')).toBe('2'));
    expect(text('holds')).toBe('');

    // unmounting the last user unwatches the event
    view.unmount();
    await waitFor(() => expect(client.seats('hook')).toBeNull());
    other.close();
    client.close();
  });

  it('renders the areas\' counters and holds places with ga', async () => {
    function Areas({ ev }: { ev: string }) {
      const { areas, holds, hold } = useSeatMap(ev);
      return h(
        'div',
        null,
        h('p', { 'data-testid': 'left' }, areas ? areas.map((a) => `${a.area}:${a.free}/${a.held}/${a.booked}`).join(' ') : '…'),
        h('p', { 'data-testid': 'places' }, holds.map((x) => (x.ga ?? []).map(([a, q]) => `${a}x${q}`).join(',')).join(' ')),
        h('button', { onClick: () => void hold([], { ga: [[0, 4]] }) }, 'hold places'),
      );
    }
    const client = new SeatMapClient({ url: gw.wsUrl, token: await token('hook-ga-user'), WebSocket: WebSocket as never });
    await client.connect();
    const view = render(h(SeatMapProvider, { client }, h(Areas, { ev: 'hook-ga' })));
    const text = (id: string) => (view.getByTestId(id) as unknown as { textContent: string | null }).textContent;
    await waitFor(() => expect(text('left')).toBe('0:50/0/0'), { timeout: 10_000 });

    await act(async () => void fireEvent.click(view.getByText('hold places')));
    await waitFor(() => expect(text('places')).toBe('0x4'), { timeout: 10_000 });
    await waitFor(() => expect(text('left')).toBe('0:46/4/0'));

    // another client's places only: a diff with no seat in it re-renders the counters
    const other = await TestClient.connect(gw.wsUrl, { token: await token('hook-ga-other') });
    await other.ok({ t: 'hold', ev: 'hook-ga', seats: [], ga: [[0, 10]] });
    await waitFor(() => expect(text('left')).toBe('0:36/14/0'), { timeout: 10_000 });
    view.unmount();
    other.close();
    client.close();
  });

  it('says what it needs without a provider', () => {
    const spy = console.error;
    console.error = () => {};
    try {
      expect(() => render(h(Seats, { ev: 'hook' }))).toThrow(/useSeatMap needs a <SeatMapProvider/);
    } finally {
      console.error = spy;
    }
  });
});
