import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_EVENT, IPC_INVOKE, type KarborBridge, type UiEventName, type UiEvents } from '../src-main/contract';

/**
 * The renderer's only door to the main process: `invoke(method, input)` and `on(event, cb)`.
 * Nothing else of Electron or Node crosses the bridge.
 */
const bridge: KarborBridge = {
  invoke: (method, input) => ipcRenderer.invoke(IPC_INVOKE, method, input),
  on<E extends UiEventName>(event: E, cb: (payload: UiEvents[E]) => void) {
    const listener = (_e: IpcRendererEvent, name: string, payload: unknown): void => {
      if (name === event) cb(payload as UiEvents[E]);
    };
    ipcRenderer.on(IPC_EVENT, listener);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT, listener);
    };
  },
};

contextBridge.exposeInMainWorld('karbor', bridge);
