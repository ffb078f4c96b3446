import type { Engine } from '../engine';

export interface Notifier {
  show(title: string, body: string): void;
}

export interface NotifySettings {
  onFailure: boolean;
  onSuccess: boolean;
}

/** Desktop notifications for finished protects: always on failure, on success if asked. */
export function watchForNotifications(engine: Engine, notifier: Notifier, settings: () => NotifySettings): () => void {
  return engine.events.on('checkpoint.status', (e) => {
    const s = settings();
    let plan = e.planId;
    try {
      plan = engine.plans.get({ projectId: '', isAdmin: true }, e.planId).name;
    } catch {
      // The plan may be gone; its id still tells the user which backup it was.
    }
    if (e.status === 'error' && s.onFailure) notifier.show('Backup failed', `${plan}: ${e.error ?? 'unknown error'}`);
    if (e.status === 'available' && s.onSuccess) notifier.show('Backup finished', `${plan}: checkpoint ${e.checkpointId} is available`);
  });
}
