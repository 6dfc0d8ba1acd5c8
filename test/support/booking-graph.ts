/**
 * The booking state graph as docs/bookings.md documents it (the table under
 * "Booking states"), read from the page: what the tests hold the stored
 * history to, independently of core/bookings/states.ts.
 */
import { readFileSync } from 'node:fs';

export interface DocumentedAction {
  action: string;
  from: string[];
  /** a state, or `same` */
  to: string;
}

export function documentedGraph(): DocumentedAction[] {
  const doc = readFileSync(new URL('../../docs/bookings.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Booking states'), doc.indexOf('## The payment window'));
  const rows = section.split('\n').filter((line) => /^\| `[a-z_]+` \|/.test(line));
  return rows.map((line) => {
    const [action, from, to] = line.split('|').slice(1, 4).map((cell) => cell.trim());
    const states = (cell: string) => [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    return {
      action: action!.replace(/`/g, ''),
      from: from === 'none' ? ['none'] : states(from!),
      to: to === 'the same' ? 'same' : states(to!)[0]!,
    };
  });
}

/** Whether the documented graph has the edge `from -action-> to`. */
export function isDocumentedEdge(graph: readonly DocumentedAction[], from: string, action: string, to: string): boolean {
  return graph.some((a) => a.action === action && a.from.includes(from) && (a.to === 'same' ? to === from : a.to === to));
}
