/**
 * The event's geometry as the seat scripts read it: one binary string per
 * event (key `geometry`), written with the event, that tells a script which
 * seats share a row, how good each seat is, its category and attributes, and
 * the event's orphan policy and accessible-seat protection. Fixed-width
 * little-endian records, read with GETRANGE and `struct.unpack`
 * (includes/geometry.lua), so a script reads only the rows it touches.
 *
 *   header, 32 bytes:  u8 version (1), u8 orphan policy (0 off, 1 lenient,
 *                      2 strict), u8 companions per wheelchair seat, u8 1 when
 *                      every section's rows come in the order of their best
 *                      rank (best available then walks sections, not all rows),
 *                      u32 seats, u32 rows, u32 ids offset, u32 ids length,
 *                      f64 protectUntil (epoch ms, 0 = none), u32 0
 *   rows, 16 bytes each:   u32 first seat, u32 seats, u32 section, u32 best rank
 *   order, 20 bytes each:  the rows by best rank, best first: u32 row, u32 first
 *                          seat, u32 seats, u32 section, u32 best rank (a copy
 *                          of its record, so a walk in this order reads one table)
 *   seats, 12 bytes each:  u32 rank, u32 row, u16 category, u8 attribute bits, u8 0
 *   ranks, 3 bytes each:   the seats' ranks again, u24, so that best available
 *                          reads one small table (a row's ranks in one GETRANGE)
 *   sections, 8 bytes each: u32 first seat, u32 seats (a section's rows are contiguous)
 *   ids: JSON {"c": [category ids], "s": [section ids]} (their index is the number above)
 */

export const GEOMETRY_VERSION = 1;
export const GEOMETRY_HEADER_BYTES = 32;
export const GEOMETRY_ROW_BYTES = 16;
export const GEOMETRY_SEAT_BYTES = 12;
export const GEOMETRY_ORDER_BYTES = 20;
export const GEOMETRY_RANK_BYTES = 3;
export const ORPHAN_POLICY_CODES = { off: 0, lenient: 1, strict: 2 } as const;

/** What the encoder needs of a compiled layout (core/layout's CompiledLayout has all of it). */
export interface GeometrySource {
  seatCount: number;
  rowStart: Uint32Array;
  rows: readonly { section: number }[];
  sections: readonly { id: string }[];
  categories: readonly { id: string }[];
  seatCategory: Uint16Array;
  seatRank: Uint32Array;
  seatAttrs: Uint8Array;
  selection: {
    orphanPolicy: keyof typeof ORPHAN_POLICY_CODES;
    accessible: { protectUntil: number | null; maxCompanionsPerWheelchair: number };
  };
}

/** The encoded geometry, as `createEvent` stores it. */
export interface EventGeometry {
  readonly bytes: Buffer;
}

export function encodeGeometry(source: GeometrySource): EventGeometry {
  const { seatCount, rowStart, rows } = source;
  const rowCount = rows.length;
  const ids = Buffer.from(JSON.stringify({ c: source.categories.map((c) => c.id), s: source.sections.map((s) => s.id) }));
  const rowsAt = GEOMETRY_HEADER_BYTES;
  const orderAt = rowsAt + rowCount * GEOMETRY_ROW_BYTES;
  const seatsAt = orderAt + rowCount * GEOMETRY_ORDER_BYTES;
  const ranksAt = seatsAt + seatCount * GEOMETRY_SEAT_BYTES;
  const sectionsAt = ranksAt + seatCount * GEOMETRY_RANK_BYTES;
  const idsAt = sectionsAt + source.sections.length * 8;
  const bytes = Buffer.alloc(idsAt + ids.length);

  bytes.writeUInt8(GEOMETRY_VERSION, 0);
  bytes.writeUInt8(ORPHAN_POLICY_CODES[source.selection.orphanPolicy], 1);
  bytes.writeUInt8(source.selection.accessible.maxCompanionsPerWheelchair, 2);
  bytes.writeUInt32LE(seatCount, 4);
  bytes.writeUInt32LE(rowCount, 8);
  bytes.writeUInt32LE(idsAt, 12);
  bytes.writeUInt32LE(ids.length, 16);
  bytes.writeDoubleLE(source.selection.accessible.protectUntil ?? 0, 20);
  bytes.writeUInt32LE(source.sections.length, 28);
  const sectionFirst = new Array<number>(source.sections.length).fill(-1);
  const sectionEnd = new Array<number>(source.sections.length).fill(0);
  for (let r = 0; r < rowCount; r++) {
    const section = rows[r]!.section;
    if (sectionFirst[section] === -1) sectionFirst[section] = rowStart[r]!;
    sectionEnd[section] = rowStart[r + 1]!;
  }
  sectionFirst.forEach((first, section) => {
    bytes.writeUInt32LE(Math.max(0, first), sectionsAt + section * 8);
    bytes.writeUInt32LE(first < 0 ? 0 : sectionEnd[section]! - first, sectionsAt + section * 8 + 4);
  });

  const bestRank = new Uint32Array(rowCount);
  for (let r = 0; r < rowCount; r++) {
    let best = 0xffffffff;
    for (let seat = rowStart[r]!; seat < rowStart[r + 1]!; seat++) best = Math.min(best, source.seatRank[seat]!);
    bestRank[r] = best;
    const at = rowsAt + r * GEOMETRY_ROW_BYTES;
    bytes.writeUInt32LE(rowStart[r]!, at);
    bytes.writeUInt32LE(rowStart[r + 1]! - rowStart[r]!, at + 4);
    bytes.writeUInt32LE(rows[r]!.section, at + 8);
    bytes.writeUInt32LE(best, at + 12);
    for (let seat = rowStart[r]!; seat < rowStart[r + 1]!; seat++) {
      const s = seatsAt + seat * GEOMETRY_SEAT_BYTES;
      bytes.writeUInt32LE(source.seatRank[seat]!, s);
      bytes.writeUInt32LE(r, s + 4);
      bytes.writeUInt16LE(source.seatCategory[seat]!, s + 8);
      bytes.writeUInt8(source.seatAttrs[seat]!, s + 10);
      bytes.writeUIntLE(source.seatRank[seat]!, ranksAt + seat * GEOMETRY_RANK_BYTES, GEOMETRY_RANK_BYTES);
    }
  }
  let monotone = true;
  for (let r = 1; r < rowCount; r++) if (rows[r]!.section === rows[r - 1]!.section && bestRank[r]! < bestRank[r - 1]!) monotone = false;
  bytes.writeUInt8(monotone ? 1 : 0, 3);
  const order = Array.from({ length: rowCount }, (_, r) => r).sort((a, b) => bestRank[a]! - bestRank[b]! || a - b);
  order.forEach((r, k) => {
    const at = orderAt + k * GEOMETRY_ORDER_BYTES;
    bytes.writeUInt32LE(r, at);
    bytes.copy(bytes, at + 4, rowsAt + r * GEOMETRY_ROW_BYTES, rowsAt + (r + 1) * GEOMETRY_ROW_BYTES);
  });
  ids.copy(bytes, idsAt);
  return { bytes };
}
