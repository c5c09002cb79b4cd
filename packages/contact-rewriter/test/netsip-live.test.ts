import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ContactRewriter, rc4Md5Crypt } from '../src/index.js';
import { committedVectors, hex, makeVectorsScript, type NetSipVectors } from './netsip-fixture.js';

// Re-runs the vector generator against the Net::SIP installed here (CI installs
// libnet-sip-perl). Deliberately not skipped: without perl and Net::SIP this test fails.
describe('live Net::SIP', () => {
  it('still prints exactly the committed vectors', () => {
    let stdout: string;
    try {
      stdout = execFileSync('perl', [makeVectorsScript], { encoding: 'utf8', timeout: 60_000 });
    } catch (error) {
      throw new Error(
        'perl with Net::SIP is needed for this test (apt-get install libnet-sip-perl): ' +
          (error instanceof Error ? error.message : String(error)),
      );
    }
    const live = JSON.parse(stdout) as NetSipVectors;
    expect(live.netSipVersion).toMatch(/^0\.8\d\d$/);
    expect(live.keySets).toEqual(committedVectors.keySets);
    expect(live.base32).toEqual(committedVectors.base32);
  });

  it('decodes in Perl what we encode, and rejects it over the wrong leg', () => {
    const ks = committedVectors.keySets[1]!;
    const legs = ks.legs.map((l) => ({ ...l }));
    const rewriter = new ContactRewriter({
      legs,
      codec: 'rc4-md5',
      crypt: rc4Md5Crypt({ key: hex(ks.keyHex), macKey: hex(ks.macKeyHex) }), // random seeds
    });
    const contact = 'zoe@192.0.2.200:5090;transport=tcp';
    const token = rewriter.encode(contact, legs[2]!, legs[0]!);
    const script = `
      use strict; use warnings; our @RAND;
      BEGIN { *CORE::GLOBAL::rand = sub { shift @RAND } }
      use Net::SIP; use Net::SIP::Util qw(invoke_callback);
      my @l = map { bless { proto => $_->[0], src => { addr => $_->[1], port => $_->[2] }, contact => $_->[3] }, $_->[4] }
        (['udp','192.0.2.10',5060,'sip:192.0.2.10','Net::SIP::Leg'], ['tcp','192.0.2.10',5060,'sip:192.0.2.10','Net::SIP::Leg'],
         ['tls','2001:db8::10',5061,'sips:[2001:db8::10]','My::Leg']);
      @My::Leg::ISA = ('Net::SIP::Leg');
      @RAND = ((unpack 'C*', pack 'H*', $ARGV[0]), unpack 'N', pack 'H*', $ARGV[1]);
      my $rw = Net::SIP::StatelessProxy->new(dispatcher => Net::SIP::Dispatcher->new([@l], undef))->{rewrite_contact};
      my $slot; my $back = invoke_callback($rw, $ARGV[2], $l[0], \\$slot);
      my $wrong; my $bad = invoke_callback($rw, $ARGV[2], $l[2], \\$wrong);
      print join("\\n", $back // 'undef', ($slot && $slot == $l[2]) ? 'leg2' : 'other', $bad // 'undef'), "\\n";
    `;
    const out = execFileSync('perl', ['-e', script, ks.keyHex, ks.macKeyHex, token], { encoding: 'utf8', timeout: 30_000 });
    expect(out.split('\n').slice(0, 3)).toEqual([contact, 'leg2', 'undef']);
  });
});
