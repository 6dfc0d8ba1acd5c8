/**
 * What the demo page exposes as `window.seatmapDemo`, for browser tests and
 * the page benchmark (and for poking around in the console). Types only, free
 * of DOM types, so Node code can import it.
 */
import type { ConnectionState, SeatMapClient } from '../../core/client/index.js';

export interface DemoMetrics {
  /** ms after navigation start (performance.now()) when the layout had been fetched and parsed */
  layoutAt: number | null;
  /** ... when the first snapshot had arrived */
  snapshotAt: number | null;
  /** ... when the first full render of every seat was on the canvas */
  firstRenderAt: number | null;
  /** durations of full renders (first one, resizes, zoom and pan), ms */
  fullRenderMs: number[];
  /** per diff: from the decoded frame to its seats redrawn (SDK apply + counts + canvas), ms */
  diffApplyMs: number[];
  /** per diff: seats that changed */
  diffSeats: number[];
}

export interface DemoHandle {
  eventId: string;
  seatCount: number;
  /** the first full render is done */
  ready: boolean;
  connection: ConnectionState;
  /** the holder this page acts for; null when anonymous */
  subject: string | null;
  /** a seat's state in the page's copy (0 free, 1 held, 2 booked, 3 blocked), -1 before the snapshot */
  seatState(seat: number): number;
  /** the seat's centre in viewport CSS pixels (for mouse clicks), null when it is off screen */
  seatPoint(seat: number): { x: number; y: number } | null;
  /** the colour drawn at the seat's centre on the canvas ('#rrggbb'), null when it is off screen */
  seatColour(seat: number): string | null;
  /** seats this page holds */
  mySeats(): number[];
  /** places still free in a general-admission area in the page's copy, null before the snapshot or for no such area */
  areaLeft(area: number): number | null;
  /** places this page holds, by area index */
  myPlaces(): Record<number, number>;
  position(): { epoch: number; seq: number } | null;
  /** zooms so that one seat pitch is `pixels` CSS px wide, centred on `seat` */
  focusSeat(seat: number, pixels: number): void;
  metrics: DemoMetrics;
  client: SeatMapClient;
}
