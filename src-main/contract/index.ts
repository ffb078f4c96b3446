/**
 * The UI contract: every operation the renderer may invoke (`domain.verb` → input and output)
 * and every event it may receive. Imported type-only by main, preload and renderer; the same
 * table serves Electron IPC and, in headless mode, `POST /ui/invoke` + server-sent events.
 */
import type { Checkpoint, CheckpointResource } from '../engine/checkpoints/service';
import type { CloudInput } from '../engine/clouds/input';
import type { CloudList, CloudTestResult, CloudView } from '../engine/clouds/views';
import type { PlanResource, TriggerProperties } from '../engine/db/schema';
import type { JsonObject } from '../engine/db/schema/common';
import type { EngineEventMap } from '../engine/events';
import type { OperationLog } from '../engine/operation-logs/service';
import type { Plan, PlanStatus } from '../engine/plans/service';
import type { Instance } from '../engine/protectables/types';
import type { ProviderView } from '../engine/providers/types';
import type { Restore, Verification } from '../engine/restores/service';
import type { ScheduledOperation } from '../engine/scheduled-operations/service';
import type { AppSettings } from '../engine/settings/service';
import type { Trigger } from '../engine/triggers/service';

export type {
  AppSettings,
  Checkpoint,
  CheckpointResource,
  CloudInput,
  CloudList,
  CloudTestResult,
  CloudView,
  Instance,
  OperationLog,
  Plan,
  PlanResource,
  ProviderView,
  Restore,
  ScheduledOperation,
  Trigger,
  Verification,
};

export interface AppInfo {
  version: string;
  dataDir: string;
  apiEndpoint: string | null;
  tokenFile: string | null;
  projectId: string;
  mode: 'desktop' | 'headless';
  providerFiles: { file: string; providerId?: string; error?: string }[];
}

/** The login `restore_target` is restored with (what Karbor's client sends as `restore_auth`). */
export type RestorePasswordAuth = {
  type: 'password';
  username: string;
  password: string;
};

export interface PageInput {
  limit?: number;
  marker?: string;
  sort?: string;
}

