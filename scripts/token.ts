/**
 * Mints a development token (HS256) and prints only the token, so that it can be captured:
 *
 *   npm run token -- --sub alice --scope "seats:read seats:hold" [--ttl 3600] [--secret S] [--issuer I] [--audience A] [--acc] [--chan fanclub,press]
 *
 * The secret is --secret, else JWT_SECRET, else DEV_JWT_SECRET (the one `npm start` falls back to).
 * Issuer and audience default to JWT_ISSUER / JWT_AUDIENCE so tokens match a gateway configured the same way.
 */
import { parseArgs } from 'node:util';
import { MAX_CHANNEL_KEYS, parseChannelClaim } from '../core/store/channel-keys.js';
import { DEV_JWT_SECRET, isScope, MAX_SUB_LENGTH, mintDevToken, SCOPES } from '../gateway/auth.js';

const USAGE = `usage: npm run token -- --sub <subject> [--scope "<scopes>"] [--ttl <seconds>] [--secret <secret>] [--issuer <iss>] [--audience <aud>] [--acc] [--chan <keys>]
  --acc adds the acc: true claim (may hold protected wheelchair seats)
  --chan adds the chan claim: sales-channel keys, comma-separated (may hold those presales' reserved seats)
  scopes (space-separated): ${SCOPES.join(' ')}; default "seats:read seats:hold seats:book"`;

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      sub: { type: 'string' },
      scope: { type: 'string', default: 'seats:read seats:hold seats:book' },
      ttl: { type: 'string', default: '3600' },
      secret: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      acc: { type: 'boolean', default: false },
      chan: { type: 'string' },
    },
  }));
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}

if (!values.sub) usage('missing --sub');
if (values.sub.length > MAX_SUB_LENGTH) usage(`--sub is longer than ${MAX_SUB_LENGTH} characters`);
const scopes = values.scope.split(/\s+/).filter(Boolean);
const unknown = scopes.filter((s) => !isScope(s));
if (unknown.length > 0) usage(`unknown scope: ${unknown.join(', ')}`);
if (scopes.length === 0) usage('--scope lists no scopes');
const chan = values.chan === undefined ? undefined : parseChannelClaim(values.chan.split(',').filter(Boolean));
if (chan === null) usage(`--chan must be at most ${MAX_CHANNEL_KEYS} keys of 1 to 32 characters of A-Z a-z 0-9 _ . -, comma-separated`);
const ttlSec = Number(values.ttl);
if (!/^\d+$/.test(values.ttl) || ttlSec <= 0) usage('--ttl must be a positive whole number of seconds');

let secret = values.secret || process.env.JWT_SECRET;
if (!secret) {
  secret = DEV_JWT_SECRET;
  process.stderr.write('warning: neither --secret nor JWT_SECRET is set; using the development secret\n');
}
const issuer = values.issuer ?? (process.env.JWT_ISSUER || undefined);
const audience = values.audience ?? (process.env.JWT_AUDIENCE || undefined);

const token = await mintDevToken(secret, {
  sub: values.sub,
  scope: scopes.join(' '),
  ttlSec,
  ...(issuer !== undefined && { issuer }),
  ...(audience !== undefined && { audience }),
  ...(values.acc && { acc: true }),
  ...(chan && chan.length > 0 && { chan }),
});
process.stdout.write(`${token}\n`);
