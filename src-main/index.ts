import { startDesktop } from './shell/app';

// Electron entry: everything that imports `electron` lives in ./shell.
startDesktop();
