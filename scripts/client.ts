/**
 * `npm run client`: a terminal client for the gateway's WebSocket protocol,
 * what `wscat` is for JSON protocols, here for MessagePack. Every server
 * message is printed as one JSON line on stdout.
 *
 *   npm run client -- [--url ws://127.0.0.1:9001/ws] [--token JWT | --as SUBJECT [--scope S]] [--full] [--count N] [--for 10s] [command ...]
 *
 * With a command it runs that one request, prints its reply alone and exits:
 * 0 on `ok`/`pong`, 1 on `err`; `sub` keeps printing diffs until Ctrl-C, `--count` messages or
 * `--for` a while. Without one it is interactive: commands from stdin, one
 * per line, messages printed as they come. `--as alice` mints a development
 * token for alice (JWT_SECRET or the development secret, as `npm run token`),
 * with `--scope` (default "seats:read seats:hold seats:book"; a box-office
 * clerk's `sell` needs "seats:read seats:box-office").
 */
import { createInterface } from 'node:readline';
import { DEV_JWT_SECRET, mintDevToken } from '../gateway/auth.js';
import type { ServerMessage } from '../core/protocol/index.js';
import { COMMAND_HELP, parseCommand } from './client/commands.js';
import { CliConnection, messageLine } from './client/connection.js';

const USAGE = `usage: npm run client -- [--url URL] [--token JWT | --as SUBJECT [--scope SCOPES]] [--full] [--count N] [--for DURATION] [command ...]
  without a command: interactive (one command per line; "help", "quit")
${COMMAND_HELP}`;

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

/**
 * The client's own options, anywhere on the line; every other word is the
 * command's (its --tok and --key included, and negative seat indexes, which
 * util.parseArgs would take for options).
 */
function parseLine(args: string[]): { values: { url: string; token?: string; as?: string; scope?: string; full: boolean; count?: string; for?: string; help: boolean }; positionals: string[] } {
  const values = { url: process.env.URL ?? 'ws://127.0.0.1:9001/ws', token: process.env.TOKEN, full: false, help: false } as ReturnType<typeof parseLine>['values'];
  const positionals: string[] = [];
  const valued = new Set(['--url', '--token', '--as', '--scope', '--count', '--for']);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--full') values.full = true;
    else if (arg === '--help' || arg === '-h') values.help = true;
    else if (valued.has(arg)) {
      const value = args[++i];
      if (value === undefined) usage(`${arg} needs a value`);
      (values as Record<string, unknown>)[arg.slice(2)] = value;
    } else positionals.push(arg);
  }
  return { values, positionals };
}

const { values, positionals } = parseLine(process.argv.slice(2));
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const count = values.count === undefined ? Infinity : Number(values.count);
if (!(count > 0)) usage('--count must be a positive number');
const duration = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(values.for ?? '');
if (values.for !== undefined && !duration) usage(`--for takes a duration such as 500ms, 10s or 2m, not ${values.for}`);
const forMs = duration ? Number(duration[1]) * { ms: 1, s: 1000, m: 60_000 }[(duration[2] ?? 's') as 'ms' | 's' | 'm'] : Infinity;

const token = values.as
  ? await mintDevToken(process.env.JWT_SECRET ?? DEV_JWT_SECRET, { sub: values.as, scope: values.scope ?? 'seats:read seats:hold seats:book', ttlSec: 3600 })
  : (values.token ?? null);

let printed = 0;
/** Prints a message; --count N: exits after the Nth line. */
const print = (message: ServerMessage): void => {
  process.stdout.write(`${messageLine(message, values.full)}\n`);
  if (++printed >= count) finish(0);
};
// A one-shot command other than `sub` prints its reply alone; the pushes that may come before it
// (`tok`, `tokend`, queue notices) are for watches and the interactive mode.
const printsPushes = positionals.length === 0 || positionals[0] === 'sub';
let connection: CliConnection;
try {
  connection = await CliConnection.open(
    values.url,
    token,
    (message) => {
      if (printsPushes) print(message);
    },
    (code, reason) => {
      process.stderr.write(`connection closed: ${code} ${reason}\n`);
      finish(code === 1000 ? 0 : 3);
    },
  );
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(3);
}
process.stderr.write(`connected as ${connection.hello.sub ?? 'an anonymous viewer'} (${connection.hello.scopes.join(' ') || 'no scopes'})\n`);

let finishing = false;
function finish(code: number): void {
  if (finishing) return;
  finishing = true;
  if (!process.exitCode) process.exitCode = code;
  connection.close();
  // let the close frame go out
  setTimeout(() => process.exit(code), 50).unref();
}
process.on('SIGINT', () => finish(0));

if (positionals.length > 0) {
  const command = parseCommand(positionals);
  if (!command.ok) usage(command.problem);
  const reply = await connection.request(command.body);
  const refused = reply.t === 'err';
  if (refused) process.exitCode = 1;
  print(reply);
  // a watch goes on printing; anything else is done
  if (command.body.t !== 'sub' || refused) finish(refused ? 1 : 0);
  else if (forMs !== Infinity) setTimeout(() => finish(0), forMs);
} else {
  const lines = createInterface({ input: process.stdin, terminal: false });
  const inFlight = new Set<Promise<void>>();
  if (process.stdin.isTTY) process.stderr.write('commands: sub, unsub, hold, release, extend, book, sell, ping, help, quit\n');
  for await (const line of lines) {
    const words = line.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) continue;
    if (words[0] === 'quit' || words[0] === 'exit') break;
    if (words[0] === 'help') {
      process.stdout.write(`${COMMAND_HELP}\n`);
      continue;
    }
    const command = parseCommand(words);
    if (!command.ok) {
      process.stderr.write(`${command.problem}\n`);
      continue;
    }
    // replies print as they come, between the diffs
    const reply = connection.request(command.body).then((message) => void print(message));
    inFlight.add(reply);
    void reply.finally(() => inFlight.delete(reply));
  }
  // end of input: the replies still owed, then done
  await Promise.all(inFlight);
  finish(0);
}
