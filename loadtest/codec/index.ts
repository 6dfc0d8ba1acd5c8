/**
 * What the load-test scenarios need of protocol v1, for k6 and Node alike:
 * the MessagePack codec and the client apply rules (SeatView, the reference
 * implementation in core/protocol). Bundled into loadtest/k6/vendor/protocol.js.
 */
export { decode, encode, type Value } from './msgpack.js';
export { SeatView } from '../../core/protocol/seat-view.js';
