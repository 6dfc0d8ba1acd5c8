/**
 * The documentation keeps up with the code: docs/protocol.md names every
 * error code, close code and request type; docs/gateway.md names every
 * setting and every metric.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../core/errors.js';
import { CLOSE_CODES, REQUEST_TYPES } from '../core/protocol/index.js';
import { createMetrics } from '../gateway/metrics.js';

const protocol = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
const gateway = readFileSync(new URL('../docs/gateway.md', import.meta.url), 'utf8');
const configSource = readFileSync(new URL('../gateway/config.ts', import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  it('documents every error code', () => {
    for (const code of ERROR_CODES) expect(protocol, code).toContain(`\`${code}\``);
  });
  it('documents every close code', () => {
    for (const { code } of Object.values(CLOSE_CODES)) expect(protocol, String(code)).toMatch(new RegExp(`\\b${code}\\b`));
  });
  it('documents every request type', () => {
    for (const type of REQUEST_TYPES) expect(protocol, type).toContain(`"${type}"`);
  });
});

describe('docs/gateway.md', () => {
  it('documents every setting of gateway/config.ts', () => {
    const schema = configSource.slice(configSource.indexOf('const schema'), configSource.indexOf('});'));
    const settings = [...schema.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(settings.length).toBeGreaterThan(20);
    for (const name of settings) expect(gateway, name).toContain(`\`${name}\``);
  });
  it('documents every metric', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) expect(gateway, name).toContain(name);
  });
});
