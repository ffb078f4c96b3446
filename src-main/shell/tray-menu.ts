import type { MenuItemConstructorOptions } from 'electron';
import type { Caller, Engine } from '../engine';

export interface TrayState {
  nextRun: { at: string; operation: string } | null;
  lastRun: { at: string; status: string; plan: string | null; error: string | null } | null;
  running: number;
  plans: { id: string; name: string; providerId: string }[];
}

/** What the tray shows, read from the engine (cheap: small indexed queries). */
export function readTrayState(engine: Engine, caller: Caller): TrayState {
  const ops = engine.scheduledOperations.list(caller, { limit: '1000' });
  const next = ops.filter((o) => o.enabled && o.next_run_at).sort((a, b) => String(a.next_run_at).localeCompare(String(b.next_run_at)))[0];
  const last = engine.operationLogs
    .list(caller, { operation_type: 'protect', limit: '20' })
    .find((l) => l.ended_at && l.status !== 'dropped');
  const plans = engine.plans.list(caller, { limit: '1000', sort: 'name:asc' });
  const running = engine.operationLogs.list(caller, { status: 'protecting', limit: '100' }).length;
  return {
    nextRun: next?.next_run_at ? { at: next.next_run_at, operation: next.name } : null,
    lastRun: last
      ? {
          at: last.ended_at ?? '',
          status: last.status,
          plan: plans.find((p) => p.id === last.plan_id)?.name ?? null,
          error: last.error_info,
        }
      : null,
    running,
    plans: plans.map((p) => ({ id: p.id, name: p.name, providerId: p.provider_id })),
  };
}

function when(iso: string): string {
  const d = new Date(iso.endsWith('Z') ? iso : `${iso.slice(0, 23)}Z`);
  return d.toLocaleString();
}

export interface TrayActions {
  open(): void;
  backUp(planId: string, providerId: string): void;
  quit(): void;
}

/** The tray menu: next run, last result, "Back up now" per plan, Open, Quit. */
export function buildTrayMenu(state: TrayState, actions: TrayActions): MenuItemConstructorOptions[] {
  const lastLabel = state.lastRun
    ? `Last run: ${state.lastRun.status === 'available' ? 'succeeded' : 'FAILED'}${state.lastRun.plan ? ` (${state.lastRun.plan})` : ''}, ${when(state.lastRun.at)}`
    : 'Last run: none yet';
  const backUp: MenuItemConstructorOptions = state.plans.length
    ? {
        label: 'Back up now',
        submenu: state.plans.map((p) => ({ label: p.name, click: () => actions.backUp(p.id, p.providerId) })),
      }
    : { label: 'Back up now (create a plan first)', enabled: false };
  return [
    {
      label: state.nextRun ? `Next run: ${when(state.nextRun.at)} (${state.nextRun.operation})` : 'Next run: nothing scheduled',
      enabled: false,
    },
    { label: lastLabel, enabled: false },
    ...(state.running ? [{ label: `Backing up… (${state.running} running)`, enabled: false }] : []),
    { type: 'separator' },
    backUp,
    { label: 'Open Karbor Desktop', click: () => actions.open() },
    { type: 'separator' },
    { label: 'Quit', click: () => actions.quit() },
  ];
}

/** Which icon the tray shows. */
export function trayIconName(state: TrayState): 'idle' | 'running' | 'failed' {
  if (state.running) return 'running';
  if (state.lastRun && state.lastRun.status !== 'available') return 'failed';
  return 'idle';
}
