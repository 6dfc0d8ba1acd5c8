/**
 * React bindings of the SDK, the package's `/react` subpath (React is a peer
 * dependency; nothing else of the SDK imports this file):
 *
 *   <SeatMapProvider client={client}> … </SeatMapProvider>
 *   const { seats, counts, areas, holds, connection, hold, release, extend, book } = useSeatMap('concert-42');
 *
 * `useSeatMap(event)` watches the event on the provider's client while a
 * component uses it (unwatching when the last one unmounts), and re-renders
 * on snapshots, seat changes, general-admission counters, own holds and connection changes (several
 * components on one event share one watch and one copy of its state). `seats` is
 * the client's live array, replaced by a new reference on every change so
 * that React sees it change; treat it as read-only.
 */
import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import type { SeatMapClient } from './client.js';
import type { AreaCounts, SeatCounts } from './event-seats.js';
import type { HoldInfo } from './holds.js';
import type { BookResult, ConnectionState, HoldBestResult, HoldResult } from './types.js';
import type { BestAvailable, GaPlaces } from '../protocol/messages.js';

const ClientContext = createContext<SeatMapClient | null>(null);

/** Makes `client` the one every useSeatMap below uses. */
export function SeatMapProvider(props: { client: SeatMapClient; children?: ReactNode }): ReactNode {
  return createElement(ClientContext.Provider, { value: props.client }, props.children);
}

export interface SeatMapState {
  /** seat states by seat index (0 free, 1 held, 2 booked, 3 blocked), null before the first snapshot */
  seats: Uint8Array | null;
  /** counts per state, in total and per category (when the event was watched with categories) */
  counts: SeatCounts | null;
  /** the general-admission areas' counters (free, held, booked places), ascending by area; null before the first snapshot */
  areas: AreaCounts[] | null;
  /** this client's own holds of the event (with their places, `ga`) */
  holds: HoldInfo[];
  /** the client's connection */
  connection: ConnectionState;
  /** holds seats, and places with `ga: [[area, qty], …]` */
  hold(seats: readonly number[], options?: { tok?: string; ga?: GaPlaces }): Promise<HoldResult>;
  /** releases seats and places (`ga`) of a token, or everything it holds */
  release(tok: string, seats?: readonly number[], options?: { ga?: GaPlaces }): Promise<{ released: number; seq: number }>;
  extend(tok: string, options?: { ms?: number }): Promise<{ expiresAt: number; seq: number }>;
  book(tok: string, options?: { key?: string }): Promise<BookResult>;
  /** best available: the server picks and holds `best.n` seats */
  holdBest(best: BestAvailable, options?: { tok?: string }): Promise<HoldBestResult>;
  swap(tok: string, change: { release: readonly number[]; hold: readonly number[] }): Promise<{ expiresAt: number; seq: number }>;
}

interface Snapshot {
  seats: Uint8Array | null;
  counts: SeatCounts | null;
  areas: AreaCounts[] | null;
  holds: HoldInfo[];
  connection: ConnectionState;
}

/** One store per (client, event): a stable snapshot between changes, as useSyncExternalStore needs. */
class EventStore {
  private snapshot: Snapshot;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly client: SeatMapClient,
    private readonly ev: string,
  ) {
    this.snapshot = this.read();
    const changed = () => this.changed();
    const mine = (payload: { ev: string }) => payload.ev === ev && changed();
    client.on('snapshot', mine);
    client.on('seats', mine);
    client.on('areas', mine);
    client.on('holds', changed);
    client.on('connection', changed);
    client.on('event-gone', mine);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = (): Snapshot => this.snapshot;

  private read(): Snapshot {
    const status = this.client.seats(this.ev);
    return {
      // a copy per change: the client updates its array in place
      seats: status ? status.slice() : null,
      counts: this.client.counts(this.ev),
      areas: this.client.areas(this.ev),
      holds: this.client.holds(this.ev),
      connection: this.client.state,
    };
  }

  private changed(): void {
    this.snapshot = this.read();
    for (const listener of [...this.listeners]) listener();
  }
}

const stores = new WeakMap<SeatMapClient, Map<string, { store: EventStore; users: number }>>();

function acquire(client: SeatMapClient, ev: string): EventStore {
  let byEvent = stores.get(client);
  if (!byEvent) stores.set(client, (byEvent = new Map()));
  let entry = byEvent.get(ev);
  if (!entry) byEvent.set(ev, (entry = { store: new EventStore(client, ev), users: 0 }));
  return entry.store;
}

/** The event's live seats, counts and own holds, and the seat operations on it. */
export function useSeatMap(ev: string): SeatMapState {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useSeatMap needs a <SeatMapProvider client={…}> above it');
  const store = useMemo(() => acquire(client, ev), [client, ev]);

  useEffect(() => {
    // the store stays (it is small, and a remount must find the same one); the watch is counted
    const entry = stores.get(client)!.get(ev)!;
    if (entry.users++ === 0) client.watch(ev);
    return () => {
      if (--entry.users === 0) client.unwatch(ev);
    };
  }, [client, ev]);

  const state = useSyncExternalStore(store.subscribe, store.get, store.get);
  const hold = useCallback((seats: readonly number[], options?: { tok?: string; ga?: GaPlaces }) => client.hold(ev, seats, options), [client, ev]);
  const release = useCallback((tok: string, seats?: readonly number[], options?: { ga?: GaPlaces }) => client.release(ev, tok, seats, options), [client, ev]);
  const extend = useCallback((tok: string, options?: { ms?: number }) => client.extend(ev, tok, options), [client, ev]);
  const holdBest = useCallback((best: BestAvailable, options?: { tok?: string }) => client.holdBest(ev, best, options), [client, ev]);
  const swap = useCallback((tok: string, change: { release: readonly number[]; hold: readonly number[] }) => client.swap(ev, tok, change), [client, ev]);
  const book = useCallback((tok: string, options?: { key?: string }) => client.book(ev, tok, options), [client, ev]);
  return { ...state, hold, release, extend, book, holdBest, swap };
}
