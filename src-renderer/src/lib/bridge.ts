import type { KarborBridge, UiEventName, UiEvents, UiInput, UiMethod, UiOutput } from '../../../src-main/contract';
import { httpBridge } from './http-bridge';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in the headless web UI. */
    karbor?: KarborBridge;
  }
}

const TOKEN_KEY = 'karbor-token';

/**
 * The headless web UI's token: from the address's `#token=` fragment (then removed from the
 * address bar, so it does not linger in history or screenshots) or from this tab's session.
 */
export function readToken(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** True inside the desktop app, where the preload bridge needs no token. */
export const isDesktop = (): boolean => Boolean(window.karbor);

let bridge: KarborBridge | undefined;

/** Chooses the one client for this session: Electron's preload bridge, else HTTP with the token. */
export function connect(token: string | null): boolean {
  if (window.karbor) bridge = window.karbor;
  else if (token) bridge = httpBridge(token.trim());
  else bridge = undefined;
  return bridge !== undefined;
}

/** A failure the engine reported: its stable code and a sentence for the user. */
export class UiFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UiFailure';
  }
}

/** Calls one UI operation; resolves with its value or rejects with a UiFailure. */
export async function call<M extends UiMethod>(method: M, input: UiInput<M>): Promise<UiOutput<M>> {
  if (!bridge) throw new UiFailure('NOT_CONNECTED', 'Not connected to Karbor Desktop yet.');
  const r = await bridge.invoke(method, input);
  if (!r.ok) throw new UiFailure(r.error.code, r.error.message);
  return r.value;
}

/** Subscribes to an engine event; returns the unsubscribe function. */
export function on<E extends UiEventName>(event: E, cb: (payload: UiEvents[E]) => void): () => void {
  return bridge ? bridge.on(event, cb) : () => undefined;
}

/** A sentence for any caught value: never a stack, never `[object Object]`. */
export function messageOf(err: unknown): string {
  const fallback = 'Something went wrong. Details are in the Karbor Desktop log.';
  let text: unknown = err;
  if (err instanceof Error) text = err.message;
  else if (err && typeof err === 'object' && 'message' in err) text = err.message;
  if (typeof text !== 'string' || !text.trim()) return fallback;
  // Only the first line: a stack or a dump below it is for the log, not for the user.
  const first = text.split('\n')[0]?.trim() ?? '';
  return first.replace(/^(Error|TypeError|RangeError|UiFailure):\s*/, '') || fallback;
}
