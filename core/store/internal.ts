/**
 * The store's internals, for tests and benchmarks: the script registry, the
 * loader and reply parsing, on top of the public API. Runtime code imports
 * `./index.js` instead.
 */
export * from './index.js';
export { ScriptRunner, ScriptLoadError, loadScripts, resolveIncludes, type LoadedScript } from './script-loader.js';
export { SCRIPTS, scriptFileName, type ScriptDef, type ScriptArgs, type ScriptKeys, type ScriptName, type KeyName } from './scripts.js';
export { parseReply, refusalFrom } from './results.js';
