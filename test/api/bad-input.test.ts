import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtectablePlugin } from '../../src-main/engine/protectables/types';
import type { ProviderDefinition } from '../../src-main/engine/providers/types';
import { createPlan, DIR_TYPE, eventually, NOOP, startHarness, type ApiResponse, type Harness } from '../helpers/harness';

/**
 * Malformed and forbidden requests: each must get its exact 4xx status, Karbor's fault body
 * `{"<name>": {"code": N, "message": "..."}}` with a message naming what was wrong, and the
 * `x-openstack-request-id` header. None may become a 5xx.
 */

const FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  424: 'failedDependency',
};

/** A second provider using the No-Op plugin, so provider mismatches can be provoked. */
const OTHER_PROVIDER = '0c3c7b4e-51b4-4f0c-9a57-6a0f3f0e1c2d';
const otherProvider: ProviderDefinition = {
  id: OTHER_PROVIDER,
  name: 'Other No-Op Provider',
  description: 'A second No-Op provider for tests',
  plugins: ['noop'],
  enabled: true,
};

/** A protectable type whose graph walk waits until the test releases it: checkpoints stay `protecting`. */
const BLOCK_TYPE = 'Test::Blocking';
let releaseGate: () => void = () => undefined;
const gate = new Promise<void>((resolve) => {
  releaseGate = resolve;
});
const blockingProtectable: ProtectablePlugin = {
  type: BLOCK_TYPE,
  dependentTypes: [],
  listInstances: () => Promise.resolve([]),
  showInstance: () => Promise.resolve(undefined),
  dependents: async () => {
    await gate;
    return [];
  },
};

interface Fixtures {
  planId: string;
  otherProviderPlanId: string;
  availableCheckpointId: string;
  protectingCheckpointId: string;
  triggerInUseId: string;
  memberProject: string;
  memberToken: string;
  quotaProject: string;
  resource: { id: string; type: string; name: string };
}

type Lazy<T> = T | ((f: Fixtures) => T);

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under the endpoint, or under the server root when `absolute`. */
  path: Lazy<string>;
  absolute?: boolean;
  body?: Record<string, unknown> | ((f: Fixtures) => unknown);
  raw?: string;
  headers?: Lazy<Record<string, string>>;
  /** Token to send; null sends none; default is the admin token. */
  token?: Lazy<string | null>;
  /** Send through node:http so a `Host` header can be forged (fetch forbids it). */
  host?: (port: number) => string;
  status: number;
  /** What the fault message must contain (the field or parameter at fault). */
  mention?: string | RegExp;
}

const resolve = <T>(v: Lazy<T>, f: Fixtures): T => (typeof v === 'function' ? (v as (f: Fixtures) => T)(f) : v);

const UNKNOWN = '6a1e5d0e-0000-4000-8000-00000000abcd';
const CP = `/providers/${NOOP}/checkpoints`;

const planBody =
  (over: Record<string, unknown> = {}) =>
  (f: Fixtures) => ({
    plan: { name: 'p', provider_id: NOOP, resources: [f.resource], parameters: {}, ...over },
  });
const triggerBody = (properties: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  trigger_info: { name: 't', type: 'time', properties, ...over },
});
const operationBody =
  (over: Record<string, unknown>, def: Record<string, unknown> = {}) =>
  (f: Fixtures) => ({
    scheduled_operation: {
      name: 'op',
      operation_type: 'protect',
      trigger_id: f.triggerInUseId,
      operation_definition: { provider_id: NOOP, plan_id: f.planId, ...def },
      ...over,
    },
  });

