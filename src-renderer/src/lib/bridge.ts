import type { KarborBridge, UiEventName, UiEvents, UiInput, UiMethod, UiOutput, UiResult } from '../../../src-main/contract';

declare global {
  interface Window {
    karbor?: KarborBridge;
  }
}

const TOKEN_KEY = 'karbor-token';

/** The token of the headless web UI: from `#token=` (then removed from the address bar) or the session. */
export function readToken(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', `${location.pathname}#/`);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

/** The headless mode's bridge: the same calls over `POST /ui/invoke` and server-sent events. */
function httpBridge(token: string): KarborBridge {
  let source: EventSource | undefined;
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const ensureSource = (name: string): void => {
    source ??= new EventSource(`/ui/events?token=${encodeURIComponent(token)}`);
    if (listeners.has(name)) return;
    listeners.set(name, new Set());
    source.addEventListener(name, (ev) => {
      const payload: unknown = JSON.parse((ev as MessageEvent<string>).data);
      listeners.get(name)?.forEach((cb) => cb(payload));
    });
  };
  return {
    async invoke<M extends UiMethod>(method: M, input: UiInput<M>): Promise<UiResult<UiOutput<M>>> {
      let res: Response;
      try {
        res = await fetch('/ui/invoke', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Auth-Token': token },
          body: JSON.stringify({ method, input }),
        });
      } catch {
        return { ok: false, error: { code: 'OFFLINE', message: 'Karbor Desktop is not answering: is it still running?' } };
      }
      if (res.status === 401)
        return { ok: false, error: { code: 'UNAUTHORIZED', message: 'The token was not accepted. Paste the token again.' } };
      if (!res.ok) return { ok: false, error: { code: `HTTP_${res.status}`, message: `The engine answered with HTTP ${res.status}.` } };
      return (await res.json()) as UiResult<UiOutput<M>>;
    },
    on<E extends UiEventName>(event: E, cb: (payload: UiEvents[E]) => void) {
      ensureSource(event);
      const set = listeners.get(event);
      const fn = cb as (p: unknown) => void;
      set?.add(fn);
      return () => set?.delete(fn);
    },
  };
}

let bridge: KarborBridge | undefined;

/** One client, chosen at start: Electron's preload bridge, else HTTP with the token. */
export function connect(token: string | null): KarborBridge | undefined {
  if (window.karbor) bridge = window.karbor;
  else if (token) bridge = httpBridge(token);
  return bridge;
}

/** A failure the engine reported, in words for the user. */
export class UiFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls one UI operation; resolves with its value or rejects with a UiFailure. */
export async function call<M extends UiMethod>(method: M, input: UiInput<M>): Promise<UiOutput<M>> {
  if (!bridge) throw new UiFailure('NOT_CONNECTED', 'Not connected to Karbor Desktop yet.');
  const r = await bridge.invoke(method, input);
  if (!r.ok) throw new UiFailure(r.error.code, r.error.message);
  return r.value;
}

export function on<E extends UiEventName>(event: E, cb: (payload: UiEvents[E]) => void): () => void {
  return bridge ? bridge.on(event, cb) : () => undefined;
}

/** A message for any caught value: never a stack, never `[object Object]`. */
export function messageOf(err: unknown): string {
  if (err instanceof UiFailure) return err.message;
  if (err instanceof Error) return err.message.split('\n')[0] ?? 'Something went wrong.';
  return typeof err === 'string' ? err : 'Something went wrong.';
}
