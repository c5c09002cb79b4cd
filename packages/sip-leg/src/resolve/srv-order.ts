/**
 * RFC 2782 ordering of SRV records: priority ascending, and within one priority a weighted
 * random selection, repeated until the priority is used up.
 */

/** The fields of an SRV record the ordering needs. */
export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  /** Target host name; '' or '.' means "service decidedly not available" (RFC 2782). */
  name: string;
}

/** A source of uniformly distributed numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * Orders SRV records as RFC 2782 "Usage rules" say. Within one priority, records with weight 0
 * go first, then a running sum of weights is built and the first record whose running sum is
 * at least a random integer in [0, sum] is taken; that repeats until none is left. `random` is
 * injectable so tests can pin the choice.
 * @see RFC 2782 (the Weight field and "Usage rules"), RFC 3263 §4.4
 */
export function orderSrv<T extends SrvRecord>(records: readonly T[], random: RandomSource = Math.random): T[] {
  const byPriority = new Map<number, T[]>();
  for (const r of records) {
    const list = byPriority.get(r.priority);
    if (list) list.push(r);
    else byPriority.set(r.priority, [r]);
  }
  const ordered: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = byPriority.get(priority) ?? [];
    // Weight-0 records first, as RFC 2782 asks, so they are chosen only when the draw is 0; the
    // rest in a fixed order (RFC 2782 allows any) so the outcome depends on `random` alone.
    const pool = [...group].sort((a, b) => a.weight - b.weight || compare(a.name, b.name) || a.port - b.port);
    while (pool.length > 0) {
      const total = pool.reduce((sum, r) => sum + r.weight, 0);
      const draw = Math.min(total, Math.floor(random() * (total + 1)));
      let running = 0;
      let index = pool.length - 1;
      for (let i = 0; i < pool.length; i++) {
        running += (pool[i] as T).weight;
        if (running >= draw) {
          index = i;
          break;
        }
      }
      ordered.push(...pool.splice(index, 1));
    }
  }
  return ordered;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when an SRV answer says the service is not offered at all (one record, target "."). */
export function srvSaysUnavailable(records: readonly SrvRecord[]): boolean {
  return records.length > 0 && records.every((r) => r.name === '' || r.name === '.');
}
