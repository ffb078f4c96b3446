import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src-main/engine';
import type { Plan } from '../../src-main/engine/plans/service';
import type { ProviderDefinition } from '../../src-main/engine/providers/types';
import { NOOP, startHarness, type Harness } from '../helpers/harness';

/**
 * Keyset pagination of `GET /plans` over 1,000 plans: every sort and filter, walked page by page
 * through the `plans_links` next hrefs, must list each matching plan exactly once, in order,
 * and stay exact while new plans are inserted between page fetches.
 */

const OTHER_PROVIDER = '3d4f3e0a-7b0c-4c51-9d7e-2b1f6a5c8e90';
const otherProvider: ProviderDefinition = { id: OTHER_PROVIDER, name: 'Second No-Op', plugins: ['noop'], enabled: true };

const TOTAL = 1000;
const VIA_HTTP_EVERY = 25;
const LIMIT = 37;
const WORDS = ['alpha', 'Beta', 'GAMMA', 'delta', 'epsilon', 'zeta', 'Ünïcode', '日本語'];
const SEPARATORS = ['-', '_', ' ', '%', '.'];

type Field = 'id' | 'name' | 'status' | 'created_at' | 'provider_id';
interface Key {
  key: Field;
  dir: 'asc' | 'desc';
}
type Summary = Pick<Plan, Field>;

interface SortCase {
  label: string;
  query: string;
  /** The full order the server must apply, id tie-break included. */
  keys: Key[];
}

const SORTS: SortCase[] = [
  {
    label: 'default (created_at desc, id desc)',
    query: '',
    keys: [
      { key: 'created_at', dir: 'desc' },
      { key: 'id', dir: 'desc' },
    ],
  },
  {
    label: 'sort=name:asc',
    query: 'sort=name:asc',
    keys: [
      { key: 'name', dir: 'asc' },
      { key: 'id', dir: 'asc' },
    ],
  },
  {
    label: 'sort=name:desc,id:asc',
    query: 'sort=name:desc,id:asc',
    keys: [
      { key: 'name', dir: 'desc' },
      { key: 'id', dir: 'asc' },
    ],
  },
  {
    label: 'sort=created_at:asc',
    query: 'sort=created_at:asc',
    keys: [
      { key: 'created_at', dir: 'asc' },
      { key: 'id', dir: 'asc' },
    ],
  },
  {
    label: 'sort=status:asc,name:desc',
    query: 'sort=status:asc,name:desc',
    keys: [
      { key: 'status', dir: 'asc' },
      { key: 'name', dir: 'desc' },
      { key: 'id', dir: 'desc' },
    ],
  },
  {
    label: 'legacy sort_key=name&sort_dir=asc',
    query: 'sort_key=name&sort_dir=asc',
    keys: [
      { key: 'name', dir: 'asc' },
      { key: 'id', dir: 'asc' },
    ],
  },
];

interface FilterCase {
  label: string;
  query: string;
  matches: (p: Summary) => boolean;
}

const FILTERS: FilterCase[] = [
  { label: 'no filter', query: '', matches: () => true },
  { label: 'status=started', query: 'status=started', matches: (p) => p.status === 'started' },
  // `_` and `%` are literal characters in a name filter, not SQL wildcards.
  { label: 'name=ta_ (substring)', query: `name=${encodeURIComponent('ta_')}`, matches: (p) => p.name.includes('ta_') },
  { label: 'name=% (literal)', query: `name=${encodeURIComponent('%')}`, matches: (p) => p.name.includes('%') },
  { label: `provider_id=${OTHER_PROVIDER}`, query: `provider_id=${OTHER_PROVIDER}`, matches: (p) => p.provider_id === OTHER_PROVIDER },
];