const CASES: Case[] = [
  // Body framing
  { name: 'invalid JSON body', method: 'POST', path: '/plans', raw: '{"plan": {"name": ', status: 400, mention: 'Malformed request body' },
  { name: 'JSON array body', method: 'POST', path: '/plans', raw: '[{"plan": {}}]', status: 400, mention: 'request body' },
  { name: 'JSON string body', method: 'POST', path: '/triggers', raw: '"trigger"', status: 400, mention: 'request body' },
  { name: 'empty body on POST (JSON content type)', method: 'POST', path: '/plans', raw: '', status: 400, mention: 'request body' },
  { name: 'no body at all on POST', method: 'POST', path: '/triggers', status: 400, mention: 'request body' },
  {
    name: 'text/plain content type',
    method: 'POST',
    path: '/plans',
    raw: '{"plan": {}}',
    headers: { 'Content-Type': 'text/plain' },
    status: 415,
    mention: 'text/plain',
  },
  {
    name: 'body over 1 MiB',
    method: 'POST',
    path: '/plans',
    raw: JSON.stringify({ plan: { name: 'x'.repeat(1024 * 1024 + 10) } }),
    status: 413,
    mention: /too large/i,
  },
  { name: 'missing envelope key', method: 'POST', path: '/plans', body: {}, status: 400, mention: "'plan'" },
  {
    name: 'unknown top-level key',
    method: 'POST',
    path: '/plans',
    body: (f) => ({ ...planBody()(f), extra: 1 }),
    status: 400,
    mention: "'extra'",
  },
  {
    name: 'unknown key inside the envelope',
    method: 'POST',
    path: '/plans',
    body: planBody({ colour: 'red' }),
    status: 400,
    mention: 'plan.colour',
  },

  // Plans: required fields and types
  { name: 'plan without name', method: 'POST', path: '/plans', body: planBody({ name: undefined }), status: 400, mention: 'plan.name' },
  {
    name: 'plan without provider_id',
    method: 'POST',
    path: '/plans',
    body: planBody({ provider_id: undefined }),
    status: 400,
    mention: 'plan.provider_id',
  },
  {
    name: 'plan without resources',
    method: 'POST',
    path: '/plans',
    body: planBody({ resources: undefined }),
    status: 400,
    mention: 'plan.resources',
  },
  {
    name: 'plan without parameters',
    method: 'POST',
    path: '/plans',
    body: planBody({ parameters: undefined }),
    status: 400,
    mention: 'plan.parameters',
  },
  { name: 'plan name as a number', method: 'POST', path: '/plans', body: planBody({ name: 42 }), status: 400, mention: 'plan.name' },
  { name: 'plan name empty', method: 'POST', path: '/plans', body: planBody({ name: '   ' }), status: 400, mention: 'plan.name' },
  {
    name: 'plan name too long',
    method: 'POST',
    path: '/plans',
    body: planBody({ name: 'n'.repeat(256) }),
    status: 400,
    mention: 'plan.name',
  },
  {
    name: 'plan resources as an object',
    method: 'POST',
    path: '/plans',
    body: (f) => planBody({ resources: f.resource })(f),
    status: 400,
    mention: 'plan.resources',
  },
  {
    name: 'plan resource item without type',
    method: 'POST',
    path: '/plans',
    body: (f) => planBody({ resources: [{ id: f.resource.id, name: f.resource.name }] })(f),
    status: 400,
    mention: /plan\.resources.*type/,
  },
  {
    name: 'plan parameters as a list',
    method: 'POST',
    path: '/plans',
    body: planBody({ parameters: [] }),
    status: 400,
    mention: 'plan.parameters',
  },
  {
    name: 'plan with an empty resources list',
    method: 'POST',
    path: '/plans',
    body: planBody({ resources: [] }),
    status: 400,
    mention: 'plan.resources',
  },
  {
    name: 'plan with an unknown resource type',
    method: 'POST',
    path: '/plans',
    body: planBody({ resources: [{ id: UNKNOWN, type: 'Acme::Widget::Gadget', name: 'vm' }] }),
    status: 400,
    mention: /plan\.resources\[0\]\.type 'Acme::Widget::Gadget'/,
  },
  {
    name: 'plan with duplicate resources',
    method: 'POST',
    path: '/plans',
    body: (f) => planBody({ resources: [f.resource, f.resource] })(f),
    status: 400,
    mention: 'plan.resources[1]',
  },
  {
    name: 'plan with an unknown provider',
    method: 'POST',
    path: '/plans',
    body: planBody({ provider_id: UNKNOWN }),
    status: 404,
    mention: UNKNOWN,
  },
  {
    name: 'plan with a malformed provider id',
    method: 'POST',
    path: '/plans',
    body: planBody({ provider_id: 'noop' }),
    status: 400,
    mention: 'provider_id',
  },
  {
    name: 'plan parameters with a property outside the No-Op options_schema',
    method: 'POST',
    path: '/plans',
    body: planBody({ parameters: { [DIR_TYPE]: { compression: 'zstd' } } }),
    status: 400,
    mention: /plan\.parameters.*compression/,
  },
  {
    name: 'plan parameters for a type the provider does not protect',
    method: 'POST',
    path: '/plans',
    body: planBody({ parameters: { 'Acme::Widget::Gadget': {} } }),
    status: 400,
    mention: /plan\.parameters.*Acme::Widget::Gadget/,
  },
  {
    name: 'plan parameters with a malformed key',
    method: 'POST',
    path: '/plans',
    body: planBody({ parameters: { [`${DIR_TYPE}#a#b`]: {} } }),
    status: 400,
    mention: 'plan.parameters',
  },
  {
    name: "plan status 'bogus'",
    method: 'PUT',
    path: (f) => `/plans/${f.planId}`,
    body: { plan: { status: 'bogus' } },
    status: 400,
    mention: 'plan.status',
  },
  {
    name: 'plan update with nothing to change',
    method: 'PUT',
    path: (f) => `/plans/${f.planId}`,
    body: { plan: {} },
    status: 400,
    mention: "'plan'",
  },
  {
    name: 'plan update with name as a list',
    method: 'PUT',
    path: (f) => `/plans/${f.planId}`,
    body: { plan: { name: ['a'] } },
    status: 400,
    mention: 'plan.name',
  },

  // Ids in the path
  { name: 'malformed plan id', method: 'GET', path: '/plans/not-a-uuid', status: 400, mention: 'plan_id' },
  { name: 'malformed checkpoint id', method: 'GET', path: `${CP}/not-a-uuid`, status: 400, mention: 'checkpoint_id' },
  { name: 'malformed restore id', method: 'GET', path: '/restores/not-a-uuid', status: 400, mention: 'restore_id' },
  { name: 'malformed verification id', method: 'GET', path: '/verifications/not-a-uuid', status: 400, mention: 'verification_id' },
  { name: 'malformed trigger id', method: 'GET', path: '/triggers/not-a-uuid', status: 400, mention: 'trigger_id' },
  {
    name: 'malformed scheduled operation id',
    method: 'GET',
    path: '/scheduled_operations/not-a-uuid',
    status: 400,
    mention: 'scheduled_operation_id',
  },
  { name: 'malformed operation log id', method: 'GET', path: '/operation_logs/not-a-uuid', status: 400, mention: 'operation_log_id' },
  { name: 'malformed provider id', method: 'GET', path: '/providers/not-a-uuid', status: 400, mention: 'provider_id' },
  {
    name: 'malformed provider id in a checkpoint path',
    method: 'GET',
    path: '/providers/not-a-uuid/checkpoints',
    status: 400,
    mention: 'provider_id',
  },
  { name: 'malformed plan id on delete', method: 'DELETE', path: '/plans/1234', status: 400, mention: 'plan_id' },
  { name: 'unknown plan', method: 'GET', path: `/plans/${UNKNOWN}`, status: 404, mention: UNKNOWN },
  { name: 'unknown checkpoint', method: 'GET', path: `${CP}/${UNKNOWN}`, status: 404, mention: UNKNOWN },
  { name: 'unknown restore', method: 'GET', path: `/restores/${UNKNOWN}`, status: 404, mention: UNKNOWN },
  { name: 'unknown trigger', method: 'GET', path: `/triggers/${UNKNOWN}`, status: 404, mention: UNKNOWN },
  { name: 'unknown scheduled operation', method: 'DELETE', path: `/scheduled_operations/${UNKNOWN}`, status: 404, mention: UNKNOWN },
  { name: 'unknown operation log', method: 'GET', path: `/operation_logs/${UNKNOWN}`, status: 404, mention: UNKNOWN },
  { name: 'unknown provider', method: 'GET', path: `/providers/${UNKNOWN}`, status: 404, mention: UNKNOWN },
  {
    name: 'checkpoint of the wrong provider',
    method: 'GET',
    path: (f) => `/providers/${OTHER_PROVIDER}/checkpoints/${f.availableCheckpointId}`,
    status: 404,
    mention: 'Checkpoint',
  },
  { name: 'unknown protectable type', method: 'GET', path: '/protectables/OS::Nova::Nothing', status: 400, mention: 'OS::Nova::Nothing' },
  { name: 'unknown route', method: 'GET', path: '/volumes', status: 404, mention: '/volumes' },

  // List parameters
  { name: 'limit=0', method: 'GET', path: '/plans?limit=0', status: 400, mention: 'limit' },
  { name: 'limit=-1', method: 'GET', path: '/plans?limit=-1', status: 400, mention: 'limit' },
  { name: 'limit=abc', method: 'GET', path: '/triggers?limit=abc', status: 400, mention: 'limit' },
  { name: 'limit=1001', method: 'GET', path: '/operation_logs?limit=1001', status: 400, mention: 'limit' },
  { name: 'limit=1.5', method: 'GET', path: `${CP}?limit=1.5`, status: 400, mention: 'limit' },
  { name: 'unknown marker', method: 'GET', path: `/plans?marker=${UNKNOWN}`, status: 400, mention: 'marker' },
  { name: 'unknown marker (checkpoints)', method: 'GET', path: `${CP}?marker=${UNKNOWN}`, status: 400, mention: 'marker' },
  { name: 'malformed marker', method: 'GET', path: '/plans?marker=zzz', status: 400, mention: 'marker' },
  { name: 'bad sort key', method: 'GET', path: '/plans?sort=colour:asc', status: 400, mention: /sort.*colour/ },
  { name: 'bad sort dir', method: 'GET', path: '/plans?sort=name:sideways', status: 400, mention: /sort.*sideways/ },
  { name: 'malformed sort entry', method: 'GET', path: '/plans?sort=name:asc:desc', status: 400, mention: 'sort' },
  { name: 'bad legacy sort_key', method: 'GET', path: '/plans?sort_key=colour', status: 400, mention: /sort_key.*colour/ },
  { name: 'bad legacy sort_dir', method: 'GET', path: '/plans?sort_key=name&sort_dir=up', status: 400, mention: /sort_dir.*up/ },
  { name: 'mixing sort and sort_key', method: 'GET', path: '/plans?sort=name:asc&sort_key=name', status: 400, mention: 'sort_key' },
  { name: 'repeated query parameter', method: 'GET', path: '/plans?limit=5&limit=6', status: 400, mention: 'limit' },
  { name: "plan list status filter 'bogus'", method: 'GET', path: '/plans?status=bogus', status: 400, mention: 'status' },
  { name: 'plan list malformed provider_id filter', method: 'GET', path: '/plans?provider_id=x', status: 400, mention: 'provider_id' },
  { name: 'checkpoint start_date=2020-13-45', method: 'GET', path: `${CP}?start_date=2020-13-45`, status: 400, mention: 'start_date' },
  { name: 'checkpoint end_date not a date', method: 'GET', path: `${CP}?end_date=yesterday`, status: 400, mention: 'end_date' },
  {
    name: 'checkpoint end_date before start_date',
    method: 'GET',
    path: `${CP}?start_date=2024-05-02&end_date=2024-05-01`,
    status: 400,
    mention: 'end_date',
  },
  { name: 'checkpoint malformed plan_id filter', method: 'GET', path: `${CP}?plan_id=12`, status: 400, mention: 'plan_id' },
  {
    name: "operation log operation_type 'bogus'",
    method: 'GET',
    path: '/operation_logs?operation_type=bogus',
    status: 400,
    mention: 'operation_type',
  },
  { name: "restore status filter 'bogus'", method: 'GET', path: '/restores?status=bogus', status: 400, mention: 'status' },
  {
    name: 'protectable instances with a malformed parameters literal',
    method: 'GET',
    path: `/protectables/${DIR_TYPE}/instances?parameters=${encodeURIComponent("{'path': ")}`,
    status: 400,
    mention: 'parameters',
  },

  // Checkpoints
  { name: 'checkpoint without plan_id', method: 'POST', path: CP, body: { checkpoint: {} }, status: 400, mention: 'checkpoint.plan_id' },
  {
    name: 'checkpoint with a malformed plan_id',
    method: 'POST',
    path: CP,
    body: { checkpoint: { plan_id: 'abc' } },
    status: 400,
    mention: 'checkpoint.plan_id',
  },
  {
    name: 'checkpoint of an unknown plan',
    method: 'POST',
    path: CP,
    body: { checkpoint: { plan_id: UNKNOWN } },
    status: 404,
    mention: UNKNOWN,
  },
  {
    name: "checkpoint of another provider's plan",
    method: 'POST',
    path: CP,
    body: (f) => ({ checkpoint: { plan_id: f.otherProviderPlanId } }),
    status: 400,
    mention: OTHER_PROVIDER,
  },
  {
    name: 'checkpoint with both extra_info and extra-info',
    method: 'POST',
    path: CP,
    body: (f) => ({ checkpoint: { plan_id: f.planId, extra_info: { a: 1 }, 'extra-info': { b: 2 } } }),
    status: 400,
    mention: 'extra-info',
  },
  {
    name: 'checkpoint extra_info as a string',
    method: 'POST',
    path: CP,
    body: (f) => ({ checkpoint: { plan_id: f.planId, extra_info: 'x' } }),
    status: 400,
    mention: 'checkpoint.extra_info',
  },
  {
    name: 'checkpoint on an unknown provider',
    method: 'POST',
    path: `/providers/${UNKNOWN}/checkpoints`,
    body: (f) => ({ checkpoint: { plan_id: f.planId } }),
    status: 404,
    mention: UNKNOWN,
  },
  {
    name: 'delete a protecting checkpoint',
    method: 'DELETE',
    path: (f) => `${CP}/${f.protectingCheckpointId}`,
    status: 409,
    mention: 'protecting',
  },
  {
    name: "reset-state to 'bogus'",
    method: 'PUT',
    path: (f) => `${CP}/${f.availableCheckpointId}`,
    body: { 'os-resetState': { state: 'bogus' } },
    status: 400,
    mention: 'os-resetState.state',
  },
  {
    name: 'reset-state without state',
    method: 'PUT',
    path: (f) => `${CP}/${f.availableCheckpointId}`,
    body: { 'os-resetState': {} },
    status: 400,
    mention: 'os-resetState.state',
  },

  // Restores and verifications
  {
    name: 'restore of a checkpoint that is not available',
    method: 'POST',
    path: '/restores',
    body: (f) => ({ restore: { provider_id: NOOP, checkpoint_id: f.protectingCheckpointId, parameters: {} } }),
    status: 400,
    mention: 'not available',
  },
  {
    name: 'restore with parameters for an unsupported type',
    method: 'POST',
    path: '/restores',
    body: (f) => ({ restore: { provider_id: NOOP, checkpoint_id: f.availableCheckpointId, parameters: { 'Acme::Widget::Volume': {} } } }),
    status: 400,
    mention: /restore\.parameters.*Acme::Widget::Volume/,
  },
  {
    name: 'restore with a property outside the restore_schema',
    method: 'POST',
    path: '/restores',
    body: (f) => ({
      restore: { provider_id: NOOP, checkpoint_id: f.availableCheckpointId, parameters: { [DIR_TYPE]: { target_path: '/x' } } },
    }),
    status: 400,
    mention: /restore\.parameters.*target_path/,
  },
  {
    name: 'restore without parameters',
    method: 'POST',
    path: '/restores',
    body: (f) => ({ restore: { provider_id: NOOP, checkpoint_id: f.availableCheckpointId } }),
    status: 400,
    mention: 'restore.parameters',
  },
  {
    name: 'restore of an unknown checkpoint',
    method: 'POST',
    path: '/restores',
    body: { restore: { provider_id: NOOP, checkpoint_id: UNKNOWN, parameters: {} } },
    status: 404,
    mention: UNKNOWN,
  },
  {
    name: 'restore with a malformed checkpoint id',
    method: 'POST',
    path: '/restores',
    body: { restore: { provider_id: NOOP, checkpoint_id: 'cp', parameters: {} } },
    status: 400,
    mention: 'restore.checkpoint_id',
  },
  {
    name: 'verification of a checkpoint that is not available',
    method: 'POST',
    path: '/verifications',
    body: (f) => ({ verification: { provider_id: NOOP, checkpoint_id: f.protectingCheckpointId, parameters: {} } }),
    status: 400,
    mention: 'not available',
  },

  // Triggers
  {
    name: "trigger format 'hourly'",
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'hourly', pattern: '0 * * * *' }),
    status: 400,
    mention: 'trigger_info.properties.format',
  },
  {
    name: 'trigger bad crontab pattern',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '61 * * * *' }),
    status: 400,
    mention: 'trigger_info.properties.pattern',
  },
  {
    name: 'trigger crontab with too few fields',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '* *' }),
    status: 400,
    mention: 'trigger_info.properties.pattern',
  },
  {
    name: 'trigger bad calendar pattern',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'calendar', pattern: 'BEGIN:VEVENT\nRRULE:FREQ=SOMETIMES\nEND:VEVENT' }),
    status: 400,
    mention: 'trigger_info.properties.pattern',
  },
  {
    name: 'trigger calendar pattern without VEVENT',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'calendar', pattern: 'RRULE:FREQ=DAILY' }),
    status: 400,
    mention: 'trigger_info.properties.pattern',
  },
  {
    name: 'trigger end_time before start_time',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '0 3 * * *', start_time: '2030-01-02 00:00:00', end_time: '2030-01-01 00:00:00' }),
    status: 400,
    mention: 'end_time',
  },
  {
    name: 'trigger invalid start_time',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '0 3 * * *', start_time: '2030-02-30 10:00:00' }),
    status: 400,
    mention: 'start_time',
  },
  {
    name: "trigger window 'abc'",
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '0 3 * * *', window: 'abc' }),
    status: 400,
    mention: 'trigger_info.properties.window',
  },
  {
    name: 'trigger window below range',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '0 3 * * *', window: 5 }),
    status: 400,
    mention: 'trigger_info.properties.window',
  },
  {
    name: 'trigger window above range',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '0 3 * * *', window: 30 * 86_400 }),
    status: 400,
    mention: 'trigger_info.properties.window',
  },
  {
    name: 'trigger firing every second',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '* * * * * *' }),
    status: 400,
    mention: /pattern.*minimum interval/,
  },
  {
    name: 'trigger calendar firing every second',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'calendar', pattern: 'BEGIN:VEVENT\nRRULE:FREQ=SECONDLY;INTERVAL=1\nEND:VEVENT' }),
    status: 400,
    mention: /pattern.*minimum interval/,
  },
  {
    name: 'trigger with no future occurrence',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '0 3 * * *', end_time: '2001-01-01 00:00:00' }),
    status: 400,
    mention: 'trigger_info.properties',
  },
  {
    name: "trigger type 'event'",
    method: 'POST',
    path: '/triggers',
    body: triggerBody({ format: 'crontab', pattern: '0 3 * * *' }, { type: 'event' }),
    status: 400,
    mention: 'trigger_info.type',
  },
  {
    name: 'trigger without properties',
    method: 'POST',
    path: '/triggers',
    body: { trigger_info: { name: 't', type: 'time' } },
    status: 400,
    mention: 'trigger_info.properties',
  },
  {
    name: 'trigger properties as a string',
    method: 'POST',
    path: '/triggers',
    body: triggerBody({}, { properties: '0 3 * * *' }),
    status: 400,
    mention: 'trigger_info.properties',
  },
  {
    name: 'trigger in use deleted',
    method: 'DELETE',
    path: (f) => `/triggers/${f.triggerInUseId}`,
    status: 424,
    mention: 'scheduled operation',
  },
  {
    name: 'trigger update with a bad pattern',
    method: 'PUT',
    path: (f) => `/triggers/${f.triggerInUseId}`,
    body: { trigger_info: { properties: { format: 'crontab', pattern: 'every day' } } },
    status: 400,
    mention: 'trigger_info.properties.pattern',
  },

  // Scheduled operations
  {
    name: 'scheduled operation with an unknown trigger',
    method: 'POST',
    path: '/scheduled_operations',
    body: operationBody({ trigger_id: UNKNOWN }),
    status: 404,
    mention: UNKNOWN,
  },
  {
    name: 'scheduled operation with a malformed trigger id',
    method: 'POST',
    path: '/scheduled_operations',
    body: operationBody({ trigger_id: 't1' }),
    status: 400,
    mention: 'scheduled_operation.trigger_id',
  },
  {
    name: "scheduled operation type 'backup'",
    method: 'POST',
    path: '/scheduled_operations',
    body: operationBody({ operation_type: 'backup' }),
    status: 400,
    mention: 'scheduled_operation.operation_type',
  },
  {
    name: 'scheduled operation with a plan of another provider',
    method: 'POST',
    path: '/scheduled_operations',
    body: operationBody({}, { provider_id: OTHER_PROVIDER }),
    status: 400,
    mention: 'scheduled_operation.operation_definition',
  },
  {
    name: 'scheduled operation with an unknown plan',
    method: 'POST',
    path: '/scheduled_operations',
    body: operationBody({}, { plan_id: UNKNOWN }),
    status: 404,
    mention: UNKNOWN,
  },
  {
    name: "scheduled operation max_backups 'many'",
    method: 'POST',
    path: '/scheduled_operations',
    body: operationBody({ operation_type: 'retention_protect' }, { max_backups: 'many' }),
    status: 400,
    mention: 'operation_definition.max_backups',
  },
  {
    name: 'scheduled operation definition as a list',
    method: 'POST',
    path: '/scheduled_operations',
    body: (f) => ({
      scheduled_operation: { name: 'op', operation_type: 'protect', trigger_id: f.triggerInUseId, operation_definition: [] },
    }),
    status: 400,
    mention: 'scheduled_operation.operation_definition',
  },

  // Auth, policy and origin
  { name: 'no token', method: 'GET', path: '/plans', token: null, status: 401, mention: 'X-Auth-Token' },
  { name: 'invalid token', method: 'GET', path: '/plans', token: 'kbd_not-a-real-token', status: 401, mention: 'invalid token' },
  { name: 'no token on a POST', method: 'POST', path: '/plans', body: planBody(), token: null, status: 401, mention: 'authentication' },
  {
    name: "member token on another project's path",
    method: 'GET',
    path: '/plans',
    token: (f) => f.memberToken,
    status: 400,
    mention: 'Malformed request url',
  },
  {
    name: "another project's plan seen by a member",
    method: 'GET',
    absolute: true,
    path: (f) => `/v1/${f.memberProject}/plans/${f.planId}`,
    token: (f) => f.memberToken,
    status: 404,
    mention: 'could not be found',
  },
  {
    name: "another project's trigger seen by a member",
    method: 'DELETE',
    absolute: true,
    path: (f) => `/v1/${f.memberProject}/triggers/${f.triggerInUseId}`,
    token: (f) => f.memberToken,
    status: 404,
    mention: 'could not be found',
  },
  {
    name: 'quota update by a member',
    method: 'PUT',
    absolute: true,
    path: (f) => `/v1/${f.memberProject}/quotas/${f.memberProject}`,
    body: { quota: { plans: 1000 } },
    token: (f) => f.memberToken,
    status: 403,
    mention: 'admin',
  },
  {
    name: "another project's quotas read by a member",
    method: 'GET',
    absolute: true,
    path: (f) => `/v1/${f.memberProject}/quotas/${f.quotaProject}`,
    token: (f) => f.memberToken,
    status: 403,
    mention: 'quotas',
  },
  {
    name: 'os-services as a member',
    method: 'GET',
    absolute: true,
    path: (f) => `/v1/${f.memberProject}/os-services`,
    token: (f) => f.memberToken,
    status: 403,
    mention: 'admin',
  },
  {
    name: 'quota with an unknown resource',
    method: 'PUT',
    path: (f) => `/quotas/${f.quotaProject}`,
    body: { quota: { volumes: 3 } },
    status: 400,
    mention: 'quota.volumes',
  },
  {
    name: 'quota below -1',
    method: 'PUT',
    path: (f) => `/quotas/${f.quotaProject}`,
    body: { quota: { plans: -5 } },
    status: 400,
    mention: 'quota.plans',
  },
  {
    name: 'os-services update with a bad status',
    method: 'PUT',
    path: '/os-services/1',
    body: { status: 'paused' },
    status: 400,
    mention: 'status',
  },
  {
    name: 'foreign Host header',
    method: 'GET',
    path: '/plans',
    host: (port) => `evil.example:${port}`,
    status: 400,
    mention: 'evil.example',
  },
  {
    name: 'cross-site Origin header',
    method: 'POST',
    path: '/plans',
    body: planBody(),
    headers: { Origin: 'http://evil.example' },
    status: 403,
    mention: 'evil.example',
  },
  {
    name: 'plan over quota',
    method: 'POST',
    absolute: true,
    path: (f) => `/v1/${f.quotaProject}/plans`,
    body: planBody({ name: 'second' }),
    status: 413,
    mention: 'plans',
  },
];

