/** Decoding of change-log stream entries. */
import { decode } from '@msgpack/msgpack';

export type ChangeOp = 'hold' | 'release' | 'swap' | 'expire' | 'book' | 'checkout' | 'block' | 'unblock' | 'cancel' | 'fail' | 'unpaid' | 'void' | 'channel';

export interface ChangeEntry {
  readonly seq: number;
  readonly op: ChangeOp;
  /** [seat, state, seat, state, ...], to be applied in order */
  readonly changes: number[];
  /** when the operation was applied (ms) */
  readonly at: number;
  /** the event's epoch when the entry was written */
  readonly epoch?: number;
  /**
   * [area, free, held, booked, ...]: the final counters of every general-admission
   * area the operation moved (absent when it moved none)
   */
  readonly ga?: number[];
}

type RawStreamEntry = [Buffer, Buffer[]];

export function decodeChangeEntry([id, fields]: RawStreamEntry): ChangeEntry {
  const seq = Number(id.toString('latin1').split('-', 1)[0]);
  let op = '';
  let changes: number[] = [];
  let at = 0;
  let epoch: number | undefined;
  let ga: number[] | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString('latin1');
    const value = fields[i + 1]!;
    if (name === 'op') op = value.toString('latin1');
    else if (name === 'ch') changes = decodeChanges(value);
    else if (name === 'at') at = Number(value.toString('latin1'));
    else if (name === 'ep') epoch = Number(value.toString('latin1'));
    else if (name === 'ga') ga = decodeChanges(value);
  }
  const entry = epoch === undefined ? { seq, op: op as ChangeOp, changes, at } : { seq, op: op as ChangeOp, changes, at, epoch };
  return ga === undefined || ga.length === 0 ? entry : { ...entry, ga };
}

function decodeChanges(packed: Buffer): number[] {
  const value = decode(packed);
  // Lua's cmsgpack packs an empty table as a map.
  return Array.isArray(value) ? (value as number[]) : [];
}

/** Applies an entry's area counters ([area, free, held, booked, ...]) to a map of area -> [free, held, booked]. */
export function applyAreaChanges(areas: Map<number, [number, number, number]>, ga: readonly number[] | undefined): void {
  if (!ga) return;
  for (let i = 0; i + 3 < ga.length; i += 4) areas.set(ga[i]!, [ga[i + 1]!, ga[i + 2]!, ga[i + 3]!]);
}

/** Applies an entry's changes to a status array, in order. */
export function applyChanges(status: Uint8Array, changes: readonly number[]): void {
  for (let i = 0; i + 1 < changes.length; i += 2) status[changes[i]!] = changes[i + 1]!;
}
