import { EventEmitter } from 'node:events';

/** Events the engine emits for UIs, the tray and the scheduler. */
import type { CheckpointProgress } from './protection/progress';

export interface EngineEventMap {
  'checkpoint.progress': CheckpointProgress;
  'checkpoint.status': { checkpointId: string; planId: string; providerId: string; status: string; error?: string };
  'restore.status': { restoreId: string; checkpointId: string; status: string };
  'verification.status': { verificationId: string; checkpointId: string; status: string };
}

export type EngineEventName = keyof EngineEventMap;

/** A typed wrapper over EventEmitter. */
export class EngineEvents {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(100);
  }
  emit<K extends EngineEventName>(name: K, payload: EngineEventMap[K]): void {
    this.emitter.emit(name, payload);
  }
  on<K extends EngineEventName>(name: K, cb: (payload: EngineEventMap[K]) => void): () => void {
    this.emitter.on(name, cb);
    return () => this.emitter.off(name, cb);
  }
}
