import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { collectAccountsInTurn, parseWorkMessage, sameDomain, workMessages } from '../../../src/collect/accounts.js';
import { accountStore } from '../../../src/collect/deps.js';
import { selectAccounts, type DuoAccount } from '../../../src/duo/accounts.js';
import type { CollectionSummary } from '../../../src/collect/run-streams.js';
import type { RunSummary } from '../../../src/collect/run.js';

const account = (n: number): DuoAccount => ({ accountId: `DA${String(n).padStart(3, '0')}`, name: `Child ${n}`, apiHostname: `api-c${n}.duosecurity.com` });
const env = { DUO_IKEY: 'DIXXXXXXXXXXXXXXXXXX', DUO_SKEY: 's'.repeat(40), DUO_API_HOST: 'api-parent.duosecurity.com', DUO_ACCOUNTS: 'all' };
const config = (more: Record<string, string> = {}) => loadConfig({ ...env, ...more }, {}, { needDuo: true, entry: 'function' });

describe('selectAccounts', () => {
  const listed = [account(1), account(2), account(3)];
  it.each([
    { want: 'all' as const, exclude: [], ids: ['DA001', 'DA002', 'DA003'], notListed: [] },
    { want: 'all' as const, exclude: ['DA002'], ids: ['DA001', 'DA003'], notListed: [] },
    { want: ['DA003', 'DA001'], exclude: [], ids: ['DA001', 'DA003'], notListed: [] },
    { want: ['DA001', 'DA404'], exclude: [], ids: ['DA001'], notListed: ['DA404'] },
    { want: ['DA001', 'DA404'], exclude: ['DA404', 'DA001'], ids: [], notListed: [] },
  ])('$want less $exclude', ({ want, exclude, ids, notListed }) => {
    const r = selectAccounts(listed, want, exclude);
    expect(r.selected.map((a) => a.accountId)).toEqual(ids);
    expect(r.notListed).toEqual(notListed);
  });
});

describe('accounts mode settings', () => {
  it('reads all, a list, and refuses what cannot be an account id', () => {
    expect(config().accounts).toBe('all');
    expect(config({ DUO_ACCOUNTS: ' DA1 , DA2,DA1 ' }).accounts).toEqual(['DA1', 'DA2']);
    expect(() => config({ DUO_ACCOUNTS: 'DA1,not an id' })).toThrow(/DUO_ACCOUNTS \/ --accounts: must be `all` or Duo account ids .*"not an id" is not one/);
    expect(() => config({ DUO_ACCOUNTS: ',' })).toThrow(/DUO_ACCOUNTS/);
  });

  it('refuses what belongs to accounts mode without it, and one STATE_KEY for every child', () => {
    const plain = { ...env, DUO_ACCOUNTS: '' };
    expect(() => loadConfig({ ...plain, DUO_ACCOUNTS_EXCLUDE: 'DA1' })).toThrow(/DUO_ACCOUNTS_EXCLUDE \/ --accounts-exclude: only with DUO_ACCOUNTS/);
    expect(() => loadConfig({ ...plain, WORK_TOPIC: 'projects/my-proj/topics/work' })).toThrow(/WORK_TOPIC: only with DUO_ACCOUNTS/);
    expect(() => config({ STATE_KEY: '_state/x.json' })).toThrow(/STATE_KEY \/ --state-key: names one checkpoint/);
    expect(() => config({ WORK_TOPIC: 'work' })).toThrow(/WORK_TOPIC: must be a topic as projects\/PROJECT\/topics\/TOPIC/);
  });
});

describe('accountStore', () => {
  it('puts a child under its own folder of the stream prefix, with a checkpoint of its own', () => {
    expect(accountStore({ stream: 'telephony', prefix: 'duo-telephony', stateKey: '_state/duo-telephony.json', legacyStateKey: 'duo-telephony/state.json' }, 'DA1')).toEqual({
      stream: 'telephony',
      prefix: 'duo-telephony/DA1',
      stateKey: '_state/duo-telephony_DA1.json',
      legacyStateKey: undefined,
    });
  });
});

