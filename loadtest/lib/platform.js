/**
 * The few things scenario code needs from the platform it runs on. Scenario
 * modules use nothing else, so the same code runs under k6
 * (loadtest/k6/platform.js) and under Node (loadtest/node/platform.ts).
 *
 * @typedef {object} SocketHandlers
 * @property {() => void} onOpen
 * @property {(frame: Uint8Array) => void} onMessage  one binary frame
 * @property {(code: number) => void} onClose
 * @property {(message: string) => void} onError
 *
 * @typedef {object} Socket
 * @property {(frame: Uint8Array) => void} send
 * @property {() => void} close
 *
 * @typedef {Record<string, string>} Tags
 *
 * @typedef {object} Platform
 * @property {(url: string, token: string | null, handlers: SocketHandlers) => Socket} connect
 *   opens a WebSocket offering `seatmap.v1`, with the token if any
 * @property {() => number} now  milliseconds; one clock for every client of a run
 * @property {() => number} random  in [0, 1)
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(handle: unknown) => void} clearTimeout
 * @property {(secret: string, text: string) => string} hmacSha256Base64Url  HS256 signature, base64url without padding
 * @property {(text: string) => string} base64Url  UTF-8 bytes of text, base64url without padding
 * @property {(name: string, value: number, tags?: Tags) => void} trend
 * @property {(name: string, ok: boolean, tags?: Tags) => void} rate
 * @property {(name: string, n: number, tags?: Tags) => void} count
 * @property {(name: string, ok: boolean) => void} check
 * @property {(kind: string, value: unknown) => void} note  facts for the Node runner's report (ignored by k6)
 */
export {};
