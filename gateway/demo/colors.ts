/**
 * Seat colours: free seats in their category's colour, taken seats in
 * state colours, the page's own holds stand out. Packed as canvas pixels
 * (RGBA bytes in a little-endian Uint32: 0xAABBGGRR).
 */

export const CATEGORY_COLOURS = ['#e4572e', '#f3a712', '#29bf12', '#17bebb', '#7e6bc4', '#ff7eb6', '#a0c4ff', '#9ef01a'];

/** Each at least 3:1 against the background (WCAG's contrast for graphics), so booked and blocked seats stay visible. */
export const STATE_COLOURS = {
  held: '#9aa5b1',
  mine: '#1e90ff',
  booked: '#5f6b78',
  blocked: '#a14a57',
  /** held back for a sales channel (a presale) this page's token is not in */
  reserved: '#c0a36e',
} as const;

export const BACKGROUND = '#0f1419';
/** the corner mark of a wheelchair space */
export const WHEELCHAIR_MARK = '#ffffff';
export const STAGE = '#d9d9d9';

export function categoryColour(category: number): string {
  return CATEGORY_COLOURS[category % CATEGORY_COLOURS.length]!;
}

/** '#rrggbb' → a pixel value for a Uint32Array view of ImageData. */
export function pixel(hex: string): number {
  const v = Number.parseInt(hex.slice(1), 16);
  const r = (v >> 16) & 255;
  const g = (v >> 8) & 255;
  const b = v & 255;
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** Pixel values by seat state and category, resolved once. */
export class SeatPalette {
  private readonly free: Uint32Array;
  private readonly held = pixel(STATE_COLOURS.held);
  private readonly mine = pixel(STATE_COLOURS.mine);
  private readonly booked = pixel(STATE_COLOURS.booked);
  private readonly blocked = pixel(STATE_COLOURS.blocked);
  private readonly reserved = pixel(STATE_COLOURS.reserved);

  constructor(categoryCount: number) {
    this.free = Uint32Array.from({ length: Math.max(1, categoryCount) }, (_, c) => pixel(categoryColour(c)));
  }

  colour(state: number, category: number, mine: boolean): number {
    switch (state) {
      case 0:
        return this.free[category] ?? this.free[0]!;
      case 1:
        return mine ? this.mine : this.held;
      case 2:
        return this.booked;
      case 4:
        return this.reserved;
      default:
        return this.blocked;
    }
  }
}
