#!/usr/bin/env node
/**
 * sipway: one command for operators who install from npm. `sipway proxy …` runs the stateless
 * proxy (examples/stateless-proxy), `sipway registrar …` the registrar-only server
 * (examples/registrar); both are bundled into this package's dist. Exit codes are theirs:
 * 0 after SIGTERM/SIGINT, 1 when the server cannot start, 2 for bad flags or an unknown command.
 */
import { readFileSync } from 'node:fs';

const COMMANDS: Record<string, { summary: string; load: () => Promise<unknown> }> = {
  proxy: {
    summary: 'the stateless SIP proxy, with registrar, digest auth, rate limit and media relay',
    load: () => import('../../../examples/stateless-proxy/src/main.js'),
  },
  registrar: {
    summary: 'a registrar-only SIP server (memory, file or Redis location store)',
    load: () => import('../../../examples/registrar/src/main.js'),
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export const HELP = `usage: sipway <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(11)} ${summary}`)
  .join('\n')}

  sipway <command> --help lists every flag of that command.

options:
  -h, --help      this help
  -v, --version   print the version

environment:
  SIPWAY_CONTACT_KEY    key of the Contact rewriter (proxy); without it a random per-process key
  SIPWAY_NONCE_SECRET   digest nonce secret; without it a random per-process secret
`;

async function run(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  const entry = COMMANDS[command];
  if (entry === undefined) {
    process.stderr.write(`sipway: unknown command '${command}'\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  // The command's main reads process.argv.slice(2): hand it its own flags only.
  process.argv = [process.argv[0]!, process.argv[1]!, ...rest];
  await entry.load();
}

await run(process.argv.slice(2));
