/**
 * Text on the seat map, drawn over the seats after each full render: the
 * stage's name, section names while seats are small (at the fit and below),
 * row labels once a row's seats are big enough to tell apart. Placed beside
 * the seats, never on them, so a seat's colour stays what its state says.
 */
import type { SeatMapLayout } from '../../core/client/index.js';

/** a row label needs seats at least this wide (CSS px); section names show below it */
const ROW_LABELS_FROM_PX = 9;
const SECTION_LABELS_BELOW_PX = 14;

interface Placed {
  text: string;
  x: number;
  y: number;
}

export class VenueLabels {
  private readonly sections: Placed[] = [];
  private readonly rows: Placed[] = [];

  constructor(layout: SeatMapLayout, pitch: number) {
    const { x, y } = layout.seats;
    const bounds = layout.sections.map(() => ({ minX: Infinity, maxX: -Infinity, minY: Infinity }));
    for (const row of layout.rows) {
      const b = bounds[row.section]!;
      for (let s = row.first; s < row.first + row.count; s++) {
        b.minX = Math.min(b.minX, x[s]!);
        b.maxX = Math.max(b.maxX, x[s]!);
        b.minY = Math.min(b.minY, y[s]!);
      }
      // the row's label one pitch before its first seat, along the row
      const first = row.first;
      const second = row.count > 1 ? first + 1 : first;
      const dx = x[second]! - x[first]!, dy = y[second]! - y[first]!;
      const length = Math.hypot(dx, dy) || 1;
      this.rows.push({ text: row.label, x: x[first]! - (dx / length) * pitch * 1.2, y: y[first]! - (dy / length) * pitch * 1.2 });
    }
    layout.sections.forEach((section, i) => {
      const b = bounds[i]!;
      if (b.minX !== Infinity) this.sections.push({ text: section.label, x: (b.minX + b.maxX) / 2, y: b.minY - pitch * 1.5 });
    });
  }

  /**
   * Draws the labels for the current view. `project` maps venue coordinates
   * to device pixels; `pitchCss` is a seat pitch in CSS px.
   */
  draw(context: CanvasRenderingContext2D, project: (x: number, y: number) => { x: number; y: number }, pitchCss: number, dpr: number, stage: { x: number; y: number; width: number; height: number }): void {
    context.save();
    context.textAlign = 'center';
    context.textBaseline = 'middle';
    // the stage: dark text on the light box, when the box has room for it
    if (stage.width > 40 * dpr && stage.height > 10 * dpr) {
      context.fillStyle = '#0f1419';
      context.font = `600 ${Math.min(stage.height * 0.6, 16 * dpr)}px system-ui, sans-serif`;
      context.fillText('STAGE', stage.x + stage.width / 2, stage.y + stage.height / 2);
    }
    context.fillStyle = '#e6e9ee';
    if (pitchCss < SECTION_LABELS_BELOW_PX) {
      context.font = `600 ${12 * dpr}px system-ui, sans-serif`;
      for (const s of this.sections) {
        const p = project(s.x, s.y);
        context.fillText(s.text, p.x, p.y);
      }
    }
    if (pitchCss >= ROW_LABELS_FROM_PX) {
      context.fillStyle = '#b8c1cc';
      context.font = `${Math.min(11, pitchCss * 0.6) * dpr}px system-ui, sans-serif`;
      const { width, height } = context.canvas;
      for (const r of this.rows) {
        const p = project(r.x, r.y);
        if (p.x >= 0 && p.y >= 0 && p.x <= width && p.y <= height) context.fillText(r.text, p.x, p.y);
      }
    }
    context.restore();
  }
}
