// Benchmark driver: Net::SIP's NATHelper::Local (libnet-sip-perl) in a Perl process of its own.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runDriver } from './lib/generator.mjs';
import { portBase, spawnServer } from './lib/spawn-server.mjs';

if (!existsSync('/usr/share/perl5/Net/SIP/NATHelper/Local.pm')) {
  process.stdout.write(`${JSON.stringify({ relay: 'Net::SIP NATHelper::Local (Perl)', error: 'libnet-sip-perl is not installed' })}\n`);
} else {
  const server = fileURLToPath(new URL('./lib/netsip-server.pl', import.meta.url));
  await runDriver('Net::SIP NATHelper::Local (Perl)', (streams, a, b) => spawnServer('perl', [server, String(streams), String(a.port), String(b.port), String(portBase())]));
}
