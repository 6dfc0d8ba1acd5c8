/**
 * The client SDK as a package (`npm run build:sdk`, scripts/build-sdk.ts):
 * packed with npm pack, installed from the tarball into a scratch project in
 * a temporary directory (its one dependency from the npm cache), type-checked
 * there as an app would, and used from it against a real gateway: watch,
 * hold, book, and the booking's reference.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSdk, type BuiltSdk } from '../scripts/build-sdk.js';
import { createVenueEvent, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
let sdk: BuiltSdk;
let scratch = '';

const WS_VERSION = (JSON.parse(readFileSync('node_modules/ws/package.json', 'utf8')) as { version: string }).version;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'seatmap-sdk-'));
  sdk = await buildSdk(path.join(scratch, 'build'));
  gw = await startTestGateway();
  await createVenueEvent(gw.store, 'sdk', 100);
}, 180_000);

afterAll(async () => {
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
  if (scratch && !process.env.KEEP_SCRATCH) rmSync(scratch, { recursive: true, force: true });
});

describe('the packed SDK', () => {
  it('has ESM entry points with type declarations, "." and "./react", React a peer dependency', () => {
    const pkg = JSON.parse(readFileSync(path.join(sdk.packageDir, 'package.json'), 'utf8')) as Record<string, any>;
    expect(pkg.name).toBe('@seatmap/client');
    expect(pkg.type).toBe('module');
    expect(Object.keys(pkg.exports)).toEqual(['.', './react']);
    expect(pkg.peerDependencies).toEqual({ react: '>=18' });
    expect(Object.keys(pkg.dependencies)).toEqual(['@msgpack/msgpack']);
    const listed = execFileSync('tar', ['tzf', sdk.tarball], { encoding: 'utf8' });
    for (const file of ['package/dist/index.js', 'package/dist/react.js', 'package/dist/types/client/index.d.ts', 'package/dist/types/client/react.d.ts', 'package/README.md']) expect(listed).toContain(file);
  });

  it('installs from the tarball into a scratch project, type-checks there, and holds and books against a real gateway', async () => {
    const app = path.join(scratch, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error', sdk.tarball, `ws@${WS_VERSION}`], { cwd: app, stdio: 'pipe', timeout: 120_000 });

    // what an app writes, type-checked against the package's declarations
    writeFileSync(
      path.join(app, 'use.ts'),
      `import { SeatMapClient, RequestError, type BookResult, type SeatCounts } from '@seatmap/client';
declare const WebSocketImpl: ConstructorParameters<typeof SeatMapClient>[0]['WebSocket'];
export async function buy(url: string, token: string): Promise<{ booking: BookResult; counts: SeatCounts | null }> {
  const client = new SeatMapClient({ url, token, WebSocket: WebSocketImpl });
  client.watch('sdk');
  await client.connect();
  const { tok } = await client.hold('sdk', [7, 8]);
  const booking = await client.book('sdk', tok, { key: 'scratch-order-1' });
  const reference: string | undefined = booking.reference;
  void reference;
  try { await client.hold('sdk', [7]); } catch (err) { if (!(err instanceof RequestError)) throw err; }
  return { booking, counts: client.counts('sdk') };
}
`,
    );
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM'], noEmit: true, types: [] }, files: ['use.ts'] }));
    execFileSync(process.execPath, [path.resolve('node_modules/typescript/lib/tsc.js'), '-p', app], { cwd: app, stdio: 'pipe' });

    // and run: plain Node, the package and ws from the scratch project's node_modules
    writeFileSync(
      path.join(app, 'run.mjs'),
      `import WebSocket from 'ws';
import { SeatMapClient, RequestError } from '@seatmap/client';
const [url, token] = process.argv.slice(2);
const client = new SeatMapClient({ url, token, WebSocket });
client.watch('sdk');
await client.connect();
const { tok } = await client.hold('sdk', [7, 8]);
const booking = await client.book('sdk', tok, { key: 'scratch-order-1' });
let refused = null;
try { await client.hold('sdk', [7]); } catch (err) { refused = err instanceof RequestError ? { code: err.code, seats: err.seats, message: err.message } : String(err); }
await new Promise((r) => setTimeout(r, 200));
console.log(JSON.stringify({ booking, refused, counts: client.counts('sdk').total }));
client.close();
`,
    );
    // not execFileSync: the gateway runs in this process and must keep serving meanwhile
    const { stdout: out } = await promisify(execFile)(process.execPath, ['run.mjs', gw.wsUrl, await token('sdk-buyer')], { cwd: app, encoding: 'utf8', timeout: 30_000 });
    const result = JSON.parse(out.trim()) as { booking: { seats: number[]; reference: string; state: string }; refused: { code: string; seats: number[]; message: string }; counts: { booked: number } };
    expect(result.booking).toMatchObject({ seats: [7, 8], state: 'confirmed', reference: expect.stringMatching(/^SM-/) });
    expect(result.refused).toMatchObject({ code: 'UNAVAILABLE', seats: [7] });
    expect(result.refused.message).toMatch(/seat 7 is not free/);
    expect(result.counts.booked).toBe(2);
    const status = (await gw.store.snapshot('sdk'))!.status;
    expect([status[7], status[8]]).toEqual([2, 2]);
  }, 180_000);
});
