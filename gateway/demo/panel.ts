/**
 * The page's DOM around the canvas: connection indicator, free seats per
 * category, the legend, and the hold panel (seats and general-admission
 * places with their prices and total, countdown, buttons).
 */
import type { ConnectionChange, HoldInfo, SeatCounts, SeatMapLayout } from '../../core/client/index.js';
import { STATE_COLOURS, WHEELCHAIR_MARK, categoryColour } from './colors.js';

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
}

function swatch(colour: string): HTMLElement {
  const span = document.createElement('span');
  span.className = 'swatch';
  span.style.background = colour;
  return span;
}

function row(cells: (string | Node)[], numeric: boolean[] = []): HTMLTableRowElement {
  const tr = document.createElement('tr');
  cells.forEach((cell, i) => {
    const td = document.createElement('td');
    if (numeric[i]) td.className = 'num';
    td.append(cell);
    tr.append(td);
  });
  return tr;
}

export class ConnectionIndicator {
  private readonly root = element('connection');
  private readonly text = this.root.querySelector('.text') as HTMLElement;

  show(change: ConnectionChange): void {
    this.root.dataset.state = change.state;
    this.text.textContent = describe(change);
  }
}

function describe(change: ConnectionChange): string {
  switch (change.state) {
    case 'idle':
    case 'connecting':
      return change.attempt > 0 ? `Connecting (attempt ${change.attempt + 1})…` : 'Connecting…';
    case 'open':
      return 'Live';
    case 'reconnecting':
      return `Reconnecting in ${((change.delayMs ?? 0) / 1000).toFixed(1)} s…`;
    case 'closed':
      if (change.stopped === 'unauthorized') return 'Signed out: the token was refused';
      if (change.stopped === 'token-expired') return 'Signed out: the token expired';
      return 'Disconnected';
  }
}

/** Free seats per category (and in total), with prices. */
export class CountsTable {
  private readonly body = element('counts').querySelector('tbody')!;
  private readonly cells: HTMLElement[] = [];
  private readonly totalCell: HTMLElement;

  constructor(layout: SeatMapLayout) {
    const money = new Intl.NumberFormat(undefined, { style: 'currency', currency: layout.currency || 'EUR' });
    layout.categories.forEach((category, i) => {
      const label = document.createElement('span');
      label.append(swatch(categoryColour(i)), `${category.label} · ${money.format(category.price / 100)}`);
      const tr = row([label, '–'], [false, true]);
      tr.dataset.category = category.id;
      this.cells.push(tr.lastElementChild as HTMLElement);
      this.body.append(tr);
    });
    const total = row(['All seats', '–'], [false, true]);
    this.totalCell = total.lastElementChild as HTMLElement;
    this.body.append(total);
  }

  show(counts: SeatCounts): void {
    const format = (c: SeatCounts['total']) => `${c.free.toLocaleString()} / ${(c.free + c.held + c.booked + c.blocked).toLocaleString()}`;
    counts.byCategory.forEach((c, i) => {
      const cell = this.cells[i];
      if (cell) cell.textContent = format(c);
    });
    this.totalCell.textContent = format(counts.total);
  }
}

export function renderLegend(layout: SeatMapLayout): void {
  const body = element('legend').querySelector('tbody')!;
  const entries: [string, string][] = [
    ...layout.categories.map((c, i): [string, string] => [categoryColour(i), `Free · ${c.label}`]),
    [STATE_COLOURS.mine, 'Held by you'],
    [STATE_COLOURS.held, 'Held'],
    [STATE_COLOURS.booked, 'Booked'],
    [STATE_COLOURS.blocked, 'Not for sale'],
    [STATE_COLOURS.reserved, 'Reserved for a presale'],
    ...(layout.seats.attrs?.wheelchair?.length ? [[WHEELCHAIR_MARK, 'Wheelchair space (white corner)'] as [string, string]] : []),
  ];
  for (const [colour, label] of entries) {
    const td = document.createElement('td');
    td.append(swatch(colour), label);
    const tr = document.createElement('tr');
    tr.append(td);
    body.append(tr);
  }
}