/** Plain code-unit order; the names avoid astral characters, so it equals SQLite's byte order. */
function cmpText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparator(keys: Key[]): (a: Summary, b: Summary) => number {
  return (a, b) => {
    for (const k of keys) {
      const c = cmpText(a[k.key], b[k.key]);
      if (c !== 0) return k.dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

interface ListBody {
  plans: Plan[];
  plans_links: { rel: string; href: string }[];
}

let h: Harness;
let caller: Caller;
/** Every plan of the project, as the server reported it after the last change. */
const all = new Map<string, Summary>();
let resource: { id: string; type: string; name: string };
let seq = 0;

const summary = (p: Plan): Summary => ({ id: p.id, name: p.name, status: p.status, created_at: p.created_at, provider_id: p.provider_id });

function nameFor(i: number): string {
  if (i % 11 === 0) return 'dup';
  const word = WORDS[i % WORDS.length] as string;
  const sep = SEPARATORS[Math.floor(i / WORDS.length) % SEPARATORS.length] as string;
  return `${word}${sep}${(i * 7919) % 1000}`;
}

async function createViaHttp(name: string, provider: string): Promise<Plan> {
  const r = await h.api<{ plan: Plan }>('POST', '/plans', { plan: { name, provider_id: provider, resources: [resource], parameters: {} } });
  if (r.status !== 200) throw new Error(`plan create failed: ${r.text}`);
  return r.body.plan;
}

async function createPlan(i: number): Promise<Plan> {
  const provider = i % 4 === 3 ? OTHER_PROVIDER : NOOP;
  const name = nameFor(i);
  const plan =
    i % VIA_HTTP_EVERY === 0
      ? await createViaHttp(name, provider)
      : h.engine.plans.create(caller, { name, provider_id: provider, resources: [resource], parameters: {} });
  all.set(plan.id, summary(plan));
  return plan;
}

/** Walks every page by following the next hrefs; `between` runs after each page. */
async function walk(query: string, between?: () => Promise<void>): Promise<{ items: Summary[]; pages: number }> {
  let url: string | undefined = `${h.endpoint}/plans?limit=${LIMIT}${query ? `&${query}` : ''}`;
  const items: Summary[] = [];
  let pages = 0;
  while (url) {
    const res = await fetch(url, { headers: { 'X-Auth-Token': h.token } });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const body = JSON.parse(text) as ListBody;
    pages++;
    expect(body.plans.length).toBeLessThanOrEqual(LIMIT);
    items.push(...body.plans.map(summary));
    const next = body.plans_links.find((l) => l.rel === 'next');
    if (body.plans.length === LIMIT) {
      expect(next, `page ${pages} is full but has no next link`).toBeDefined();
    } else {
      expect(next, `page ${pages} is short but has a next link`).toBeUndefined();
    }
    if (next) {
      const u = new URL(next.href);
      expect(`${u.protocol}//${u.host}`).toBe(h.server.baseUrl);
      expect(u.searchParams.get('limit')).toBe(String(LIMIT));
      expect(u.searchParams.get('marker')).toBe(body.plans[body.plans.length - 1]?.id);
      for (const [k, v] of new URLSearchParams(query)) expect(u.searchParams.get(k)).toBe(v);
    }
    url = next?.href;
    if (url && between) await between();
    if (pages > 200) throw new Error('pagination does not end');
  }
  return { items, pages };
}

beforeAll(async () => {
  h = await startHarness({ providers: [otherProvider], scheduler: false });
  caller = { projectId: h.projectId, isAdmin: false };
  const q = await h.api('PUT', `/quotas/${h.projectId}`, { quota: { plans: 5000 } });
  expect(q.status).toBe(200);
  resource = await h.directory('paged');
  for (let i = 0; i < TOTAL; i++) await createPlan(i);
  seq = TOTAL;
  // Both statuses, set through the engine and through the API.
  let n = 0;
  for (const p of [...all.values()]) {
    if (n++ % 3 !== 0) continue;
    const started =
      n % 10 === 1
        ? (await h.api<{ plan: Plan }>('PUT', `/plans/${p.id}`, { plan: { status: 'started' } })).body.plan
        : h.engine.plans.update(caller, p.id, { status: 'started' });
    all.set(started.id, summary(started));
  }
  // Plans of another project must never show up.
  const stranger: Caller = { projectId: 'f'.repeat(32), isAdmin: false };
  for (let i = 0; i < 30; i++)
    h.engine.plans.create(stranger, { name: nameFor(i), provider_id: NOOP, resources: [resource], parameters: {} });
}, 60_000);

afterAll(async () => h?.close());

describe('plans pagination', () => {
  it('has the data set the walks expect', () => {
    const plans = [...all.values()];
    expect(plans).toHaveLength(TOTAL);
    expect(plans.filter((p) => p.status === 'started').length).toBeGreaterThan(100);
    expect(plans.filter((p) => p.status === 'suspended').length).toBeGreaterThan(100);
    expect(plans.filter((p) => p.provider_id === OTHER_PROVIDER).length).toBeGreaterThan(100);
    expect(plans.filter((p) => p.name === 'dup').length).toBeGreaterThan(50);
    for (const f of FILTERS) expect(plans.filter(f.matches).length, f.label).toBeGreaterThan(LIMIT);
    // The literal-filter cases are meaningful only if a wildcard reading would match more.
    expect(plans.filter((p) => /ta./.test(p.name)).length).toBeGreaterThan(plans.filter((p) => p.name.includes('ta_')).length);
  });

  describe.each(SORTS.map((s) => [s.label, s] as const))('%s', (_label, sort) => {
    it.each(FILTERS.map((f) => [f.label, f] as const))('%s: every match exactly once, in order', async (_f, filter) => {
      const expected = [...all.values()].filter(filter.matches).sort(comparator(sort.keys));
      const query = [filter.query, sort.query].filter(Boolean).join('&');
      const { items, pages } = await walk(query);
      const ids = items.map((p) => p.id);
      expect(new Set(ids).size, 'duplicates across pages').toBe(ids.length);
      expect(items.length).toBe(expected.length);
      expect(ids).toEqual(expected.map((p) => p.id));
      expect(pages).toBe(Math.floor(expected.length / LIMIT) + 1);
    });
  });

  it('an unpaged list (no limit) returns at most 1000, then continues with a next link', async () => {
    const first = await h.api<ListBody>('GET', '/plans?sort=name:asc');
    expect(first.body.plans).toHaveLength(1000);
    const next = first.body.plans_links.find((l) => l.rel === 'next');
    expect(next).toBeDefined();
    const rest = await fetch(next?.href ?? '', { headers: { 'X-Auth-Token': h.token } });
    const body = (await rest.json()) as ListBody;
    expect(first.body.plans.length + body.plans.length).toBe(all.size);
    expect(body.plans_links).toEqual([]);
  });

  it.each([
    // Newest first: every insert lands before the marker, so none is listed.
    ['default order', '', SORTS[0]?.keys ?? [], 'none'],
    // By name: inserts land on both sides of the marker; those after it are listed.
    ['sort=name:asc', 'sort=name:asc', SORTS[1]?.keys ?? [], 'some'],
    ['sort=status:asc,name:desc', 'sort=status:asc,name:desc', SORTS[4]?.keys ?? [], 'some'],
  ] as const)('concurrent inserts during a walk (%s) neither duplicate nor skip existing plans', async (_label, query, keys, newSeen) => {
    const before = new Map(all);
    const inserted = new Set<string>();
    const between = async (): Promise<void> => {
      for (let k = 0; k < 4; k++) {
        const i = seq++;
        const plan = await createPlan(i);
        inserted.add(plan.id);
        if (k === 0) {
          const started = h.engine.plans.update(caller, plan.id, { status: 'started' });
          all.set(started.id, summary(started));
        }
      }
    };
    const { items } = await walk(query, between);
    expect(inserted.size).toBeGreaterThan(50);
    const ids = items.map((p) => p.id);
    expect(new Set(ids).size, 'an item appeared twice').toBe(ids.length);
    const seen = new Set(ids);
    const missing = [...before.keys()].filter((id) => !seen.has(id));
    expect(missing, 'existing plans skipped').toEqual([]);
    for (const id of ids) expect(before.has(id) || inserted.has(id)).toBe(true);
    const newlyListed = ids.filter((id) => inserted.has(id)).length;
    if (newSeen === 'none') expect(newlyListed).toBe(0);
    else expect(newlyListed).toBeGreaterThan(0);
    // Keyset pages continue strictly after the marker: the whole walk is in order.
    const cmp = comparator([...keys]);
    for (let i = 1; i < items.length; i++) {
      expect(cmp(items[i - 1] as Summary, items[i] as Summary), `order broken at ${i}`).toBeLessThan(0);
    }
  });
});
