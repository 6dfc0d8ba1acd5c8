/**
 * The orphan rule and best available as the model-based tests see them: a
 * plain TypeScript reading of docs/store.md (#orphan-seats, #best-available),
 * independent of the Lua code. Rows are index ranges [start, start + count).
 */
import type { OrphanPolicy } from '../../core/layout/index.js';
import { FREE, type ModelRefusal } from './seat-model.js';

export interface ModelRow {
  start: number;
  count: number;
}

/** The orphans of the whole map: free seats whose row neighbours are both not free or the row's end. */
export function orphansOf(status: readonly number[], rows: readonly ModelRow[]): Set<number> {
  const set = new Set<number>();
  for (const { start, count } of rows) {
    for (let i = start; i < start + count; i++) {
      const free = (k: number) => k >= start && k < start + count && status[k] === FREE;
      if (free(i) && !free(i - 1) && !free(i + 1)) set.add(i);
    }
  }
  return set;
}

function stranded(before: readonly number[], after: readonly number[], rows: readonly ModelRow[]): number[] {
  const was = orphansOf(before, rows);
  return [...orphansOf(after, rows)].filter((s) => !was.has(s)).sort((a, b) => a - b);
}

/** The ORPHAN_SEAT refusal of a change under `policy`, or undefined (`fresh` taken, `freed` freed). */
export function orphanRefusal(
  policy: OrphanPolicy,
  status: readonly number[],
  rows: readonly ModelRow[],
  fresh: readonly number[],
  freed: readonly number[],
): ModelRefusal | undefined {
  if (policy === 'off') return undefined;
  const rowOf = (seat: number) => rows.find((r) => seat >= r.start && seat < r.start + r.count)!;
  const touched = new Set([...fresh, ...freed].map(rowOf));
  const out: number[] = [];
  for (const row of touched) {
    const only = [row];
    const before = [...status];
    const after = [...status];
    for (const s of freed) if (rowOf(s) === row) after[s] = FREE;
    let taken = 0;
    for (const s of fresh) {
      if (rowOf(s) !== row) continue;
      if (status[s] === FREE) taken++;
      after[s] = 1;
    }
    const strandedHere = stranded(before, after, only);
    if (strandedHere.length === 0) continue;
    if (policy === 'lenient' && taken > 0) {
      // refused only if some block of `taken` seats, free before or freed, strands none
      const base = [...status];
      for (const s of freed) if (rowOf(s) === row) base[s] = FREE;
      let alternative = false;
      for (let b = row.start; b + taken <= row.start + row.count && !alternative; b++) {
        const block = Array.from({ length: taken }, (_, i) => b + i);
        if (!block.every((s) => base[s] === FREE)) continue;
        const alt = [...base];
        for (const s of block) alt[s] = 1;
        alternative = stranded(before, alt, only).length === 0;
      }
      if (!alternative) continue;
    }
    out.push(...strandedHere);
  }
  out.sort((a, b) => a - b);
  return out.length > 0 ? { ok: false, code: 'ORPHAN_SEAT', seats: out } : undefined;
}

/** Whether best available must find n adjacent seats: a free block of n in a row (under strict: one that strands none). */
export function blockExists(policy: OrphanPolicy, status: readonly number[], rows: readonly ModelRow[], n: number): boolean {
  for (const row of rows) {
    for (let b = row.start; b + n <= row.start + row.count; b++) {
      const block = Array.from({ length: n }, (_, i) => b + i);
      if (!block.every((s) => status[s] === FREE)) continue;
      if (policy !== 'strict') return true;
      const after = [...status];
      for (const s of block) after[s] = 1;
      if (stranded(status, after, [row]).length === 0) return true;
    }
  }
  return false;
}

/** The longest run of free seats in a row: NO_BLOCK's `largest` for a request without filters. */
export function largestRun(status: readonly number[], rows: readonly ModelRow[]): number {
  let largest = 0;
  for (const { start, count } of rows) {
    let run = 0;
    for (let i = start; i < start + count; i++) {
      run = status[i] === FREE ? run + 1 : 0;
      largest = Math.max(largest, run);
    }
  }
  return largest;
}
