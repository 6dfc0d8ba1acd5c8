/**
 * The typed registry of Lua scripts. Each entry names its keys (fields of the
 * key builder's output) and its arguments in the order the script reads them;
 * the script file is `lua/<name>-<keys.length>.lua`, and the loader refuses a
 * registry entry whose file does not exist.
 */
import type { EventKeys, GlobalKeys } from './keys.js';

/** `subjectConnections`: one JWT subject's connection slots (keys.ts, subjectConnectionsKey) */
export type KeyName = keyof EventKeys | keyof GlobalKeys | 'subjectConnections';

export interface ScriptDef<K extends readonly KeyName[] = readonly KeyName[], A extends readonly string[] = readonly string[]> {
  readonly name: string;
  readonly keys: K;
  readonly args: A;
}

function script<const K extends readonly KeyName[], const A extends readonly string[]>(
  name: string,
  keys: K,
  args: A,
): ScriptDef<K, A> {
  return { name, keys, args };
}

/** The keys a script call needs, by name. */
export type ScriptKeys<S extends ScriptDef> = { readonly [P in S['keys'][number]]: string };
/** The arguments a script call needs, by name. */
export type ScriptArgs<S extends ScriptDef> = { readonly [P in S['args'][number]]: string | number | Buffer };

const seatOpKeys = ['meta', 'status', 'seatHolds', 'tokens', 'expiry', 'holders', 'log'] as const;
/** The on-sale gate (lua/includes/gate.lua), appended after each gated script's own keys and arguments. */
const holdGateKeys = ['rate', 'queue', 'admitted'] as const;
const gateArgs = ['exempt', 'ratePerSec', 'rateBurst'] as const;
const bestArgs = ['now', 'holder', 'token', 'create', 'n', 'categories', 'sections', 'together', 'accessibleSeats', 'seed', 'accessible'] as const;

export const SCRIPTS = {
  createEvent: script(
    'createEvent',
    ['meta', 'status', 'layout', 'seatHolds', 'tokens', 'expiry', 'holders', 'log', 'bookings', 'geometry'],
    ['seatCount', 'epoch', 'holdTtlMs', 'maxHoldLifetimeMs', 'maxSeatsPerToken', 'maxSeatsPerHolder', 'logMaxLen', 'layoutJson', 'now', 'status', 'bookingRecords', 'paymentWindowMs', 'geometry', 'areas', 'areasBooked', 'areasBlocked', 'channels'],
  ),
  hold: script('hold', [...seatOpKeys, 'outbox', 'geometry', ...holdGateKeys], ['now', 'holder', 'token', 'create', 'seats', 'accessible', ...gateArgs, 'ga', 'chan']),
  holdIndexed: script('holdIndexed', [...seatOpKeys, 'outbox', 'sweepIndex', 'geometry', ...holdGateKeys], ['now', 'holder', 'token', 'create', 'seats', 'eventId', 'accessible', ...gateArgs, 'ga', 'chan']),
  holdBest: script('holdBest', [...seatOpKeys, 'outbox', 'geometry', ...holdGateKeys], [...bestArgs, ...gateArgs]),
  holdBestIndexed: script('holdBestIndexed', [...seatOpKeys, 'outbox', 'geometry', 'sweepIndex', ...holdGateKeys], [...bestArgs, 'eventId', ...gateArgs]),
  swap: script('swap', [...seatOpKeys, 'outbox', 'geometry', ...holdGateKeys], ['now', 'holder', 'token', 'release', 'hold', 'accessible', ...gateArgs, 'chan']),
  release: script('release', [...seatOpKeys, 'geometry', 'rate'], ['now', 'holder', 'token', 'seats', ...gateArgs, 'ga']),
  extend: script('extend', ['meta', 'tokens', 'expiry', 'rate'], ['now', 'holder', 'token', ...gateArgs]),
  extendTo: script('extendTo', [...seatOpKeys, 'rate'], ['now', 'holder', 'token', 'ms', ...gateArgs]),
  expire: script('expire', [...seatOpKeys, 'outbox'], ['now', 'limit']),
  book: script('book', [...seatOpKeys, 'outbox', 'bookings'], ['now', 'holder', 'token', 'key', 'bookingId']),
  checkout: script('checkout', [...seatOpKeys, 'outbox', 'bookings'], ['now', 'holder', 'token', 'key', 'bookingId', 'defaultPaymentWindowMs']),
  releaseBooking: script('releaseBooking', ['meta', 'status', 'log', 'bookings'], ['now', 'key', 'bookingId', 'seats', 'final', 'op']),
  voidBooking: script(
    'voidBooking',
    ['meta', 'status', 'log', 'bookings', 'outbox', 'deadLetters'],
    ['now', 'group', 'entry', 'seats', 'answer', 'error', 'code', 'consumer'],
  ),
  block: script('block', ['meta', 'status', 'log'], ['now', 'seats', 'ga']),
  unblock: script('unblock', ['meta', 'status', 'log'], ['now', 'seats', 'ga']),
  blockBulk: script('blockBulk', ['meta', 'status', 'log'], ['now', 'seats']),
  unblockBulk: script('unblockBulk', ['meta', 'status', 'log'], ['now', 'seats']),
  bookFree: script('bookFree', ['meta', 'status', 'log', 'outbox', 'bookings'], ['now', 'holder', 'key', 'bookingId', 'seats', 'ga']),
  channelPut: script('channelPut', ['meta', 'status', 'log'], ['now', 'key', 'seats', 'releaseAt']),
  channelRelease: script('channelRelease', ['meta', 'status', 'log'], ['now', 'key', 'releaseAt']),
  snapshot: script('snapshot', ['meta', 'status'], []),
  sweepTouch: script('sweepTouch', ['sweepIndex'], ['eventId', 'dueAt']),
  sweepClaim: script('sweepClaim', ['sweepIndex'], ['now', 'leaseEnd', 'limit']),
  sweepSettle: script('sweepSettle', ['sweepIndex'], ['eventId', 'leaseEnd', 'nextExpiry']),
  bumpEpoch: script('bumpEpoch', ['meta'], ['epoch']),
  takeLease: script('takeLease', ['lease'], ['holder', 'ttlMs']),
  dropLease: script('dropLease', ['lease'], ['holder']),
  queueConfigure: script('queueConfigure', ['meta', 'queue'], ['now', 'settings']),
  queueJoin: script('queueJoin', ['meta', 'queue', 'waiting', 'admitted'], ['now', 'subject', 'draw']),
  queueAdvance: script('queueAdvance', ['meta', 'status', 'queue', 'waiting', 'admitted'], ['now', 'node', 'leaseMs']),
  queuePlaces: script('queuePlaces', ['queue', 'waiting', 'admitted'], ['now', 'subjects']),
  connectionAcquire: script('connectionAcquire', ['subjectConnections'], ['now', 'leaseMs', 'most', 'member']),
  connectionRenew: script('connectionRenew', ['subjectConnections'], ['now', 'leaseMs', 'members']),
} as const;

export type ScriptName = keyof typeof SCRIPTS;

export function scriptFileName(def: ScriptDef): string {
  return `${def.name}-${def.keys.length}.lua`;
}
