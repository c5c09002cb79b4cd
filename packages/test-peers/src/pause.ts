// Stopping a peer process so it "hangs", deterministically.
import { readFileSync, readdirSync } from 'node:fs';

/** The scheduler states of every thread of `pid` (`/proc/PID/task/TID/stat`, field 3). */
function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    // "TID (comm) S ...": comm may hold spaces or parentheses, so read after the last ')'.
    return stat.charAt(stat.lastIndexOf(')') + 2);
  });
}

/**
 * Sends SIGSTOP and waits until every thread of `pid` is stopped (`T`). kill(2) returns before a
 * loaded box has scheduled the target: a thread that has not reached its stop yet can still
 * answer a request sent right after, and a test of "a peer that hangs" then sees an answer.
 * Bounded: throws after `ms`.
 */
export async function pauseProcess(pid: number, ms = 5000): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const deadline = Date.now() + ms;
  for (;;) {
    if (threadStates(pid).every((s) => s === 'T' || s === 't')) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not stop within ${ms} ms after SIGSTOP`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
