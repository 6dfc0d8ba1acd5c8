/** Every scenario, by name. */
import { browse } from './browse.js';
import { kiosk } from './kiosk.js';
import { onsale } from './onsale.js';
import { queue } from './queue.js';
import { reconnect } from './reconnect.js';

export const SCENARIOS = { browse, onsale, kiosk, reconnect, queue };
