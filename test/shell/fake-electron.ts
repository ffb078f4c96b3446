/**
 * A stand-in for the `electron` module. The Electron binary cannot be downloaded on this
 * machine (no internet), so the shell is tested against this recording fake: it implements
 * just the APIs src-main/shell uses and remembers what was asked of them.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';

type Handler = (event: { senderFrame: { url: string } | null }, ...args: unknown[]) => unknown;

export interface FakeElectron {
  app: EventEmitter & {
    requestSingleInstanceLock(): boolean;
    quit(): void;
    whenReady(): Promise<void>;
    getPath(name: string): string;
    getVersion(): string;
    setLoginItemSettings(s: { openAtLogin: boolean }): void;
    loginItem: { openAtLogin: boolean } | null;
    quitCalled: number;
    lockHeld: boolean;
  };
  BrowserWindow: new (options: unknown) => FakeWindow;
  windows: FakeWindow[];
  ipcMain: { handle(channel: string, fn: Handler): void; handlers: Map<string, Handler> };
  Menu: { buildFromTemplate<T>(t: T): T };
  nativeImage: { createFromPath(p: string): { path: string } };
  Notification: new (o: { title: string; body: string }) => { show(): void };
  notifications: { title: string; body: string }[];
  powerMonitor: EventEmitter;
  shell: { openExternal(url: string): Promise<void>; opened: string[] };
  dialog: { showErrorBox(title: string, content: string): void; shown: { title: string; content: string }[] };
  Tray: new (image: unknown) => FakeTray;
  trays: FakeTray[];
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void; exposed: Map<string, unknown> };
  ipcRenderer: EventEmitter & { invoke(channel: string, ...args: unknown[]): Promise<unknown> };
}

export interface FakeWindow extends EventEmitter {
  options: unknown;
  loaded: string | null;
  visible: boolean;
  destroyed: boolean;
  openHandler?: (d: { url: string }) => { action: string };
  webContents: EventEmitter & {
    setWindowOpenHandler(fn: (d: { url: string }) => { action: string }): void;
    send(channel: string, ...args: unknown[]): void;
    sent: unknown[][];
    isDestroyed(): boolean;
  };
  loadFile(p: string): Promise<void>;
  show(): void;
  hide(): void;
  focus(): void;
  isDestroyed(): boolean;
  close(): void;
}

export interface FakeTray {
  image: unknown;
  menu: unknown;
  tooltip: string;
  setImage(i: unknown): void;
  setContextMenu(m: unknown): void;
  setToolTip(t: string): void;
}

export function makeFakeElectron(userData = os.tmpdir()): FakeElectron {
  const windows: FakeWindow[] = [];
  const trays: FakeTray[] = [];
  const notifications: { title: string; body: string }[] = [];
  const errorBoxes: { title: string; content: string }[] = [];
  const app = Object.assign(new EventEmitter(), {
    quitCalled: 0,
    lockHeld: true,
    loginItem: null as { openAtLogin: boolean } | null,
    setLoginItemSettings(s: { openAtLogin: boolean }) {
      app.loginItem = s;
    },
    requestSingleInstanceLock() {
      return app.lockHeld;
    },
    quit() {
      app.quitCalled++;
      app.emit('before-quit');
    },
    whenReady: () => Promise.resolve(),
    getPath: () => userData,
    getVersion: () => '0.1.0',
  });
  class Window extends EventEmitter implements FakeWindow {
    loaded: string | null = null;
    visible = true;
    destroyed = false;
    openHandler?: (d: { url: string }) => { action: string };
    webContents;
    constructor(readonly options: unknown) {
      super();
      const wc = Object.assign(new EventEmitter(), {
        sent: [] as unknown[][],
        setWindowOpenHandler: (fn: (d: { url: string }) => { action: string }) => {
          this.openHandler = fn;
        },
        send: (...args: unknown[]) => wc.sent.push(args),
        isDestroyed: () => this.destroyed,
      });
      this.webContents = wc;
      windows.push(this);
    }
    loadFile(p: string) {
      this.loaded = p;
      return Promise.resolve();
    }
    show() {
      this.visible = true;
    }
    hide() {
      this.visible = false;
    }
    focus() {}
    isDestroyed() {
      return this.destroyed;
    }
    close() {
      let prevented = false;
      this.emit('close', { preventDefault: () => (prevented = true) });
      if (!prevented) this.destroyed = true;
    }
  }
  class TrayImpl implements FakeTray {
    menu: unknown = null;
    tooltip = '';
    constructor(public image: unknown) {
      trays.push(this);
    }
    setImage(i: unknown) {
      this.image = i;
    }
    setContextMenu(m: unknown) {
      this.menu = m;
    }
    setToolTip(t: string) {
      this.tooltip = t;
    }
  }
  class NotificationImpl {
    constructor(private readonly o: { title: string; body: string }) {}
    show() {
      notifications.push(this.o);
    }
  }
  const handlers = new Map<string, Handler>();
  const exposed = new Map<string, unknown>();
  const opened: string[] = [];
  return {
    app,
    BrowserWindow: Window,
    windows,
    ipcMain: { handle: (c, fn) => void handlers.set(c, fn), handlers },
    Menu: { buildFromTemplate: (t) => t },
    nativeImage: { createFromPath: (p) => ({ path: p }) },
    Notification: NotificationImpl,
    notifications,
    powerMonitor: new EventEmitter(),
    shell: { openExternal: (u) => (opened.push(u), Promise.resolve()), opened },
    dialog: {
      showErrorBox: (title, content) => errorBoxes.push({ title, content }),
      shown: errorBoxes,
    },
    Tray: TrayImpl,
    trays,
    contextBridge: { exposeInMainWorld: (k, api) => void exposed.set(k, api), exposed },
    ipcRenderer: Object.assign(new EventEmitter(), { invoke: () => Promise.resolve(undefined) }),
  };
}
