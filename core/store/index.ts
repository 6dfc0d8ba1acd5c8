export * from './keys.js';
export * from './seat-state.js';
export * from './results.js';
export * from './change-log.js';
export * from './scripts.js';
export { ScriptRunner, loadScripts, resolveIncludes, type RedisClient, type LoadedScript } from './script-loader.js';
export * from './seat-store.js';
export * from './expiry-sweeper.js';
export * from './maintenance.js';
