// Timing shared by run.mjs and breakdown.mjs.
//
// Wall time comes from process.hrtime.bigint(). This machine is shared (2 cores, other jobs
// build and test at the same time), so a round in which the process was descheduled would
// report a rate that says more about the neighbours than about the parser: each round also
// reads process.cpuUsage(), and a round whose CPU time is below 90 % of its wall time counts
// as contended. Callers drop contended rounds when they have enough clean ones.

/**
 * @typedef {object} Round
 * @property {number} rate       calls per second (wall clock)
 * @property {boolean} contended the process got less than 90 % of a CPU during the round
 */

/**
 * @typedef {object} Summary
 * @property {number} median   calls per second, median of the kept rounds
 * @property {number} min
 * @property {number} max
 * @property {number} rounds   rounds kept
 * @property {number} clean    kept rounds that were not contended (< rounds: the figure is shaky)
 * @property {number} dropped  contended rounds left out
 */

export const SETTINGS = {
  // Each worker warms up alone, then the parent takes `rounds` rounds from every worker in turn.
  full: { warmupMs: 1500, rounds: 30, roundMs: 150 },
  quick: { warmupMs: 600, rounds: 7, roundMs: 80 },
};

const CPU_SHARE = 0.9;

function runPasses(fn, inputs, passes) {
  for (let i = 0; i < passes; i++) {
    for (let j = 0; j < inputs.length; j++) fn(inputs[j]);
  }
}

/**
 * Runs `fn` over the inputs for `warmupMs` (so the JIT settles) and returns how many passes
 * over the inputs take about `roundMs`: the fixed size of every timed round.
 * @param {(input: any) => void} fn called once per message
 * @param {any[]} inputs
 * @param {{ warmupMs: number, roundMs: number }} settings
 */
export function warmUp(fn, inputs, settings) {
  let passes = 0;
  let batch = 1;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < settings.warmupMs) {
    runPasses(fn, inputs, batch);
    passes += batch;
    batch = Math.min(batch * 2, 1024);
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return Math.max(1, Math.round((passes / elapsed) * settings.roundMs));
}

/**
 * One timed round of `passes` passes over the inputs. No forced GC between rounds: a full
 * gc() drops hidden classes that only short-lived objects use, which deoptimizes code that
 * embeds them (V8 reason "weak objects") and would charge every round a re-optimization a
 * running proxy does not pay that often. Each round pays for the garbage it makes instead.
 * @returns {Round}
 */
export function timeRound(fn, inputs, passes) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  runPasses(fn, inputs, passes);
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { rate: (passes * inputs.length * 1e9) / ns, contended: (cpu.user + cpu.system) * 1000 < CPU_SHARE * ns };
}

/**
 * Median, min and max of the clean rounds; when fewer than half the rounds are clean, the
 * fastest contended ones fill up to half (and `clean` says so).
 * @param {Round[]} rounds
 * @returns {Summary}
 */
export function summarize(rounds) {
  const clean = rounds.filter((r) => !r.contended).map((r) => r.rate);
  const contended = rounds.filter((r) => r.contended).map((r) => r.rate).sort((a, b) => b - a);
  const need = Math.ceil(rounds.length / 2);
  const kept = clean.length >= need ? clean : clean.concat(contended.slice(0, need - clean.length));
  kept.sort((a, b) => a - b);
  const mid = kept.length >> 1;
  const median = kept.length % 2 ? kept[mid] : (kept[mid - 1] + kept[mid]) / 2;
  return {
    median, min: kept[0], max: kept[kept.length - 1], rounds: kept.length,
    clean: Math.min(clean.length, kept.length), dropped: rounds.length - kept.length,
  };
}

/**
 * Warm-up then `rounds` rounds in this process (for breakdown.mjs and one-cell profiling).
 * @returns {Summary & { passes: number }}
 */
export function measure(fn, inputs, settings) {
  const passes = warmUp(fn, inputs, settings);
  const rounds = [];
  for (let r = 0; r < settings.rounds; r++) rounds.push(timeRound(fn, inputs, passes));
  return { ...summarize(rounds), passes };
}
