/**
 * General-admission areas on the demo page: each area drawn over the map
 * (a button placed on its rectangle from the layout's `shape`, following
 * zoom and pan) with the places it has left, live from the SDK's `areas`
 * counters; and the "Standing areas" panel: per area what is left, the
 * places you hold, a quantity and a Hold button. Clicking an area on the
 * map picks it in the panel. What happened is said in the hold panel's
 * message line.
 */
import type { AreaCounts, SeatMapLayout } from '../../core/client/index.js';
import { categoryColour } from './colors.js';

/** The most places the quantity picker offers (the event's own limits may be lower; the server says so). */
const MAX_QUANTITY = 8;

export interface GaPanelActions {
  hold(area: number, qty: number): void;
}

type AreaRect = { x: number; y: number; width: number; height: number };

export class GaPanel {
  private readonly section = document.getElementById('ga-panel') as HTMLElement;
  private readonly body = document.getElementById('ga-areas')!.querySelector('tbody')!;
  private readonly overlay = document.getElementById('ga-overlay') as HTMLElement;
  private readonly marks: HTMLButtonElement[] = [];
  private readonly leftCells: HTMLElement[] = [];
  private readonly mineCells: HTMLElement[] = [];
  private readonly quantities: HTMLSelectElement[] = [];
  private readonly buttons: HTMLButtonElement[] = [];
  private counts: AreaCounts[] = [];
  private canHold = false;
  private busy = false;

  constructor(
    private readonly layout: SeatMapLayout,
    actions: GaPanelActions,
    private readonly money: (minor: number) => string,
  ) {
    const areas = layout.areas ?? [];
    this.section.hidden = areas.length === 0;
    areas.forEach((area, i) => {
      const mark = document.createElement('button');
      mark.className = 'ga-area';
      mark.dataset.area = String(i);
      mark.style.setProperty('--area-colour', categoryColour(area.category));
      mark.title = `${area.label}: general admission, pick a quantity in the panel`;
      mark.addEventListener('click', () => this.pick(i));
      this.overlay.append(mark);
      this.marks.push(mark);

      const tr = document.createElement('tr');
      tr.dataset.area = String(i);
      const name = document.createElement('td');
      const price = layout.categories[area.category]?.price ?? 0;
      name.textContent = `${area.label} · ${money(price)}`;
      const left = document.createElement('td');
      left.className = 'num ga-left';
      left.textContent = '–';
      const mine = document.createElement('td');
      mine.className = 'num ga-mine';
      const pickCell = document.createElement('td');
      const qty = document.createElement('select');
      qty.className = 'ga-qty';
      qty.setAttribute('aria-label', `Places in ${area.label}`);
      for (let n = 1; n <= MAX_QUANTITY; n++) qty.append(new Option(String(n), String(n), n === 2, n === 2));
      const hold = document.createElement('button');
      hold.className = 'primary ga-hold';
      hold.textContent = 'Hold';
      hold.disabled = true;
      hold.addEventListener('click', () => actions.hold(i, Number(qty.value)));
      pickCell.append(qty, ' ', hold);
      tr.append(name, left, mine, pickCell);
      this.body.append(tr);
      this.leftCells.push(left);
      this.mineCells.push(mine);
      this.quantities.push(qty);
      this.buttons.push(hold);
    });
  }

  /** The label of an area, e.g. "Standing". */
  labelOf(area: number): string {
    return this.layout.areas?.[area]?.label ?? `Area ${area}`;
  }

  /** The price of one place of the area, minor units. */
  priceOf(area: number): number {
    const category = this.layout.areas?.[area]?.category;
    return category === undefined ? 0 : (this.layout.categories[category]?.price ?? 0);
  }

  /** The counters as the SDK keeps them (a snapshot's or a diff's). */
  showCounts(counts: readonly AreaCounts[]): void {
    this.counts = [...counts];
    for (const c of counts) {
      const capacity = this.layout.areas?.[c.area]?.capacity ?? 0;
      const text = `${c.free.toLocaleString('en-US')} left`;
      const cell = this.leftCells[c.area];
      if (cell) cell.textContent = `${c.free.toLocaleString('en-US')} / ${capacity.toLocaleString('en-US')}`;
      const mark = this.marks[c.area];
      if (mark) {
        mark.textContent = `${this.labelOf(c.area)} · ${text}`;
        mark.dataset.left = String(c.free);
        mark.classList.toggle('sold-out', c.free === 0);
      }
    }
    this.update();
  }

  /** The places the page holds, per area. */
  showMine(places: ReadonlyMap<number, number>): void {
    this.mineCells.forEach((cell, area) => {
      const n = places.get(area) ?? 0;
      cell.textContent = n > 0 ? `yours: ${n}` : '';
    });
  }

  /** Places the area marks on the map; called after every full render (zoom, pan, resize). */
  place(rectOf: (area: number) => AreaRect | null): void {
    this.marks.forEach((mark, area) => {
      const r = rectOf(area);
      mark.hidden = !r;
      if (!r) return;
      mark.style.left = `${r.x}px`;
      mark.style.top = `${r.y}px`;
      mark.style.width = `${Math.max(2, r.width)}px`;
      mark.style.height = `${Math.max(2, r.height)}px`;
      // the text only where it fits
      mark.classList.toggle('small', r.height < 18 || r.width < 90);
    });
  }

  setCanHold(canHold: boolean): void {
    this.canHold = canHold;
    this.update();
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.update();
  }

  /** Picks an area in the panel: its quantity gets the focus. */
  private pick(area: number): void {
    this.quantities[area]?.focus();
    this.body.querySelectorAll('tr').forEach((tr) => tr.classList.toggle('picked', tr.dataset.area === String(area)));
  }

  private update(): void {
    this.buttons.forEach((button, area) => {
      const free = this.counts.find((c) => c.area === area)?.free ?? 0;
      button.disabled = !this.canHold || this.busy || free === 0;
    });
  }
}
