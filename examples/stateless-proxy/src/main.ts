// The runnable proxy is built on @sipway/proxy, which lands with issue 5. Until then this entry
// says so plainly instead of pretending to forward anything.
process.stderr.write('sipway: the stateless proxy example is not available yet (it lands with @sipway/proxy).\n');
process.exitCode = 1;
