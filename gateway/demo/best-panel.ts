/**
 * The "best available" panel of the demo page: how many seats, of which
 * category, and a button that asks the server to pick and hold them
 * (client.holdBest), as a box office would. What happened is said in the
 * hold panel's message line.
 */
import type { SeatMapLayout } from '../../core/client/index.js';

/** The most seats the picker offers (the event's own limit may be lower; the server says so). */
const MAX_QUANTITY = 8;

export interface BestPanelActions {
  bestAvailable(n: number, category: string | null): void;
}

export class BestPanel {
  private readonly quantity = document.getElementById('best-n') as HTMLSelectElement;
  private readonly category = document.getElementById('best-category') as HTMLSelectElement;
  private readonly button = document.getElementById('best') as HTMLButtonElement;
  private canHold = false;
  private busy = false;

  constructor(layout: SeatMapLayout, actions: BestPanelActions) {
    for (let n = 1; n <= MAX_QUANTITY; n++) this.quantity.append(new Option(`${n} ${n === 1 ? 'seat' : 'seats'}`, String(n), n === 2, n === 2));
    for (const c of layout.categories) this.category.append(new Option(c.label, c.id));
    this.button.addEventListener('click', () => actions.bestAvailable(Number(this.quantity.value), this.category.value || null));
    this.update();
  }

  setCanHold(canHold: boolean): void {
    this.canHold = canHold;
    this.update();
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.update();
  }

  private update(): void {
    this.button.disabled = !this.canHold || this.busy;
  }
}
