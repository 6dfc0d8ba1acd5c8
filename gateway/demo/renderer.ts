/**
 * Draws the seat map on a 2D canvas through one ImageData pixel buffer: a
 * seat is a small square of pixels. A full render writes every seat's block
 * and puts the image once; a diff rewrites only the changed seats' blocks and
 * puts just their region. That keeps 100,000 seats cheap where one DOM node
 * (or one canvas path) per seat would not be.
 */
import { BACKGROUND, STAGE, WHEELCHAIR_MARK, pixel, type SeatPalette } from './colors.js';
import type { VenueLabels } from './labels.js';
import { SeatPicker } from './picker.js';

export interface SeatGeometry {
  /** venue coordinates (metres), by seat index */
  x: Float32Array;
  y: Float32Array;
  /** category index, by seat index */
  category: Uint16Array;
  /** distance between neighbouring seats of a row */
  pitch: number;
  /** 1 for a wheelchair space, by seat index: drawn with a white corner */
  wheelchair?: Uint8Array;
  /** general-admission areas' rectangles (venue coordinates), by area index: the fit includes them, ga-panel.ts draws them */
  areas?: readonly { x: number; y: number; width: number; height: number }[];
}

const MARGIN_CSS_PX = 16;
const MAX_ZOOM = 60;
/** a few scattered seats are put one block each; more are put as one region */
const MAX_SEPARATE_PUTS = 48;
/** marks a seat not drawn (any real block coordinate, even a negative one at the edge, is larger) */
const OFF_SCREEN = -0x80000000;
const STAGE_HALF_WIDTH = 8;
const STAGE_HALF_DEPTH = 2;

