/**
 * Where the demo page gets its token: a `#token=<jwt>` in the page URL (a
 * fragment never reaches the server or its logs), else GET /demo/token, which
 * a gateway running on the public development secret answers. Without
 * either the page connects anonymously, read-only.
 */

const SUBJECT_KEY = 'seatmap-demo-subject';

interface DemoTokenReply {
  token: string;
  sub: string;
  expiresAt: number;
}

export function fragmentToken(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get('token');
}

/** A token from the gateway's demo route for this tab's guest subject (kept across reloads), or null. */
export async function fetchDemoToken(): Promise<string | null> {
  const remembered = sessionStorage.getItem(SUBJECT_KEY);
  const query = remembered ? `?sub=${encodeURIComponent(remembered)}` : '';
  const response = await fetch(`/demo/token${query}`, { cache: 'no-store' });
  if (response.status === 403 || response.status === 404) return null; // the gateway hands out no demo tokens
  if (!response.ok) throw new Error(`GET /demo/token: HTTP ${response.status}`);
  const reply = (await response.json()) as DemoTokenReply;
  sessionStorage.setItem(SUBJECT_KEY, reply.sub);
  return reply.token;
}

/** The page's getToken: the fragment's token first, then demo tokens (also after the fragment's expired). */
export function tokenSource(): () => Promise<string | null> {
  let fragment = fragmentToken();
  return async () => {
    if (fragment) {
      const token = fragment;
      fragment = null;
      return token;
    }
    return fetchDemoToken();
  };
}
