import type { AppInfo, UiMethod, UiOperations } from '../contract';
import type { Caller, Engine } from '../engine';
import type { JsonObject } from '../engine/db/schema/common';
import { protectableContext } from '../engine/protectables/context';

export type UiHandlers = {
  [M in UiMethod]: (input: UiOperations[M]['input']) => Promise<UiOperations[M]['output']> | UiOperations[M]['output'];
};

const page = (i: { limit?: number; marker?: string; sort?: string }) => ({
  ...(i.limit !== undefined ? { limit: String(i.limit) } : {}),
  ...(i.marker !== undefined ? { marker: i.marker } : {}),
  ...(i.sort !== undefined ? { sort: i.sort } : {}),
});

/**
 * The UI's handler table over the engine services, for one caller (the local project's admin).
 * Electron IPC and the headless HTTP bridge both dispatch into this same table.
 */
export function createUiHandlers(engine: Engine, caller: Caller, info: () => AppInfo): UiHandlers {
  return {
    'app.info': () => info(),
    'providers.list': () => engine.providers.list().map((p) => engine.providers.view(p)),
    'protectables.types': () =>
      engine.protectables.types().map((t) => ({ name: t, dependentTypes: [...engine.protectables.get(t).dependentTypes] })),
    'protectables.instances': (i) =>
      engine.protectables.listInstances(protectableContext(engine.ctx, caller.projectId), i.type, i.parameters ?? {}),
    'protectables.show': (i) =>
      engine.protectables.showInstance(protectableContext(engine.ctx, caller.projectId), i.type, i.id, i.parameters ?? {}),
    'plans.list': (i) =>
      engine.plans.list(caller, { ...page(i), ...(i.status ? { status: i.status } : {}), ...(i.name ? { name: i.name } : {}) }),
    'plans.get': (i) => engine.plans.get(caller, i.id),
    'plans.create': (i) =>
      engine.plans.create(caller, {
        name: i.name,
        description: i.description ?? null,
        provider_id: i.providerId,
        resources: i.resources,
        parameters: i.parameters,
      }),
    'plans.update': (i) => engine.plans.update(caller, i.id, i),
    'plans.delete': (i) => {
      engine.plans.delete(caller, i.id);
      return null;
    },
    'checkpoints.list': (i) =>
      engine.checkpoints.list(caller, i.providerId, {
        ...page(i),
        ...(i.planId ? { plan_id: i.planId } : {}),
        ...(i.status ? { status: i.status } : {}),
        ...(i.startDate ? { start_date: i.startDate } : {}),
        ...(i.endDate ? { end_date: i.endDate } : {}),
      }),
    'checkpoints.get': (i) => engine.checkpoints.get(caller, i.providerId, i.id),
    'checkpoints.create': (i) => engine.checkpoints.create(caller, i.providerId, i.planId, { extraInfo: { created_by: 'ui' } }),
    'checkpoints.delete': (i) => {
      engine.checkpoints.delete(caller, i.providerId, i.id);
      return null;
    },
    'checkpoints.cancel': (i) => {
      engine.checkpoints.cancel(caller, i.providerId, i.id);
      return null;
    },
    'checkpoints.resources': (i) => engine.checkpoints.resources(caller, i.providerId, i.id),
    'checkpoints.copy': (i) => ({
      checkpointIds: engine.checkpoints.copy(caller, i.providerId, i.planId, { provider_id: i.targetProviderId }).checkpoint_id,
    }),
    'restores.list': (i) => engine.restores.list(caller, { ...page(i), ...(i.checkpointId ? { checkpoint_id: i.checkpointId } : {}) }),
    'restores.get': (i) => engine.restores.get(caller, i.id),
    'restores.create': (i) =>
      engine.restores.create(caller, {
        provider_id: i.providerId,
        checkpoint_id: i.checkpointId,
        parameters: i.parameters,
        restore_target: i.restoreTarget ?? null,
        restore_auth: i.restoreAuth ?? null,
      }),
    'verifications.create': (i) =>
      engine.verifications.create(caller, { provider_id: i.providerId, checkpoint_id: i.checkpointId, parameters: i.parameters ?? {} }),
    'verifications.get': (i) => engine.verifications.get(caller, i.id),
    'triggers.list': (i) => engine.triggers.list(caller, page(i)),
    'triggers.create': (i) => engine.triggers.create(caller, { name: i.name, type: 'time', properties: i.properties }),
    'triggers.update': (i) => engine.triggers.update(caller, i.id, { name: i.name, properties: i.properties }),
    'triggers.delete': (i) => {
      engine.triggers.delete(caller, i.id);
      return null;
    },
    'triggers.preview': (i) => engine.triggers.preview(i.properties, i.count ?? 5),
    'schedules.list': (i) => engine.scheduledOperations.list(caller, page(i)),
    'schedules.create': (i) => {
      const def: JsonObject = { provider_id: i.providerId, plan_id: i.planId };
      if (i.maxBackups !== undefined) def.max_backups = i.maxBackups;
      if (i.retentionDays !== undefined) def.retention_duration = i.retentionDays;
      return engine.scheduledOperations.create(caller, {
        name: i.name,
        description: i.description ?? null,
        operation_type: i.operationType,
        trigger_id: i.triggerId,
        operation_definition: def,
      });
    },
    'schedules.setEnabled': (i) => engine.scheduledOperations.setEnabled(caller, i.id, i.enabled),
    'schedules.delete': (i) => {
      engine.scheduledOperations.delete(caller, i.id);
      return null;
    },
    'settings.get': () => engine.settings.get(),
    'settings.update': (i) => engine.settings.update(i),
    'clouds.list': () => engine.clouds.list(),
    'clouds.add': (i) => engine.clouds.add(i),
    'clouds.test': (i) => engine.clouds.test(i.name),
    'clouds.remove': (i) => {
      engine.clouds.remove(i.name);
      return null;
    },
    'logs.list': (i) =>
      engine.operationLogs.list(caller, {
        ...page(i),
        ...(i.planId ? { plan_id: i.planId } : {}),
        ...(i.checkpointId ? { checkpoint_id: i.checkpointId } : {}),
        ...(i.status ? { status: i.status } : {}),
        ...(i.operationType ? { operation_type: i.operationType } : {}),
      }),
  };
}