export class SeatRenderer {
  private readonly context: CanvasRenderingContext2D;
  private readonly picker: SeatPicker;
  private readonly bounds: { minX: number; minY: number; maxX: number; maxY: number };
  /** top-left pixel of each seat's block, OFF_SCREEN when not visible */
  private readonly blockX: Int32Array;
  private readonly blockY: Int32Array;
  private image: ImageData | null = null;
  private pixels = new Uint32Array(0);
  private width = 0;
  private height = 0;
  private dpr = 1;
  /** device pixel = offset + venue coordinate × scale */
  private scale = 1;
  private offsetX = 0;
  private offsetY = 0;
  private fitScale = 1;
  private block = 1;
  private readonly background = pixel(BACKGROUND);
  private readonly stage = pixel(STAGE);
  private readonly wheelchairMark = pixel(WHEELCHAIR_MARK);

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly geometry: SeatGeometry,
    private readonly palette: SeatPalette,
    private readonly labels?: VenueLabels,
  ) {
    const context = canvas.getContext('2d', { alpha: false });
    if (!context) throw new Error('no 2D canvas context');
    this.context = context;
    this.picker = new SeatPicker(geometry.x, geometry.y, Math.max(geometry.pitch * 2, 0.5));
    const n = geometry.x.length;
    this.blockX = new Int32Array(n).fill(OFF_SCREEN);
    this.blockY = new Int32Array(n).fill(OFF_SCREEN);
    let minX = -STAGE_HALF_WIDTH, maxX = STAGE_HALF_WIDTH, minY = -STAGE_HALF_DEPTH, maxY = STAGE_HALF_DEPTH;
    for (let i = 0; i < n; i++) {
      const x = geometry.x[i]!, y = geometry.y[i]!;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    for (const area of geometry.areas ?? []) {
      minX = Math.min(minX, area.x);
      minY = Math.min(minY, area.y);
      maxX = Math.max(maxX, area.x + area.width);
      maxY = Math.max(maxY, area.y + area.height);
    }
    this.bounds = { minX, minY, maxX, maxY };
  }

  /** Matches the backing store to the canvas's CSS size; true when it changed (then renderAll). */
  resize(): boolean {
    const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
    const width = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (width === this.width && height === this.height && dpr === this.dpr) return false;
    const first = this.width === 0;
    this.width = this.canvas.width = width;
    this.height = this.canvas.height = height;
    this.dpr = dpr;
    this.image = this.context.createImageData(width, height);
    this.pixels = new Uint32Array(this.image.data.buffer);
    const previousFit = this.fitScale;
    this.computeFit();
    if (first) this.fit();
    else this.scale *= this.fitScale / previousFit; // keep the zoom level relative to the new size
    return true;
  }

  /** Shows the whole venue. */
  fit(): void {
    this.computeFit();
    this.setScale(this.fitScale);
    const { minX, minY, maxX, maxY } = this.bounds;
    this.offsetX = this.width / 2 - ((minX + maxX) / 2) * this.scale;
    this.offsetY = this.height / 2 - ((minY + maxY) / 2) * this.scale;
  }

  /** Zooms by `factor` keeping the venue point under (cssX, cssY) in place. */
  zoomAt(cssX: number, cssY: number, factor: number): void {
    const px = cssX * this.dpr, py = cssY * this.dpr;
    const vx = (px - this.offsetX) / this.scale, vy = (py - this.offsetY) / this.scale;
    this.setScale(Math.min(this.fitScale * MAX_ZOOM, Math.max(this.fitScale * 0.5, this.scale * factor)));
    this.offsetX = px - vx * this.scale;
    this.offsetY = py - vy * this.scale;
  }

  panBy(cssDx: number, cssDy: number): void {
    this.offsetX += cssDx * this.dpr;
    this.offsetY += cssDy * this.dpr;
  }

  /** One seat pitch in CSS px at the current zoom. */
  get pitchCss(): number {
    return (this.geometry.pitch * this.scale) / this.dpr;
  }

  /** Centres `seat` with one seat pitch `cssPixels` wide. */
  focus(seat: number, cssPixels: number): void {
    this.setScale((cssPixels * this.dpr) / this.geometry.pitch);
    this.offsetX = this.width / 2 - this.geometry.x[seat]! * this.scale;
    this.offsetY = this.height / 2 - this.geometry.y[seat]! * this.scale;
  }

  /** Draws every seat. */
  renderAll(status: Uint8Array | null, mine: ReadonlySet<number>): void {
    if (!this.image) return;
    const { pixels, width, height, block, scale, offsetX, offsetY } = this;
    const { x, y, category } = this.geometry;
    pixels.fill(this.background);
    const stage = this.stageRect();
    this.fillRect(stage.x, stage.y, stage.width, stage.height, this.stage);
    const half = block / 2;
    for (let i = 0; i < x.length; i++) {
      const bx = Math.round(offsetX + x[i]! * scale - half);
      const by = Math.round(offsetY + y[i]! * scale - half);
      if (bx + block <= 0 || by + block <= 0 || bx >= width || by >= height) {
        this.blockX[i] = OFF_SCREEN;
        continue;
      }
      this.blockX[i] = bx;
      this.blockY[i] = by;
      this.fillRect(bx, by, block, block, this.palette.colour(status ? status[i]! : 0, category[i]!, mine.has(i)));
      this.markWheelchair(i, bx, by);
    }
    this.context.putImageData(this.image, 0, 0);
    this.drawLabels();
  }

  /** The stage's box in device pixels. */
  private stageRect(): { x: number; y: number; width: number; height: number } {
    const { scale, offsetX, offsetY } = this;
    return {
      x: Math.round(offsetX - STAGE_HALF_WIDTH * scale),
      y: Math.round(offsetY - STAGE_HALF_DEPTH * scale),
      width: Math.max(1, Math.round(2 * STAGE_HALF_WIDTH * scale)),
      height: Math.max(1, Math.round(2 * STAGE_HALF_DEPTH * scale)),
    };
  }

  /** Section, row and stage labels over the image (labels.ts), for the current zoom. */
  private drawLabels(): void {
    if (!this.labels) return;
    const { scale, offsetX, offsetY, dpr } = this;
    this.labels.draw(this.context, (x, y) => ({ x: offsetX + x * scale, y: offsetY + y * scale }), (this.geometry.pitch * scale) / dpr, dpr, this.stageRect());
  }

  /** Redraws the given seats only. */
  renderSeats(seats: readonly number[], status: Uint8Array, mine: ReadonlySet<number>): void {
    if (!this.image || seats.length === 0) return;
    const { block } = this;
    const category = this.geometry.category;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const visible: number[] = [];
    for (const seat of seats) {
      const bx = this.blockX[seat]!;
      if (bx === OFF_SCREEN) continue;
      const by = this.blockY[seat]!;
      this.fillRect(bx, by, block, block, this.palette.colour(status[seat]!, category[seat]!, mine.has(seat)));
      this.markWheelchair(seat, bx, by);
      visible.push(seat);
      x0 = Math.min(x0, bx);
      y0 = Math.min(y0, by);
      x1 = Math.max(x1, bx + block);
      y1 = Math.max(y1, by + block);
    }
    if (visible.length === 0) return;
    if (visible.length <= MAX_SEPARATE_PUTS) {
      for (const seat of visible) this.context.putImageData(this.image, 0, 0, this.blockX[seat]!, this.blockY[seat]!, block, block);
    } else {
      // a region may cover labels: draw them again
      this.context.putImageData(this.image, 0, 0, x0, y0, x1 - x0, y1 - y0);
      this.drawLabels();
    }
  }

  /** The seat under a point of the canvas (CSS px from its top-left corner), or -1. */
  seatAt(cssX: number, cssY: number): number {
    const vx = (cssX * this.dpr - this.offsetX) / this.scale;
    const vy = (cssY * this.dpr - this.offsetY) / this.scale;
    // forgiving at low zoom (seats of a pixel or two), never wider than half a seat pitch apart
    const radius = Math.max(this.geometry.pitch * 0.6, (4 * this.dpr) / this.scale);
    return this.picker.nearest(vx, vy, radius);
  }

  /** A seat's centre in CSS px from the canvas's top-left corner, or null when off screen. */
  seatCentre(seat: number): { x: number; y: number } | null {
    const bx = this.blockX[seat];
    if (bx === undefined || bx === OFF_SCREEN) return null;
    return { x: (this.offsetX + this.geometry.x[seat]! * this.scale) / this.dpr, y: (this.offsetY + this.geometry.y[seat]! * this.scale) / this.dpr };
  }

  /** A general-admission area's rectangle in CSS px from the canvas's top-left corner (it may reach past the canvas). */
  areaRect(area: number): { x: number; y: number; width: number; height: number } | null {
    const shape = this.geometry.areas?.[area];
    if (!shape) return null;
    const { scale, offsetX, offsetY, dpr } = this;
    return { x: (offsetX + shape.x * scale) / dpr, y: (offsetY + shape.y * scale) / dpr, width: (shape.width * scale) / dpr, height: (shape.height * scale) / dpr };
  }

  /** The colour on the canvas at a seat's centre ('#rrggbb'), read back from the canvas itself. */
  colourAt(seat: number): string | null {
    const centre = this.seatCentre(seat);
    if (!centre) return null;
    const [r, g, b] = this.context.getImageData(Math.floor(centre.x * this.dpr), Math.floor(centre.y * this.dpr), 1, 1).data;
    return `#${[r!, g!, b!].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  }

  private computeFit(): void {
    const { minX, minY, maxX, maxY } = this.bounds;
    const margin = MARGIN_CSS_PX * this.dpr;
    const spanX = Math.max(1e-3, maxX - minX + this.geometry.pitch);
    const spanY = Math.max(1e-3, maxY - minY + this.geometry.pitch);
    this.fitScale = Math.max(1e-6, Math.min((this.width - 2 * margin) / spanX, (this.height - 2 * margin) / spanY));
  }

  private setScale(scale: number): void {
    this.scale = scale;
    // a block fills most of a seat pitch, leaving a visible gap once there is room for one
    const pitchPixels = this.geometry.pitch * scale;
    this.block = Math.max(1, Math.min(64, pitchPixels >= 3 ? Math.floor(pitchPixels * 0.8) : Math.round(pitchPixels)));
  }

  /** A wheelchair space gets a white top-left corner once seats are big enough to show one (the centre keeps the seat's colour). */
  private markWheelchair(seat: number, bx: number, by: number): void {
    if (this.block < 6 || !this.geometry.wheelchair?.[seat]) return;
    const mark = Math.floor(this.block / 3);
    this.fillRect(bx, by, mark, mark, this.wheelchairMark);
  }

  private fillRect(x: number, y: number, w: number, h: number, colour: number): void {
    const x0 = Math.max(0, x), y0 = Math.max(0, y);
    const x1 = Math.min(this.width, x + w), y1 = Math.min(this.height, y + h);
    if (x0 >= x1) return;
    const pixels = this.pixels;
    for (let row = y0; row < y1; row++) pixels.fill(colour, row * this.width + x0, row * this.width + x1);
  }
}