let h: Harness;
let fx: Fixtures;

/** A request through node:http, which lets the test forge the `Host` header. */
function rawRequest(method: string, url: string, headers: Record<string, string>, body?: string): Promise<ApiResponse> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
        resolvePromise({
          status: res.statusCode ?? 0,
          headers: out,
          body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
          text,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function send(c: Case): Promise<ApiResponse> {
  const token = c.token === undefined ? h.token : resolve(c.token, fx);
  const path = resolve(c.path, fx);
  const headers = c.headers ? resolve(c.headers, fx) : {};
  const body = c.body === undefined ? undefined : resolve(c.body, fx);
  if (c.host) {
    const all: Record<string, string> = { ...headers, Host: c.host(h.server.port) };
    if (token !== null) all['X-Auth-Token'] = token;
    const payload = c.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) all['Content-Type'] = 'application/json';
    return rawRequest(c.method, c.absolute ? `${h.server.baseUrl}${path}` : `${h.endpoint}${path}`, all, payload);
  }
  return h.api(c.method, path, body, { token, headers, raw: c.raw, absolute: c.absolute });
}

beforeAll(async () => {
  h = await startHarness({ protectables: [blockingProtectable], providers: [otherProvider] });
  const plan = await createPlan(h, 'fixture plan');
  const resource = await h.directory('fixture-dir');
  const other = await h.api<{ plan: { id: string } }>('POST', '/plans', {
    plan: { name: 'other provider plan', provider_id: OTHER_PROVIDER, resources: [resource], parameters: {} },
  });
  expect(other.status).toBe(200);

  const cp = await h.api<{ checkpoint: { id: string } }>('POST', CP, { checkpoint: { plan_id: plan.id } });
  expect(cp.status).toBe(200);
  await eventually(async () => {
    const s = await h.api<{ checkpoint: { status: string } }>('GET', `${CP}/${cp.body.checkpoint.id}`);
    return s.body.checkpoint.status === 'available';
  }, 'checkpoint available');

  const blockedPlan = await h.api<{ plan: { id: string } }>('POST', '/plans', {
    plan: { name: 'blocked', provider_id: NOOP, resources: [{ id: randomUUID(), type: BLOCK_TYPE, name: 'blocker' }], parameters: {} },
  });
  expect(blockedPlan.status).toBe(200);
  const protecting = await h.api<{ checkpoint: { id: string; status: string } }>('POST', CP, {
    checkpoint: { plan_id: blockedPlan.body.plan.id },
  });
  expect(protecting.body.checkpoint.status).toBe('protecting');

  const trig = await h.api<{ trigger_info: { id: string } }>('POST', '/triggers', triggerBody({ format: 'crontab', pattern: '0 3 * * *' }));
  expect(trig.status).toBe(200);
  const op = await h.api('POST', '/scheduled_operations', {
    scheduled_operation: {
      name: 'nightly',
      operation_type: 'protect',
      trigger_id: trig.body.trigger_info.id,
      operation_definition: { provider_id: NOOP, plan_id: plan.id },
    },
  });
  expect(op.status).toBe(200);

  const memberProject = randomUUID().replace(/-/g, '');
  const quotaProject = randomUUID().replace(/-/g, '');
  const q = await h.api('PUT', `/quotas/${quotaProject}`, { quota: { plans: 1 } });
  expect(q.status).toBe(200);
  const first = await h.api(
    'POST',
    `/v1/${quotaProject}/plans`,
    { plan: { name: 'first', provider_id: NOOP, resources: [resource], parameters: {} } },
    { absolute: true },
  );
  expect(first.status).toBe(200);

  fx = {
    planId: plan.id,
    otherProviderPlanId: other.body.plan.id,
    availableCheckpointId: cp.body.checkpoint.id,
    protectingCheckpointId: protecting.body.checkpoint.id,
    triggerInUseId: trig.body.trigger_info.id,
    memberProject,
    memberToken: h.engine.tokens.create(memberProject, 'member'),
    quotaProject,
    resource,
  };
});

afterAll(async () => {
  releaseGate();
  await h?.close();
});

describe('malformed requests get Karbor faults', () => {
  it('covers at least 45 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(45);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await send(c);
    const fault = FAULT_NAMES[c.status];
    expect(res.status, res.text).toBe(c.status);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(Object.keys(res.body), res.text).toEqual([fault]);
    const detail = (res.body as Record<string, { code: unknown; message: unknown }>)[fault as string];
    expect(detail?.code).toBe(c.status);
    expect(typeof detail?.message).toBe('string');
    expect((detail?.message as string).length).toBeGreaterThan(0);
    if (typeof c.mention === 'string') expect(detail?.message).toContain(c.mention);
    else if (c.mention) expect(detail?.message).toMatch(c.mention);
  });

  it('left the state the cases tried to break untouched', async () => {
    const cp = await h.api<{ checkpoint: { status: string } }>('GET', `${CP}/${fx.protectingCheckpointId}`);
    expect(cp.body.checkpoint.status).toBe('protecting');
    const trig = await h.api('GET', `/triggers/${fx.triggerInUseId}`);
    expect(trig.status).toBe(200);
    const quota = await h.api<{ plans: unknown[] }>('GET', `/v1/${fx.quotaProject}/plans`, undefined, { absolute: true });
    expect(quota.body.plans).toHaveLength(1);
    const plan = await h.api<{ plan: { status: string } }>('GET', `/plans/${fx.planId}`);
    expect(plan.body.plan.status).toBe('suspended');
  });
});
