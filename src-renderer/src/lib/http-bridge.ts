import type { KarborBridge, UiEventName, UiEvents, UiInput, UiMethod, UiOutput, UiResult } from '../../../src-main/contract';

const failure = (code: string, message: string): { ok: false; error: { code: string; message: string } } => ({
  ok: false,
  error: { code, message },
});

/**
 * The headless mode's KarborBridge: the same operations over `POST /ui/invoke` and the same
 * events over server-sent events (`GET /ui/events?token=`, since EventSource cannot send headers).
 * Every failure, including the network's, comes back as an envelope with a sentence in it.
 */
export function httpBridge(token: string, base = ''): KarborBridge {
  let source: EventSource | undefined;
  const listeners = new Map<string, Set<(payload: unknown) => void>>();

  const subscribe = (name: string): Set<(payload: unknown) => void> => {
    source ??= new EventSource(`${base}/ui/events?token=${encodeURIComponent(token)}`);
    let set = listeners.get(name);
    if (!set) {
      const created = new Set<(payload: unknown) => void>();
      listeners.set(name, created);
      source.addEventListener(name, (ev) => {
        let payload: unknown;
        try {
          payload = JSON.parse((ev as MessageEvent<string>).data);
        } catch {
          return;
        }
        created.forEach((cb) => cb(payload));
      });
      set = created;
    }
    return set;
  };

  return {
    async invoke<M extends UiMethod>(method: M, input: UiInput<M>): Promise<UiResult<UiOutput<M>>> {
      let res: Response;
      try {
        res = await fetch(`${base}/ui/invoke`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Auth-Token': token },
          body: JSON.stringify({ method, input }),
        });
      } catch {
        return failure('OFFLINE', 'Karbor Desktop is not answering. Is it still running?');
      }
      if (res.status === 401) return failure('UNAUTHORIZED', 'The token was not accepted. Paste the token from the api-token file again.');
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        return failure(`HTTP_${res.status}`, `Karbor Desktop answered with an unreadable reply (HTTP ${res.status}).`);
      }
      if (body && typeof body === 'object' && 'ok' in body) return body as UiResult<UiOutput<M>>;
      return failure(`HTTP_${res.status}`, `Karbor Desktop answered with HTTP ${res.status}.`);
    },
    on<E extends UiEventName>(event: E, cb: (payload: UiEvents[E]) => void): () => void {
      const set = subscribe(event);
      const fn = cb as (payload: unknown) => void;
      set.add(fn);
      return () => set.delete(fn);
    },
  };
}
