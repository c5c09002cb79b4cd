import { readdirSync, readFileSync } from 'node:fs';

/**
 * The process's file-descriptor budget, shared by every stream leg. libuv hides EMFILE on accept
 * (it accepts and closes the pending connections with a reserved descriptor and reports nothing),
 * so a leg cannot wait for the error: it watches how many descriptors are open and stops admitting
 * sockets while fewer than a reserve are left, so outgoing connections, DNS and files still get one.
 *
 * Linux only (/proc); elsewhere the budget is unknown and never scarce.
 */

/** Open sockets counted by all legs of the process. */
let slots = 0;
let limit: number | undefined | null = null; // null: not read yet
let measuredFds = 0;
let measuredSlots = 0;
let measuredAt = 0;

/** Descriptors kept free for everything but inbound sockets: 5% of the limit, at least 8. */
export function fdReserve(max: number): number {
  return Math.max(8, Math.ceil(max * 0.05));
}

export function slotOpened(): void {
  slots++;
}

export function slotClosed(): void {
  slots--;
}

/** The soft RLIMIT_NOFILE (Node raises it to the hard limit at start), or undefined off Linux. */
export function fdLimit(): number | undefined {
  if (limit === null) {
    try {
      const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
      limit = m?.[1] === undefined || m[1] === 'unlimited' ? undefined : Number(m[1]);
    } catch {
      limit = undefined;
    }
  }
  return limit;
}

/**
 * Open descriptors now, estimated from the last count plus the sockets opened since; counted
 * again (a readdir of /proc/self/fd) at most every 100 ms once the estimate passes half the limit.
 */
export function openDescriptors(max: number, now = Date.now()): number {
  const estimate = measuredFds + (slots - measuredSlots);
  const stale = now - measuredAt > (estimate >= max / 2 ? 100 : 5000);
  if (measuredAt === 0 || stale) {
    try {
      measuredFds = readdirSync('/proc/self/fd').length;
      measuredSlots = slots;
      measuredAt = now;
      return measuredFds;
    } catch {
      measuredAt = now;
    }
  }
  return estimate;
}

/** Descriptors left under the limit would fall below the reserve: `{ open, limit }`, else undefined. */
export function descriptorsScarce(): { open: number; limit: number } | undefined {
  const max = fdLimit();
  if (max === undefined) return undefined;
  // Far from the limit: no counting at all.
  if (slots < max / 4 && measuredAt !== 0 && measuredFds + slots - measuredSlots < max / 2) return undefined;
  const open = openDescriptors(max);
  return open + fdReserve(max) >= max ? { open, limit: max } : undefined;
}
