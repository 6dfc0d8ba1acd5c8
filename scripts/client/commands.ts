/**
 * The terminal client's commands, the same in one-shot and interactive mode:
 * each turns words (`hold demo 1 2`) into a protocol v1 request, or says what
 * is wrong with them.
 */
import { newIdempotencyKey } from '../../core/client/operations.js';
import type { RequestBody } from './connection.js';

export const COMMAND_HELP = `commands:
  sub <ev> [epoch seq]          watch an event: its snapshot (or the diffs since epoch+seq), then every diff, as JSON lines
  unsub <ev>                    stop watching it
  hold <ev> <seat>... [--tok T] hold seats (with --tok: add them to that hold)
  release <ev> <tok> [seat]...  release seats of a hold (all of them without seats)
  extend <ev> <tok>             extend a hold
  book <ev> <tok> [--key K]     book a hold (K: the idempotency key; a new one by default)
  sell <ev> <seat>... [--key K] box office (scope seats:box-office): book free seats directly, without a hold
  ping                          round trip
hold, release and sell take --ga A:Q[,A:Q...]: Q places of general-admission area A, beside the seats or instead of them`;

export type Parsed = { ok: true; body: RequestBody } | { ok: false; problem: string };

const INTEGER = /^-?\d+$/;

function seatsOf(words: string[]): number[] | string {
  const bad = words.filter((w) => !INTEGER.test(w));
  return bad.length > 0 ? `seat indexes must be integers, not ${bad.join(' ')}` : words.map(Number);
}

/** `--ga 0:2,1:3` as [area, qty] pairs (the server judges ranges), or what is wrong with it. */
function placesOf(value: string | undefined): [number, number][] | undefined | string {
  if (value === undefined) return undefined;
  const pairs = value.split(',').map((part) => /^(\d+):(\d+)$/.exec(part));
  if (pairs.some((m) => !m)) return `--ga must be area:quantity pairs separated by commas, e.g. 0:2,1:3, not ${value}`;
  return pairs.map((m) => [Number(m![1]), Number(m![2])]);
}

/** Splits `--name value` options out of the words. */
function options(words: string[], names: string[]): { rest: string[]; values: Record<string, string> } | string {
  const rest: string[] = [];
  const values: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('--')) {
      rest.push(w);
      continue;
    }
    const name = w.slice(2);
    if (!names.includes(name)) return `unknown option ${w}`;
    const value = words[++i];
    if (value === undefined) return `${w} needs a value`;
    values[name] = value;
  }
  return { rest, values };
}

export function parseCommand(words: string[]): Parsed {
  const [name, ...args] = words;
  const fail = (problem: string): Parsed => ({ ok: false, problem });
  const split = options(args, ['tok', 'key', 'ga']);
  if (typeof split === 'string') return fail(split);
  const { rest, values } = split;
  const ga = placesOf(values.ga);
  if (typeof ga === 'string') return fail(ga);
  const places = ga ? { ga } : {};
  switch (name) {
    case 'ping':
      return { ok: true, body: { t: 'ping' } };
    case 'sub': {
      if (rest.length !== 1 && rest.length !== 3) return fail('usage: sub <ev> [epoch seq]');
      if (rest.length === 1) return { ok: true, body: { t: 'sub', ev: rest[0]! } };
      const [ev, epoch, seq] = rest as [string, string, string];
      if (!INTEGER.test(epoch) || !INTEGER.test(seq)) return fail('epoch and seq must be integers');
      return { ok: true, body: { t: 'sub', ev, epoch: Number(epoch), seq: Number(seq) } };
    }
    case 'unsub':
      return rest.length === 1 ? { ok: true, body: { t: 'unsub', ev: rest[0]! } } : fail('usage: unsub <ev>');
    case 'hold': {
      if (rest.length < (ga ? 1 : 2)) return fail('usage: hold <ev> <seat>... [--tok T] [--ga A:Q,...]');
      const seats = seatsOf(rest.slice(1));
      if (typeof seats === 'string') return fail(seats);
      return { ok: true, body: values.tok ? { t: 'hold', ev: rest[0]!, seats, ...places, tok: values.tok } : { t: 'hold', ev: rest[0]!, seats, ...places } };
    }
    case 'release': {
      if (rest.length < 2) return fail('usage: release <ev> <tok> [seat]...');
      const seats = seatsOf(rest.slice(2));
      if (typeof seats === 'string') return fail(seats);
      return { ok: true, body: seats.length > 0 ? { t: 'release', ev: rest[0]!, tok: rest[1]!, seats, ...places } : { t: 'release', ev: rest[0]!, tok: rest[1]!, ...places } };
    }
    case 'extend':
      return rest.length === 2 ? { ok: true, body: { t: 'extend', ev: rest[0]!, tok: rest[1]! } } : fail('usage: extend <ev> <tok>');
    case 'book':
      return rest.length === 2 ? { ok: true, body: { t: 'book', ev: rest[0]!, tok: rest[1]!, key: values.key ?? newIdempotencyKey() } } : fail('usage: book <ev> <tok> [--key K]');
    case 'sell': {
      if (rest.length < (ga ? 1 : 2)) return fail('usage: sell <ev> <seat>... [--key K] [--ga A:Q,...]');
      const seats = seatsOf(rest.slice(1));
      if (typeof seats === 'string') return fail(seats);
      return { ok: true, body: { t: 'book', ev: rest[0]!, seats, ...places, key: values.key ?? newIdempotencyKey() } };
    }
    default:
      return fail(`unknown command ${JSON.stringify(name ?? '')}\n${COMMAND_HELP}`);
  }
}
