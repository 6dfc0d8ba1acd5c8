/**
 * Finds the seat under a point: seats bucketed into a uniform grid in venue
 * coordinates (built once per layout), so a lookup scans a few cells instead
 * of every seat.
 */

export class SeatPicker {
  private readonly minX: number;
  private readonly minY: number;
  private readonly columns: number;
  private readonly rows: number;
  /** seats of cell c are cellSeats[cellStart[c] .. cellStart[c + 1]) */
  private readonly cellStart: Int32Array;
  private readonly cellSeats: Int32Array;

  constructor(
    private readonly x: Float32Array,
    private readonly y: Float32Array,
    private readonly cellSize = 1,
  ) {
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0; i < x.length; i++) {
      minX = Math.min(minX, x[i]!);
      maxX = Math.max(maxX, x[i]!);
      minY = Math.min(minY, y[i]!);
      maxY = Math.max(maxY, y[i]!);
    }
    if (x.length === 0) minX = minY = maxX = maxY = 0;
    this.minX = minX;
    this.minY = minY;
    this.columns = Math.floor((maxX - minX) / cellSize) + 1;
    this.rows = Math.floor((maxY - minY) / cellSize) + 1;
    // counting sort of seats by cell
    const cellOf = new Int32Array(x.length);
    const cellStart = new Int32Array(this.columns * this.rows + 1);
    for (let i = 0; i < x.length; i++) {
      const c = this.cell(x[i]!, y[i]!);
      cellOf[i] = c;
      cellStart[c + 1]!++;
    }
    for (let c = 0; c < this.columns * this.rows; c++) cellStart[c + 1]! += cellStart[c]!;
    const fill = cellStart.slice(0, -1);
    const cellSeats = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) cellSeats[fill[cellOf[i]!]!++] = i;
    this.cellStart = cellStart;
    this.cellSeats = cellSeats;
  }

  /** The seat nearest to (px, py) within `radius` (venue units), or -1. */
  nearest(px: number, py: number, radius: number): number {
    const { cellSize, columns, rows } = this;
    const c0 = Math.max(0, Math.floor((px - radius - this.minX) / cellSize));
    const c1 = Math.min(columns - 1, Math.floor((px + radius - this.minX) / cellSize));
    const r0 = Math.max(0, Math.floor((py - radius - this.minY) / cellSize));
    const r1 = Math.min(rows - 1, Math.floor((py + radius - this.minY) / cellSize));
    let best = -1;
    let bestDistance = radius * radius;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * columns + c;
        for (let k = this.cellStart[cell]!; k < this.cellStart[cell + 1]!; k++) {
          const seat = this.cellSeats[k]!;
          const dx = this.x[seat]! - px;
          const dy = this.y[seat]! - py;
          const d = dx * dx + dy * dy;
          if (d <= bestDistance) {
            bestDistance = d;
            best = seat;
          }
        }
      }
    }
    return best;
  }

  private cell(px: number, py: number): number {
    const c = Math.min(this.columns - 1, Math.floor((px - this.minX) / this.cellSize));
    const r = Math.min(this.rows - 1, Math.floor((py - this.minY) / this.cellSize));
    return r * this.columns + c;
  }
}
