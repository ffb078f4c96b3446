import type { JsonObject } from '../../engine/db/schema/common';

/**
 * Member volumes a consistency group backed up in one protect run, for their own nodes in the
 * graph. A group's main hook runs before its children start, so each member's node finds the
 * backup made from the group's snapshot here and records it instead of making a second one.
 *
 * Keyed by the run's AbortSignal: the runner gives one signal to every resource of a protect
 * run, so entries are scoped to that run and go with it, without cleanup on failure or cancel.
 */
const byRun = new WeakMap<AbortSignal, Map<string, JsonObject>>();

export function recordGroupMembers(run: AbortSignal, members: { volumeId: string; info: JsonObject }[]): void {
  const m = byRun.get(run) ?? new Map<string, JsonObject>();
  for (const x of members) m.set(x.volumeId, x.info);
  byRun.set(run, m);
}

/** The saved info of a volume its group backed up in this run, if any. */
export function groupMember(run: AbortSignal, volumeId: string): JsonObject | undefined {
  return byRun.get(run)?.get(volumeId);
}