export interface UiOperations {
  'app.info': { input: Record<string, never>; output: AppInfo };
  'providers.list': { input: Record<string, never>; output: ProviderView[] };
  'protectables.types': { input: Record<string, never>; output: { name: string; dependentTypes: string[] }[] };
  'protectables.instances': { input: { type: string; parameters?: JsonObject }; output: Instance[] };
  /** One instance with its direct dependents (to expand a dependents tree a level at a time). */
  'protectables.show': { input: { type: string; id: string; parameters?: JsonObject }; output: Instance };
  'plans.list': { input: PageInput & { status?: PlanStatus; name?: string }; output: Plan[] };
  'plans.get': { input: { id: string }; output: Plan };
  'plans.create': {
    input: { name: string; description?: string; providerId: string; resources: PlanResource[]; parameters: JsonObject };
    output: Plan;
  };
  'plans.update': {
    input: { id: string; name?: string; description?: string; resources?: PlanResource[]; parameters?: JsonObject; status?: PlanStatus };
    output: Plan;
  };
  'plans.delete': { input: { id: string }; output: null };
  'checkpoints.list': {
    input: PageInput & { providerId: string; planId?: string; status?: string; startDate?: string; endDate?: string };
    output: Checkpoint[];
  };
  'checkpoints.get': { input: { providerId: string; id: string }; output: Checkpoint };
  'checkpoints.create': { input: { providerId: string; planId: string }; output: Checkpoint };
  'checkpoints.delete': { input: { providerId: string; id: string }; output: null };
  'checkpoints.cancel': { input: { providerId: string; id: string }; output: null };
  /** Per-resource status, saved info, bytes and error of a checkpoint. */
  'checkpoints.resources': { input: { providerId: string; id: string }; output: CheckpointResource[] };
  /** Copies the plan's available checkpoints not copied yet into another provider's bank; returns the new checkpoints' ids. */
  'checkpoints.copy': { input: { providerId: string; planId: string; targetProviderId: string }; output: { checkpointIds: string[] } };
  'restores.list': { input: PageInput & { checkpointId?: string }; output: Restore[] };
  'restores.get': { input: { id: string }; output: Restore };
  /**
   * `restoreTarget` is Karbor's `restore_target` (for OpenStack: the target's Keystone v3 URL, the
   * project and domains in its query); `restoreAuth` its login. The password reaches only the
   * running restore: every answer, this one included, shows it as `***`.
   */
  'restores.create': {
    input: { providerId: string; checkpointId: string; parameters: JsonObject; restoreTarget?: string; restoreAuth?: RestorePasswordAuth };
    output: Restore;
  };
  'verifications.create': { input: { providerId: string; checkpointId: string; parameters?: JsonObject }; output: Verification };
  'verifications.get': { input: { id: string }; output: Verification };
  'triggers.list': { input: PageInput; output: Trigger[] };
  'triggers.create': { input: { name: string; properties: TriggerProperties }; output: Trigger };
  'triggers.update': { input: { id: string; name?: string; properties?: TriggerProperties }; output: Trigger };
  'triggers.delete': { input: { id: string }; output: null };
  /** The next occurrences of a trigger's properties (UTC ISO), for previews; invalid → error. */
  'triggers.preview': { input: { properties: TriggerProperties; count?: number }; output: string[] };
  'schedules.list': { input: PageInput; output: ScheduledOperation[] };
  'schedules.create': {
    input: {
      name: string;
      description?: string;
      operationType: 'protect' | 'retention_protect';
      triggerId: string;
      providerId: string;
      planId: string;
      maxBackups?: number;
      retentionDays?: number;
    };
    output: ScheduledOperation;
  };
  'schedules.setEnabled': { input: { id: string; enabled: boolean }; output: ScheduledOperation };
  'schedules.delete': { input: { id: string }; output: null };
  'settings.get': { input: Record<string, never>; output: AppSettings };
  /** Desktop preferences; in the headless mode they are stored and apply to the desktop app. */
  'settings.update': { input: Partial<AppSettings>; output: AppSettings };
  /** OpenStack clouds: from clouds.yaml, `OS_*` and those added in the app; never with their secrets. */
  'clouds.list': { input: Record<string, never>; output: CloudList };
  /** Adds a cloud to the app's own clouds.yaml (0600, in the data folder). */
  'clouds.add': { input: CloudInput; output: CloudView };
  /** Logs in to the cloud's Keystone; reports the scope and the catalog's services. */
  'clouds.test': { input: { name: string }; output: CloudTestResult };
  /** Removes a cloud added in the app (not one of a clouds.yaml on the search path or `OS_*`). */
  'clouds.remove': { input: { name: string }; output: null };
  'logs.list': {
    input: PageInput & { planId?: string; checkpointId?: string; status?: string; operationType?: string };
    output: OperationLog[];
  };
}

export type UiMethod = keyof UiOperations;
export type UiInput<M extends UiMethod> = UiOperations[M]['input'];
export type UiOutput<M extends UiMethod> = UiOperations[M]['output'];

export interface UiError {
  /** Stable UPPER_SNAKE code (PLAN_NOT_FOUND, INVALID, ...). */
  code: string;
  /** A sentence a user understands. */
  message: string;
}

export type UiResult<T> = { ok: true; value: T } | { ok: false; error: UiError };

export type UiEvents = EngineEventMap;
export type UiEventName = keyof UiEvents;

/** What the preload exposes as `window.karbor`, and what the HTTP client implements too. */
export interface KarborBridge {
  invoke<M extends UiMethod>(method: M, input: UiInput<M>): Promise<UiResult<UiOutput<M>>>;
  on<E extends UiEventName>(event: E, cb: (payload: UiEvents[E]) => void): () => void;
}

export const UI_EVENT_NAMES: readonly UiEventName[] = ['checkpoint.status', 'checkpoint.progress', 'restore.status', 'verification.status'];
export const IPC_INVOKE = 'karbor:invoke';
export const IPC_EVENT = 'karbor:event';
