import { spawn } from 'node:child_process';

/**
 * Starts a relay server process that prints `{"pairs": …}` once ready; resolves to the shape
 * `runDriver` wants. Bounded: 60 s to get ready; stop() kills it (SIGKILL after 2 s).
 */
export function spawnServer(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} not ready in 60 s: ${err.slice(-500)}`));
    }, 60_000);
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}: ${err.slice(-500)}`));
    });
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const { pairs } = JSON.parse(out.slice(0, nl));
      resolve({
        pid: child.pid,
        pairs,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          }),
      });
    });
  });
}

/** A port base of its own per run, even, away from the usual RTP ranges of others. */
export function portBase() {
  return 20000 + 2 * Math.floor(Math.random() * 2000);
}