describe('workMessages', () => {
  it('is one message per account and stream, account by account, each with its share of the ceiling', () => {
    const c = config({ DUO_LOGS: 'telephony,authentication', FAN_OUT_INSTANCES: '4', REQUESTS_PER_MINUTE: '60' });
    const m = workMessages(c, [account(1), account(2), account(3)]);
    expect(m.map((x) => `${x.account_id}/${x.stream}`)).toEqual(['DA001/telephony', 'DA001/authentication', 'DA002/telephony', 'DA002/authentication', 'DA003/telephony', 'DA003/authentication']);
    expect(m.every((x) => x.requests_per_minute === 15)).toBe(true);
    expect(m[0]).toMatchObject({ account_name: 'Child 1', api_hostname: 'api-c1.duosecurity.com' });
  });

  it('divides by the messages when they are fewer than the instances, and not at all when children are limited apart', () => {
    expect(workMessages(config({ FAN_OUT_INSTANCES: '10' }), [account(1), account(2)])[0]!.requests_per_minute).toBe(30);
    expect(workMessages(config({ FAN_OUT_INSTANCES: '10', ACCOUNTS_SHARE_RATE: 'false' }), [account(1), account(2)])[0]!.requests_per_minute).toBe(60);
    expect(workMessages(config(), [])).toEqual([]);
  });
});

describe('parseWorkMessage', () => {
  const c = config({ DUO_LOGS: 'telephony' });
  const good = { account_id: 'DA001', account_name: 'Child 1', api_hostname: 'api-c1.duosecurity.com', stream: 'telephony', requests_per_minute: 6 };
  it('reads a work message of this deployment', () => {
    expect(parseWorkMessage(c, good)).toEqual({ account: account(1), stream: 'telephony', requestsPerMinute: 6 });
  });
  it.each([
    [{ ...good, stream: 'authentication' }, /the authentication log is not among DUO_LOGS/],
    [{ ...good, api_hostname: 'evil.example.com' }, /outside the parent's domain \(duosecurity.com\)/],
    [{ ...good, account_id: '../x' }, /account_id/],
    [{ ...good, stream: 'nope' }, /stream/],
    [{}, /not a work message/],
  ])('drops %j', (m, why) => {
    const r = parseWorkMessage(c, m);
    expect('problem' in r && r.problem).toMatch(why);
  });
  it('compares domains, not whole hosts', () => {
    expect(sameDomain('api-1.duosecurity.com', 'API-2.duosecurity.com:443')).toBe(true);
    expect(sameDomain('api-1.duofederal.com', 'api-2.duosecurity.com')).toBe(false);
  });
});

describe('collectAccountsInTurn', () => {
  // As collectChild answers: the child's results carry its account.
  const ok = (a: DuoAccount): CollectionSummary => ({ durationMs: 1, streams: [{ stream: 'telephony', status: 'collected', summary: {} as RunSummary, account: { id: a.accountId, name: a.name } }] });
  it('runs every account, names the one that failed, and goes on', async () => {
    const seen: string[] = [];
    const results = await collectAccountsInTurn([account(1), account(2), account(3)], ['telephony'], async (a) => {
      seen.push(a.accountId);
      if (a.accountId === 'DA002') throw new Error('403');
      return ok(a);
    }, { budgetMs: Infinity, now: () => 0 });
    expect(seen).toEqual(['DA001', 'DA002', 'DA003']);
    expect(results.map((r) => [r.account?.id, r.status])).toEqual([['DA001', 'collected'], ['DA002', 'failed'], ['DA003', 'collected']]);
  });

  it('gives each account what is left of the budget, and defers those after it', async () => {
    let t = 0;
    const budgets: number[] = [];
    const results = await collectAccountsInTurn([account(1), account(2), account(3)], ['telephony', 'activity'], async (a, left) => {
      budgets.push(left);
      t += 600;
      return ok(a);
    }, { budgetMs: 1000, now: () => t });
    expect(budgets).toEqual([1000, 400]);
    expect(results.filter((r) => r.status === 'deferred').map((r) => `${r.account?.id}/${r.stream}`)).toEqual(['DA003/telephony', 'DA003/activity']);
  });

  it('defers the rest once stopped', async () => {
    const stop = new AbortController();
    const results = await collectAccountsInTurn([account(1), account(2)], ['telephony'], async (a) => {
      stop.abort();
      return ok(a);
    }, { budgetMs: Infinity, now: () => 0, signal: stop.signal });
    expect(results.map((r) => r.status)).toEqual(['collected', 'deferred']);
  });
});
