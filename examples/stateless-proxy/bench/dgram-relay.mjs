// The floor for any Node.js UDP proxy: a node:dgram relay that parses nothing. Datagrams from the
// UAS go back to the last other sender; everything else goes to the UAS.
// Usage: node dgram-relay.mjs <listenHost> <listenPort> <uasHost> <uasPort>
import dgram from 'node:dgram';

const [host = '127.0.0.1', port = '0', uasHost = '127.0.0.3', uasPort = '5060'] = process.argv.slice(2);
const uas = { address: uasHost, port: Number(uasPort) };
let client = { address: '127.0.0.1', port: 0 };
const sock = dgram.createSocket('udp4');
sock.on('message', (msg, rinfo) => {
  if (rinfo.address === uas.address && rinfo.port === uas.port) {
    if (client.port !== 0) sock.send(msg, client.port, client.address);
  } else {
    client = { address: rinfo.address, port: rinfo.port };
    sock.send(msg, uas.port, uas.address);
  }
});
sock.bind(Number(port), host, () => {
  // The same 4 MiB receive buffer as the sipway example and Kamailio's maxbuffer in the bench.
  sock.setRecvBufferSize(4 * 1024 * 1024);
  process.stdout.write(`dgram relay listening on udp:${host}:${sock.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => sock.close(() => process.exit(0)));
