// Timing shared by run.mjs and breakdown.mjs.
//
// Wall time comes from process.hrtime.bigint(). This machine is shared (2 cores, other jobs
// build and test at the same time), so a round in which the process was descheduled would
// report a rate that says more about the neighbours than about the parser: each round also
// reads process.cpuUsage(), and a round whose CPU time is below 90 % of its wall time is
// discarded and run again (at most 3 × rounds attempts). The result says how many were dropped.

/**
 * @typedef {object} Measurement
 * @property {number} median   calls per second, median of the kept rounds
 * @property {number} min
 * @property {number} max
 * @property {number} rounds   rounds kept
 * @property {number} clean    kept rounds that were not contended (< rounds: the figure is shaky)
 * @property {number} dropped  contended rounds seen
 * @property {number} iterations passes over the inputs per round
 * @property {number[]} rates  the kept rounds' rates, ascending
 */

export const SETTINGS = {
  full: { warmupMs: 1000, rounds: 10, roundMs: 200, repeats: 3 },
  quick: { warmupMs: 300, rounds: 5, roundMs: 100, repeats: 1 },
};

const CPU_SHARE = 0.9;

function runPasses(fn, inputs, passes) {
  for (let i = 0; i < passes; i++) {
    for (let j = 0; j < inputs.length; j++) fn(inputs[j]);
  }
}

/**
 * Warm-up (which also fixes the number of passes per round from the warm rate), then rounds
 * of that fixed number of passes over the inputs.
 * @param {(input: any) => void} fn called once per message
 * @param {any[]} inputs
 * @param {{ warmupMs: number, rounds: number, roundMs: number }} settings
 * @returns {Measurement} rates in calls per second
 */
export function measure(fn, inputs, settings) {
  const { warmupMs, rounds, roundMs } = settings;
  let passes = 0;
  let batch = 1;
  const warmStart = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < warmupMs) {
    runPasses(fn, inputs, batch);
    passes += batch;
    batch = Math.min(batch * 2, 1024);
    elapsed = Number(process.hrtime.bigint() - warmStart) / 1e6;
  }
  const iterations = Math.max(1, Math.round((passes / elapsed) * roundMs));
  const rates = [];
  const contended = [];
  let attempts = 0;
  while (rates.length < rounds && attempts < rounds * 3) {
    attempts++;
    globalThis.gc?.();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    runPasses(fn, inputs, iterations);
    const ns = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const rate = (iterations * inputs.length * 1e9) / ns;
    if ((cpu.user + cpu.system) * 1000 < CPU_SHARE * ns) contended.push(rate);
    else rates.push(rate);
  }
  // Too few clean rounds (a very busy machine): keep the best contended ones, say so.
  const dropped = contended.length;
  const clean = rates.length;
  if (rates.length < rounds) {
    contended.sort((a, b) => b - a);
    rates.push(...contended.slice(0, rounds - rates.length));
  }
  return { ...summarize(rates), iterations, dropped, clean };
}

/** Median, min and max of a list of rates (sorts it). */
export function summarize(rates) {
  rates.sort((a, b) => a - b);
  const mid = rates.length >> 1;
  const median = rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2;
  return { median, min: rates[0], max: rates[rates.length - 1], rounds: rates.length, rates };
}
