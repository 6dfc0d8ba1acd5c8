/**
 * Keyboard access to the seats: the map is a Tab stop; arrow keys move a
 * focused seat along its row (left, right) and to the neighbouring rows (up,
 * down), Enter or Space holds or releases it, Home goes back to the first
 * free seat. The focused seat is centred when off screen, ringed, described
 * in the tooltip and announced to screen readers.
 */
import type { SeatMapLayout } from '../../core/client/index.js';

export interface SeatKeyboardHost {
  /** the seat's centre on the canvas (CSS px), null when off screen */
  centre(seat: number): { x: number; y: number } | null;
  /** brings the seat on screen */
  reveal(seat: number): void;
  describe(seat: number): string;
  showTip(seat: number, x: number, y: number): void;
  hideTip(): void;
  activate(seat: number): void;
  firstFree(): number;
}

export class SeatKeyboard {
  private focused = -1;
  private readonly rowOf: Int32Array;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly ring: HTMLElement,
    private readonly announcer: HTMLElement,
    private readonly layout: SeatMapLayout,
    private readonly host: SeatKeyboardHost,
  ) {
    this.rowOf = new Int32Array(layout.seatCount);
    layout.rows.forEach((row, r) => this.rowOf.fill(r, row.first, row.first + row.count));
    canvas.tabIndex = 0;
    canvas.addEventListener('focus', () => this.focus(this.focused >= 0 ? this.focused : Math.max(0, host.firstFree())));
    canvas.addEventListener('blur', () => {
      this.ring.style.display = 'none';
      host.hideTip();
    });
    canvas.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** The ring and tooltip follow the seat after a redraw (zoom, pan, resize). */
  follow(): void {
    if (this.focused >= 0 && document.activeElement === this.canvas) this.place(this.focused);
  }

  /** The focused seat's state changed: say so. */
  refresh(changed?: readonly number[]): void {
    if (this.focused < 0 || document.activeElement !== this.canvas || (changed && !changed.includes(this.focused))) return;
    this.announcer.textContent = this.host.describe(this.focused);
  }

  private onKey(e: KeyboardEvent): void {
    const seat = this.focused;
    if (seat < 0) return;
    let next = -1;
    switch (e.key) {
      case 'ArrowRight':
        next = this.alongRow(seat, 1);
        break;
      case 'ArrowLeft':
        next = this.alongRow(seat, -1);
        break;
      case 'ArrowDown':
        next = this.acrossRows(seat, 1);
        break;
      case 'ArrowUp':
        next = this.acrossRows(seat, -1);
        break;
      case 'Home':
        next = this.host.firstFree();
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.host.activate(seat);
        return;
      default:
        return;
    }
    e.preventDefault();
    if (next >= 0) this.focus(next);
  }

  private alongRow(seat: number, step: number): number {
    const row = this.layout.rows[this.rowOf[seat]!]!;
    const next = seat + step;
    return next >= row.first && next < row.first + row.count ? next : seat;
  }

  private acrossRows(seat: number, step: number): number {
    const r = this.rowOf[seat]!;
    const row = this.layout.rows[r]!;
    const target = this.layout.rows[r + step];
    if (!target) return seat;
    // the same place along the row, as near as the other row has one
    const position = (seat - row.first) / Math.max(1, row.count - 1);
    return target.first + Math.round(position * Math.max(0, target.count - 1));
  }

  private focus(seat: number): void {
    this.focused = seat;
    if (!this.host.centre(seat)) this.host.reveal(seat);
    this.place(seat);
    this.announcer.textContent = this.host.describe(seat);
  }

  private place(seat: number): void {
    const centre = this.host.centre(seat);
    if (!centre) {
      this.ring.style.display = 'none';
      return;
    }
    this.ring.style.left = `${centre.x}px`;
    this.ring.style.top = `${centre.y}px`;
    this.ring.style.display = 'block';
    this.host.showTip(seat, centre.x, centre.y);
  }
}
