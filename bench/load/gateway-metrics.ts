/** The gateway's Prometheus metrics (GET /metrics), read by the figures that count what it did. */
export type MetricReader = (line: RegExp) => number;

/** One scrape; the reader sums the samples whose line matches (0 when none does). */
export async function scrapeGateway(httpUrl: string): Promise<MetricReader> {
  const lines = (await (await fetch(`${httpUrl}/metrics`)).text()).split('\n').filter((l) => l && !l.startsWith('#'));
  return (line) => lines.filter((l) => line.test(l)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Slow readers the gateway paused, resynced after they drained, and closed (4008) after the grace period. */
export async function slowReaderActions(httpUrl: string): Promise<{ paused: number; resynced: number; closed: number }> {
  const read = await scrapeGateway(httpUrl);
  const action = (name: string) => read(new RegExp(`^seatmap_slow_consumer_total\\{action="${name}"\\}`));
  return { paused: action('paused'), resynced: action('resynced'), closed: action('closed') };
}
