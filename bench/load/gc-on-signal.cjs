/**
 * Preloaded into a benchmark's gateway process (NODE_OPTIONS="--expose-gc
 * --require <this file>"): SIGUSR2 runs a full garbage collection, so that a
 * memory reading afterwards shows what is live, not when the collector last
 * happened to run.
 */
process.on('SIGUSR2', () => globalThis.gc?.());
