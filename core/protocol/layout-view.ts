/**
 * The layout as served at GET /events/:id: compact and columnar. A seat's
 * position in the `seats` arrays is its seat index, the one the WebSocket
 * protocol uses; rows are contiguous index ranges [first, first + count).
 * The gateway builds it (gateway/layout-view.ts); clients read it.
 */
export interface LayoutView {
  id: string;
  epoch: number;
  name: string;
  currency: string;
  seatCount: number;
  /** the stage: best available prefers seats close to it */
  focal: { x: number; y: number };
  /** how the event sells seats: its orphan policy and the protection of wheelchair seats */
  selection: {
    orphanPolicy: 'off' | 'lenient' | 'strict';
    accessible: { protectUntil: number | null; maxCompanionsPerWheelchair: number };
  };
  /** prices in minor units of `currency` */
  categories: { id: string; label: string; price: number }[];
  /** the seated sections */
  sections: { id: string; label: string; rows: number[] }[];
  /**
   * The general-admission areas, sold by quantity: an area's position here is its
   * area index, the one `hold`/`release` (`ga`) and `snap`/`diff` (`ga`) use.
   */
  areas: { id: string; label: string; category: number; capacity: number; shape: { x: number; y: number; width: number; height: number } }[];
  /** seats [first, first + count) of section `section` */
  rows: { label: string; section: number; first: number; count: number }[];
  seats: {
    label: string[];
    x: number[];
    y: number[];
    /** index into `categories` */
    category: number[];
    /** 0 best: the order best available picks seats in; equal ranks are ties */
    rank: number[];
    /** per attribute, the indexes of the seats that have it, ascending */
    attrs: Record<'wheelchair' | 'companion' | 'aisle' | 'restrictedView', number[]>;
  };
}
