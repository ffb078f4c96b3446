/** The pages of the app, in navigation order, with their labels. */
export const PAGES = [
  { id: 'dashboard', label: 'Dashboard' },
  { id: 'plans', label: 'Plans' },
  { id: 'checkpoints', label: 'Checkpoints' },
  { id: 'restore', label: 'Restore' },
  { id: 'schedules', label: 'Schedules' },
  { id: 'logs', label: 'Operation logs' },
  { id: 'clouds', label: 'Clouds' },
  { id: 'settings', label: 'Settings' },
] as const;

export type PageId = (typeof PAGES)[number]['id'];

const isPage = (s: string): s is PageId => PAGES.some((p) => p.id === s);

/** `#/checkpoints?provider=…&id=…` as an address for links. */
export function href(page: PageId, params: Record<string, string | undefined> = {}): string {
  const qs = Object.entries(params)
    .filter((e): e is [string, string] => Boolean(e[1]))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `#/${page === 'dashboard' ? '' : page}${qs ? `?${qs}` : ''}`;
}

/**
 * Hash routing: the page and its parameters live in the address's fragment, so reloading or
 * sharing a link inside the app (a checkpoint, a restore) opens the same view.
 */
class Router {
  page = $state<PageId>('dashboard');
  params = $state<Record<string, string>>({});

  constructor() {
    this.sync();
    window.addEventListener('hashchange', () => this.sync());
  }

  /** Re-reads the address (after the token fragment was removed, and on every hash change). */
  sync(): void {
    const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
    this.page = isPage(path) ? path : 'dashboard';
    this.params = Object.fromEntries(
      query
        .split('&')
        .filter(Boolean)
        .map((kv) => {
          const [k = '', v = ''] = kv.split('=');
          return [decodeURIComponent(k), decodeURIComponent(v.replace(/\+/g, ' '))];
        }),
    );
  }

  go(page: PageId, params: Record<string, string | undefined> = {}): void {
    location.hash = href(page, params);
  }
}

export const router = new Router();
