/**
 * The event layout as served at `GET /events/{ev}` (columnar: a seat's
 * position in the `seats` arrays is its seat index), fetched with the global
 * fetch of browsers and Node ≥ 18.
 */
import type { LayoutView } from '../protocol/layout-view.js';
import type { SeatCategories } from './event-seats.js';

/** An event's layout as the gateway serves it (core/protocol's LayoutView). */
export type SeatMapLayout = LayoutView;

/**
 * Fetches an event's layout. `httpUrl` is the gateway's HTTP origin, e.g.
 * `https://seats.example.com` (derive it from the WebSocket URL with
 * httpUrlOf). Throws with the server's `{code, msg}` on failure.
 */
export async function fetchLayout(httpUrl: string, ev: string, init?: RequestInit): Promise<SeatMapLayout> {
  const response = await fetch(new URL(`/events/${encodeURIComponent(ev)}`, httpUrl), init);
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { code?: string; msg?: string } | null;
    throw new Error(`layout of ${ev}: HTTP ${response.status} ${body?.code ?? ''} ${body?.msg ?? ''}`.trim());
  }
  return (await response.json()) as SeatMapLayout;
}

/** The seat categories of a layout, in the form SeatMapClient.watch() takes. */
export function layoutCategories(layout: SeatMapLayout): SeatCategories {
  return { seatCategory: Uint16Array.from(layout.seats.category), categoryCount: layout.categories.length };
}

/** The HTTP origin of a gateway WebSocket URL: ws → http, wss → https, path dropped. */
export function httpUrlOf(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.origin;
}
