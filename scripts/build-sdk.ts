/**
 * `npm run build:sdk`: the client SDK (core/client) as an installable ESM
 * package, `@seatmap/client`, packed with `npm pack`:
 *
 *   .build/sdk/package/   dist/index.js, dist/react.js (+ a shared chunk), dist/types/**.d.ts,
 *                         package.json (exports "." and "./react"), README.md (core/client/README.md)
 *   .build/sdk/seatmap-client-<version>.tgz
 *
 * esbuild bundles the two entry points (core/protocol and the error
 * catalogue inlined; @msgpack/msgpack a dependency, React a peer dependency
 * of "./react" only); tsc writes the type declarations.
 *
 *   npm run build:sdk [-- --out DIR]
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SDK_NAME = '@seatmap/client';

export interface BuiltSdk {
  packageDir: string;
  tarball: string;
  version: string;
}

export async function buildSdk(outDir = path.join(ROOT, '.build/sdk')): Promise<BuiltSdk> {
  const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const packageDir = path.join(outDir, 'package');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(packageDir, { recursive: true });

  await build({
    entryPoints: { index: path.join(ROOT, 'core/client/index.ts'), react: path.join(ROOT, 'core/client/react.ts') },
    outdir: path.join(packageDir, 'dist'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['@msgpack/msgpack', 'react'],
    legalComments: 'none',
    logLevel: 'warning',
  });

  // declarations of the same sources, with DOM types (browsers) and without Node's
  const tsconfig = path.join(outDir, 'tsconfig.types.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        declaration: true,
        emitDeclarationOnly: true,
        strict: true,
        skipLibCheck: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        types: [],
        rootDir: path.join(ROOT, 'core'),
        outDir: path.join(packageDir, 'dist/types'),
      },
      files: [path.join(ROOT, 'core/client/index.ts'), path.join(ROOT, 'core/client/react.ts')],
    }),
  );
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/lib/tsc.js'), '-p', tsconfig], { stdio: 'inherit' });

  const pkg = {
    name: SDK_NAME,
    version: root.version,
    description: 'Client SDK of the seat-map gateway: a live copy of an event\'s seats over WebSockets, seat operations as promises, a React hook.',
    type: 'module',
    exports: {
      '.': { types: './dist/types/client/index.d.ts', import: './dist/index.js' },
      './react': { types: './dist/types/client/react.d.ts', import: './dist/react.js' },
    },
    types: './dist/types/client/index.d.ts',
    files: ['dist', 'README.md'],
    sideEffects: false,
    dependencies: { '@msgpack/msgpack': root.dependencies['@msgpack/msgpack'] },
    peerDependencies: { react: '>=18' },
    peerDependenciesMeta: { react: { optional: true } },
    engines: { node: '>=20' },
    license: 'UNLICENSED',
  };
  writeFileSync(path.join(packageDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  copyFileSync(path.join(ROOT, 'core/client/README.md'), path.join(packageDir, 'README.md'));

  execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] });
  const tarball = readdirSync(outDir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack wrote no tarball');
  return { packageDir, tarball: path.join(outDir, tarball), version: root.version };
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const at = process.argv.indexOf('--out');
  const built = await buildSdk(at > 0 ? path.resolve(process.argv[at + 1]!) : undefined);
  process.stdout.write(`${path.relative(process.cwd(), built.tarball)}\n`);
}
