import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Breakers } from '../src/redis/Breaker.js';
import { RedisUnavailableError } from '../src/redis/index.js';
import { isKeyError, isRetryable, retryDelay } from '../src/redis/evalScript.js';

// The per-key circuit breakers of a ScriptCaller, on simulated real time (performance.now() faked):
// their states, retryAfter, and the bound on their memory for a keyed store with many keys.
describe('Breakers (one per Redis key)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens one key for the cooldown, half-opens it for one probe, closes it on success; other keys never refused', () => {
    const breakers = new Breakers(1000, 300);
    const cause = new Error('connection refused');
    expect(breakers.refusal('a')).toBeUndefined();
    breakers.failed('a', cause, undefined);
    const refused = breakers.refusal('a');
    expect(refused).toBeInstanceOf(RedisUnavailableError);
    expect(refused?.cause).toBe(cause);
    expect(refused?.retryAfter).toBe(1000);
    expect(breakers.refusal('b')).toBeUndefined();
    vi.advanceTimersByTime(400.5);
    expect(breakers.retryAfter('a')).toBe(600); // rounded up
    vi.advanceTimersByTime(599.5);
    expect(breakers.refusal('a')).toBeUndefined(); // half-open
    const probe = { probe: breakers.probeNow('a') };
    expect(probe.probe).toBe(true);
    expect(breakers.refusal('a')?.retryAfter, 'the probe in flight holds the others back until its timeout').toBe(300);
    expect(breakers.probeNow('b')).toBe(false);
    breakers.succeeded('a', probe);
    expect(probe.probe).toBe(false);
    expect(breakers.refusal('a')).toBeUndefined();
    expect(breakers.size).toBe(0);
  });

  it('a failed probe opens its key again for the whole cooldown, with the new cause', () => {
    const breakers = new Breakers(1000, 300);
    breakers.failed('a', new Error('first'), undefined);
    vi.advanceTimersByTime(1000);
    const probe = { probe: breakers.probeNow('a') };
    const second = new Error('second');
    breakers.failed('a', second, probe);
    expect(breakers.refusal('a')?.cause).toBe(second);
    expect(breakers.retryAfter('a')).toBe(1000);
  });

  it('a cooldown of 0 refuses nothing and holds nothing', () => {
    const breakers = new Breakers(0, 300);
    for (let i = 0; i < 5000; i += 1) breakers.failed(`k${i}`, new Error('down'), undefined);
    expect(breakers.refusal('k1')).toBeUndefined();
    expect(breakers.size).toBe(0);
  });

  it('memory stays bounded over 300,000 keys: closed keys are forgotten, expired open ones swept', () => {
    const breakers = new Breakers(1000, 300);
    let most = 0;
    // 300,000 keys, each failing once, 400 per simulated 10 ms: about 40,000 per cooldown.
    for (let i = 0; i < 300_000; i += 1) {
      breakers.failed(`user-${i}`, new Error('down'), undefined);
      if (i % 400 === 399) vi.advanceTimersByTime(10);
      most = Math.max(most, breakers.size);
    }
    // At most twice the keys failed within one cooldown (the sweep runs once the entries double).
    expect(most).toBeLessThanOrEqual(2 * 40_400);
    expect(most).toBeGreaterThanOrEqual(40_000);
    vi.advanceTimersByTime(1000);
    breakers.failed('last', new Error('down'), undefined);
    for (let i = 0; i < 300_000; i += 1) breakers.succeeded(`user-${i}`, undefined);
    expect(breakers.size).toBe(1);
  });
});

describe('what the store reads from Redis error replies', () => {
  it.each([
    ['CLUSTERDOWN The cluster is down', true],
    ['TRYAGAIN Multiple keys request during rehashing of slot', true],
    ['ERR CLUSTERDOWN Hash slot not served', true],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', false],
    ["READONLY You can't write against a read only replica.", false],
    ['connect ECONNREFUSED 127.0.0.1:6379', false],
  ])('%s: retried %s', (message, retried) => {
    expect(isRetryable(new Error(message))).toBe(retried);
  });

  it.each([
    ['WRONGTYPE Operation against a key holding the wrong kind of value', true],
    ['ERR WRONGTYPE Operation against a key holding the wrong kind of value script: 0c1e91a6', true],
    ['ERR token-bucket-filter: tbf:{x} holds a string that is no bucket script: 0c1e91a6', true],
    ['CLUSTERDOWN The cluster is down', false],
    ['OOM command not allowed when used memory > maxmemory', false],
  ])('%s: an error of the key %s', (message, ofKey) => {
    expect(isKeyError(new Error(message))).toBe(ofKey);
  });

  it('retries after 20, 30, 40, then 50 ms', () => {
    expect([0, 1, 2, 3, 4, 10].map(retryDelay)).toEqual([20, 30, 40, 50, 50, 50]);
  });
});