export interface HoldPanelActions {
  book(): void;
  release(): void;
  extend(): void;
}

/** The page's own holds: their seats, a countdown to the earliest expiry, and the buttons. */
export class HoldPanel {
  private readonly list = element<HTMLOListElement>('hold-seats');
  private readonly total = element('hold-total');
  private readonly countdown = element('countdown');
  private readonly message = element('message');
  private readonly bookButton = element<HTMLButtonElement>('book');
  private readonly releaseButton = element<HTMLButtonElement>('release');
  private readonly extendButton = element<HTMLButtonElement>('extend');
  private holds: HoldInfo[] = [];
  private busy = false;
  private canHold = false;

  constructor(
    actions: HoldPanelActions,
    private readonly labelOf: (seat: number) => string,
    /** a seat's price in minor units, and the formatter of an amount */
    private readonly priceOf: (seat: number) => number = () => 0,
    private readonly money: (minor: number) => string = (minor) => String(minor),
    /** general-admission areas: an area's label and the price of one place */
    private readonly places: { labelOf(area: number): string; priceOf(area: number): number } = { labelOf: (area) => `Area ${area}`, priceOf: () => 0 },
  ) {
    this.bookButton.addEventListener('click', () => actions.book());
    this.releaseButton.addEventListener('click', () => actions.release());
    this.extendButton.addEventListener('click', () => actions.extend());
    setInterval(() => this.tick(), 250);
  }

  setCanHold(canHold: boolean): void {
    this.canHold = canHold;
    this.update();
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.update();
  }

  show(holds: HoldInfo[]): void {
    this.holds = holds.filter((h) => h.seats.length > 0 || (h.ga?.length ?? 0) > 0);
    const item = (text: string, minor: number) => {
      const li = document.createElement('li');
      const price = document.createElement('span');
      price.className = 'price';
      price.textContent = this.money(minor);
      li.append(price, text);
      return li;
    };
    this.list.replaceChildren(
      ...this.holds.flatMap((h) => [
        ...h.seats.map((seat) => {
          const li = item(this.labelOf(seat), this.priceOf(seat));
          li.dataset.seat = String(seat);
          return li;
        }),
        ...(h.ga ?? []).map(([area, qty]) => {
          const li = item(`${this.places.labelOf(area)} × ${qty}`, qty * this.places.priceOf(area));
          li.dataset.area = String(area);
          return li;
        }),
      ]),
    );
    const seats = this.holds.flatMap((h) => h.seats);
    const placesTotal = this.holds.flatMap((h) => h.ga ?? []).reduce((sum, [area, qty]) => sum + qty * this.places.priceOf(area), 0);
    const any = seats.length > 0 || this.holds.some((h) => (h.ga?.length ?? 0) > 0);
    this.total.textContent = any ? `Total ${this.money(seats.reduce((sum, seat) => sum + this.priceOf(seat), 0) + placesTotal)}` : '';
    this.update();
  }

  say(text: string, kind: 'info' | 'ok' | 'error' = 'info'): void {
    this.message.textContent = text;
    this.message.dataset.kind = kind;
  }

  private update(): void {
    const any = this.holds.length > 0;
    this.bookButton.disabled = this.releaseButton.disabled = this.extendButton.disabled = !any || this.busy || !this.canHold;
    this.tick();
  }

  private tick(): void {
    if (this.holds.length === 0) {
      this.countdown.textContent = this.canHold ? '' : 'View only';
      this.countdown.classList.remove('urgent');
      return;
    }
    const expiresAt = Math.min(...this.holds.map((h) => h.expiresAt));
    const left = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
    this.countdown.textContent = `Held for ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    this.countdown.classList.toggle('urgent', left <= 60);
  }
}
