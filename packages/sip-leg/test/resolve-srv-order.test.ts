/**
 * RFC 2782 SRV ordering: priority ascending; within a priority, weighted random selection with
 * weight-0 records first. The random source is injected: pinned values for exact orders, and a
 * seeded generator for the proportions the weights promise.
 */
import { describe, expect, it } from 'vitest';
import { orderSrv, type SrvRecord } from '../src/resolve/index.js';

function rec(name: string, priority: number, weight: number): SrvRecord {
  return { name, priority, weight, port: 5060 };
}

/** mulberry32: a small seeded PRNG, so the statistical check is deterministic. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

describe('orderSrv (RFC 2782)', () => {
  it('sorts by priority, lowest first, whatever the answer order', () => {
    const out = orderSrv([rec('c', 30, 0), rec('a', 10, 0), rec('b', 20, 0)], () => 0);
    expect(out.map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });

  it('never moves a record across priorities, whatever the weights', () => {
    const out = orderSrv([rec('heavy', 20, 65535), rec('light', 10, 1)], () => 0.99);
    expect(out.map((r) => r.name)).toEqual(['light', 'heavy']);
  });

  it('a draw of 0 picks a weight-0 record first (they are placed at the start)', () => {
    const out = orderSrv([rec('w50', 1, 50), rec('w0', 1, 0), rec('w50b', 1, 50)], () => 0);
    expect(out[0]?.name).toBe('w0');
  });

  it('picks the first record whose running sum reaches the draw', () => {
    // Pool order: w10 (sum 10), w30 (sum 40), w60 (sum 100). draw = floor(r * 101).
    const records = [rec('w60', 1, 60), rec('w10', 1, 10), rec('w30', 1, 30)];
    expect(orderSrv(records, sequence([0.05, 0, 0])).map((r) => r.name)).toEqual(['w10', 'w30', 'w60']); // draw 5
    expect(orderSrv(records, sequence([0.2, 0, 0])).map((r) => r.name)).toEqual(['w30', 'w10', 'w60']); // draw 20
    expect(orderSrv(records, sequence([0.99, 0.99, 0])).map((r) => r.name)).toEqual(['w60', 'w30', 'w10']); // draw 99, then 40 of 40
  });

  it('keeps every record exactly once', () => {
    const records = [rec('a', 1, 5), rec('b', 1, 0), rec('c', 2, 7), rec('d', 2, 7), rec('e', 3, 0)];
    const out = orderSrv(records, seeded(7));
    expect(out).toHaveLength(5);
    expect(new Set(out)).toEqual(new Set(records));
  });

  it('chooses first in proportion to weight (10 000 seeded draws)', () => {
    const random = seeded(42);
    const records = [rec('w10', 1, 10), rec('w30', 1, 30), rec('w60', 1, 60)];
    const firsts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const first = orderSrv(records, random)[0]?.name ?? '';
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    // Draws 0..100: w10 takes 0..10 (11/101), w30 11..40 (30/101), w60 41..100 (60/101).
    expect(firsts.get('w10')).toBeGreaterThan(850);
    expect(firsts.get('w10')).toBeLessThan(1_250);
    expect(firsts.get('w30')).toBeGreaterThan(2_700);
    expect(firsts.get('w30')).toBeLessThan(3_300);
    expect(firsts.get('w60')).toBeGreaterThan(5_600);
    expect(firsts.get('w60')).toBeLessThan(6_400);
  });

  it('with all weights 0 keeps a stable order', () => {
    const out = orderSrv([rec('b', 1, 0), rec('a', 1, 0)], Math.random);
    expect(out.map((r) => r.name)).toEqual(['a', 'b']);
  });
});
