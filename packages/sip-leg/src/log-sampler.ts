/**
 * Sampled logging for events an attacker can trigger at line rate (malformed datagrams, refused
 * connections): the first event per key is logged at once, the rest of the interval is counted
 * and summed up in one line when the interval ends. So 200 000 bad datagrams from one source
 * cost a handful of lines, each naming how many it stands for.
 */

/** One line the sampler wants written: `count` events of this key since its last line. */
export type SampledLine = (key: string, count: number, sample: Record<string, unknown>, first: boolean) => void;

/** Default interval of a sampler: one line per key per 10 s at most (plus the first). */
export const LOG_SAMPLE_INTERVAL_MS = 10_000;
/** Keys tracked at once; beyond it events go to one overflow key. */
const MAX_KEYS = 4096;
/**
 * New keys (each written at once) per interval; beyond it (spoofed UDP sources, a botnet) events
 * go to the overflow key, so the lines per interval stay bounded whatever the number of sources.
 */
const MAX_NEW_KEYS_PER_INTERVAL = 32;
/** The key of events beyond the limits: one line for all of them. */
export const OVERFLOW_KEY = '*';

interface Entry {
  count: number;
  sample: Record<string, unknown>;
}

export class LogSampler {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private newKeys = 0;

  constructor(
    private readonly write: SampledLine,
    private readonly intervalMs = LOG_SAMPLE_INTERVAL_MS,
  ) {}

  /** Count one event of `key`; `sample` (the last one) is written with the summary line. */
  hit(key: string, sample: Record<string, unknown>): void {
    let k = key;
    let entry = this.entries.get(k);
    if (entry === undefined && (this.entries.size >= MAX_KEYS || this.newKeys >= MAX_NEW_KEYS_PER_INTERVAL)) {
      k = OVERFLOW_KEY;
      entry = this.entries.get(k);
    }
    if (entry === undefined) {
      this.newKeys++;
      this.entries.set(k, { count: 0, sample });
      this.write(k, 1, sample, true);
      this.schedule();
      return;
    }
    entry.count++;
    entry.sample = sample;
  }

  /** Write the pending counts now (close of a leg). */
  flush(): void {
    for (const [key, entry] of this.entries) {
      if (entry.count > 0) this.write(key, entry.count, entry.sample, false);
    }
    this.entries.clear();
    this.newKeys = 0;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    this.newKeys = 0;
    for (const [key, entry] of this.entries) {
      if (entry.count === 0) {
        // Quiet for a whole interval: the next event is logged at once again.
        this.entries.delete(key);
      } else {
        this.write(key, entry.count, entry.sample, false);
        entry.count = 0;
      }
    }
    if (this.entries.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
