import { contextBridge } from 'electron';

/** The renderer's only door to the main process; the typed UI contract builds on it. */
contextBridge.exposeInMainWorld('karbor', {
  platform: 'electron',
});
