/**
 * The interactive canvas: zoom (wheel), pan (drag), fit (a button),
 * hover labels kept live (a seat that changes under the tooltip updates it),
 * seat clicks, and redraws batched into animation frames. Keyboard access is
 * keyboard.ts's, through showTipAt.
 */
import type { SeatRenderer } from './renderer.js';

export interface MapViewSource {
  /** current seat states, null before the first snapshot */
  status(): Uint8Array | null;
  /** seats the page holds itself */
  mine(): ReadonlySet<number>;
  /** the tooltip text of a seat */
  describe(seat: number): string;
  click(seat: number): void;
  /** a full render finished; `ms` is how long it took */
  rendered(ms: number): void;
}

/** a press that moves less than this is a click, not a drag */
const CLICK_SLOP_PX = 4;

export class MapView {
  private frameRequested = false;
  private press: { x: number; y: number; moved: boolean } | null = null;
  /** the seat the tooltip describes, -1 when hidden */
  private tipSeat = -1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly tip: HTMLElement,
    fitButton: HTMLElement,
    private readonly renderer: SeatRenderer,
    private readonly source: MapViewSource,
  ) {
    canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    canvas.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    canvas.addEventListener('pointermove', (e) => this.onPointerMove(e));
    canvas.addEventListener('pointerup', (e) => this.onPointerUp(e));
    canvas.addEventListener('pointerleave', () => this.hideTip());
    fitButton.addEventListener('click', () => {
      this.renderer.fit();
      this.renderAll();
    });
    new ResizeObserver(() => {
      if (this.renderer.resize()) this.renderAll();
    }).observe(canvas);
    this.renderer.resize();
  }

  /** Redraws every seat now. */
  renderAll(): void {
    const started = performance.now();
    this.renderer.renderAll(this.source.status(), this.source.mine());
    this.source.rendered(performance.now() - started);
  }

  /** Redraws only these seats, now. */
  renderSeats(seats: readonly number[]): void {
    const status = this.source.status();
    if (status) this.renderer.renderSeats(seats, status, this.source.mine());
  }

  /** Shows the tooltip of `seat` at a point of the canvas (CSS px). */
  showTipAt(seat: number, x: number, y: number): void {
    this.tipSeat = seat;
    this.tip.textContent = this.source.describe(seat);
    this.tip.style.left = `${x + 14}px`;
    this.tip.style.top = `${y + 14}px`;
    this.tip.style.display = 'block';
  }

  /** What the tooltip says of a seat. */
  describeSeat(seat: number): string {
    return this.source.describe(seat);
  }

  hideTip(): void {
    this.tipSeat = -1;
    this.tip.style.display = 'none';
  }

  /** The seat under the tooltip changed (a diff, a hold of ours, its expiry): say what it is now. */
  refreshTip(changed?: readonly number[]): void {
    if (this.tipSeat < 0 || (changed && !changed.includes(this.tipSeat))) return;
    this.tip.textContent = this.source.describe(this.tipSeat);
  }

  /** Zoom and pan redraw at most once per animation frame. */
  private scheduleRenderAll(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.renderAll();
    });
  }

  private local(e: MouseEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const { x, y } = this.local(e);
    this.renderer.zoomAt(x, y, Math.exp(-e.deltaY * 0.0015));
    this.scheduleRenderAll();
  }

  private onPointerDown(e: PointerEvent): void {
    this.press = { x: e.clientX, y: e.clientY, moved: false };
    this.canvas.setPointerCapture(e.pointerId);
  }

  private onPointerMove(e: PointerEvent): void {
    const press = this.press;
    if (press) {
      const dx = e.clientX - press.x, dy = e.clientY - press.y;
      if (press.moved || Math.hypot(dx, dy) > CLICK_SLOP_PX) {
        press.moved = true;
        this.renderer.panBy(dx, dy);
        press.x = e.clientX;
        press.y = e.clientY;
        this.scheduleRenderAll();
      }
      return;
    }
    const { x, y } = this.local(e);
    const seat = this.renderer.seatAt(x, y);
    if (seat < 0) return this.hideTip();
    this.showTipAt(seat, x, y);
  }

  private onPointerUp(e: PointerEvent): void {
    const press = this.press;
    this.press = null;
    if (!press || press.moved) return;
    const { x, y } = this.local(e);
    const seat = this.renderer.seatAt(x, y);
    if (seat >= 0) this.source.click(seat);
  }
}
