import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { IPC_EVENT, IPC_INVOKE, UI_EVENT_NAMES, type UiResult } from '../contract';
import type { Engine } from '../engine';
import type { Logger } from '../engine/log';
import type { UiHandlers } from '../ui/handlers';
import { invokeUi } from '../ui/invoke';

/** Only our own renderer (loaded from the app's files) may call the engine. */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>, rendererUrl: string): boolean {
  const url = event.senderFrame?.url ?? '';
  return url === rendererUrl || url.startsWith(`${rendererUrl}#`) || url.startsWith(`${rendererUrl}?`);
}

/** Wires `invoke` to the handler table and forwards engine events to the window. */
export function registerIpc(ipcMain: Pick<IpcMain, 'handle'>, handlers: UiHandlers, rendererUrl: string, log: Logger): void {
  ipcMain.handle(IPC_INVOKE, async (event, method: unknown, input: unknown): Promise<UiResult<unknown>> => {
    if (!isTrustedSender(event, rendererUrl)) {
      log.warn('refused an IPC call from an untrusted frame', { url: event.senderFrame?.url });
      return { ok: false, error: { code: 'FORBIDDEN', message: 'This window may not call Karbor Desktop.' } };
    }
    return invokeUi(handlers, method, input, log);
  });
}

export function forwardEvents(engine: Engine, target: () => WebContents | undefined): () => void {
  const offs = UI_EVENT_NAMES.map((name) =>
    engine.events.on(name, (payload) => {
      const wc = target();
      if (wc && !wc.isDestroyed()) wc.send(IPC_EVENT, name, payload);
    }),
  );
  return () => offs.forEach((off) => off());
}
