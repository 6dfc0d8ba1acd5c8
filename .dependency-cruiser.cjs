/**
 * The layers of the code base, checked by dependency-cruiser: `npm test`
 * runs these rules through test/layers.test.ts (no cycle is tolerated);
 * `npx depcruise core gateway scripts bench
 * loadtest test` shows the same findings on the command line.
 *
 *   core/     the domain: seat store, layouts, bookings, protocol, client SDK
 *   gateway/  the gateway process, built on core/
 *   scripts/, bench/, loadtest/  tools that start, measure and drive the above;
 *             nothing at runtime imports them
 *
 * Type-only imports count (tsPreCompilationDeps): a type from gateway/ in
 * core/ ties the layers together as much as a value does. Sources are
 * TypeScript importing `./x.js`; the tsconfig (NodeNext) maps those to x.ts.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-stays-below',
      comment: 'core/ is the domain: it never imports the gateway or the tools (scripts/, bench/, loadtest/).',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(gateway|scripts|bench|loadtest)/' },
    },
    {
      name: 'gateway-without-tools',
      comment: 'The gateway process never imports the tools (scripts/, bench/, loadtest/); what both need lives in core/.',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { path: '^(scripts|bench|loadtest)/' },
    },
    {
      name: 'no-cycles',
      comment: 'No module imports itself through others: cycles make load order and ownership unclear.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'resolvable',
      comment: 'Every relative import resolves to a file (so the rules above see every edge).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, path: '^\\.' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
