#!/usr/bin/perl
# Contact-token vectors from the real Net::SIP (libnet-sip-perl), printed as JSON on stdout:
#   perl test/vectors/make-vectors.pl > test/vectors/netsip-vectors.json
# Net::SIP draws its key material with rand(): the override below hands out chosen values
# instead (21 key bytes, then the MAC key as a u32, then one u32 seed per encryption).
# The key is created once per process, so every key set runs in its own forked child.
# Legs are Net::SIP::Leg objects without sockets: the codec only uses key() and {contact}.
use strict;
use warnings;
our @RAND;
BEGIN {
    *CORE::GLOBAL::rand = sub {
        @RAND or die "rand() queue empty\n";
        return shift @RAND;
    };
}
use Net::SIP;
use Net::SIP::Util qw(invoke_callback);
use Net::SIP::StatelessProxy;
use Net::SIP::Dispatcher;
use JSON::PP;
use Encode qw(decode);

# Net::SIP warns about the undefined leg behind index 0xFFFF; the outcome is what is recorded.
$SIG{__WARN__} = sub { warn @_ unless $_[0] =~ m{Net/SIP/} };

@My::Leg::ISA = ('Net::SIP::Leg');

sub leg {
    my ($class, $proto, $addr, $port, $contact) = @_;
    return bless { proto => $proto, src => { addr => $addr, port => $port }, contact => $contact }, $class;
}
sub hexs { return unpack('H*', $_[0]) }
sub str { my $s = shift; return defined $s ? decode('UTF-8', $s, Encode::FB_CROAK) : undef }

my @keysets = (
    {   name => 'reference vector (netsip-behaviour.md section 2.4)',
        key => '0123456789abcdefghijk', mackey => 'MACK',
        legs => [
            [ 'Net::SIP::Leg', 'udp', '192.0.2.10', 5060, 'sip:192.0.2.10' ],
            [ 'Net::SIP::Leg', 'udp', '198.51.100.20', 5060, 'sip:198.51.100.20' ],
        ],
        cases => [
            [ 'alice@10.0.0.1:5070', 0, 1, 'SEED' ],
            [ 'alice@10.0.0.1:5070', 0, 1, "\x00\x00\x00\x01" ],
            [ 'alice@10.0.0.1:5070', 1, 0, 'SEED' ],
            [ '10.0.0.5:5060', 1, 0, 'seed' ],
            [ 'bob@example.com;transport=tcp;ob', 0, 1, "\xff\xfe\xfd\xfc" ],
            [ 'x@y', 0, 1, 'SEED' ],
            [ '', 0, 1, 'SEED' ],
        ],
        extra_leg => [ 'Net::SIP::Leg', 'tcp', '192.0.2.10', 5060, 'sip:192.0.2.10' ],
    },
    {   name => 'three legs, subclass, IPv6, equal contacts on udp and tcp',
        key => pack('C*', 0, 255, 1, 254, 2, 253, 3, 252, 128, 127, 16, 32, 64, 96, 200, 7, 9, 11, 13, 17, 19),
        mackey => "\x00\xff\x10\x80",
        legs => [
            [ 'Net::SIP::Leg', 'udp', '192.0.2.10', 5060, 'sip:192.0.2.10' ],
            [ 'Net::SIP::Leg', 'tcp', '192.0.2.10', 5060, 'sip:192.0.2.10' ],
            [ 'My::Leg', 'tls', '2001:db8::10', 5061, 'sips:[2001:db8::10]' ],
        ],
        cases => [
            [ 'carol@[2001:db8::99]:5062;transport=tls', 2, 0, 'abcd' ],
            [ '+4930123456@gw.example.net;user=phone', 0, 2, "\x01\x02\x03\x04" ],
            [ "j\xc3\xbcrgen\@203.0.113.7:5080;transport=udp", 1, 2, 'ZZZZ' ],
            [ '[2001:db8::1]:5070;transport=tcp;lr', 2, 1, 'WXYZ' ],
            [ 'dave@198.51.100.77', 0, 1, "\x7f\x80\x81\x82" ],
        ],
        extra_leg => [ 'Net::SIP::Leg', 'udp', '203.0.113.1', 5060, 'sip:203.0.113.1' ],
    },
    {   name => 'one leg (force_rewrite), a leg missing from the dispatcher (index 0xFFFF)',
        key => 'Net::SIP key bytes!!', mackey => 'mk42',
        legs => [ [ 'Net::SIP::Leg', 'udp', '127.0.0.1', 5062, 'sip:127.0.0.1:5062' ] ],
        outsider => [ 'Net::SIP::Leg', 'udp', '127.0.0.2', 5060, 'sip:127.0.0.2' ],
        cases => [
            [ 'erin@127.0.0.9:5999;transport=udp', 0, 0, 'SEED' ],
            [ ('a' x 200) . '@long.example.org', 0, 0, 'LONG' ],
            [ 'frank@10.1.1.1', 0, -1, 'OUT1' ],
            [ 'grace@10.1.1.2', -1, 0, 'OUT2' ],
        ],
        extra_leg => [ 'Net::SIP::Leg', 'udp', '127.0.0.1', 5064, 'sip:127.0.0.1:5064' ],
    },
);
$keysets[2]{key} = substr($keysets[2]{key} . '-' x 21, 0, 21);

sub run_keyset {
    my $ks = shift;
    my @legs = map { leg(@$_) } @{ $ks->{legs} };
    my $outsider = $ks->{outsider} ? leg(@{ $ks->{outsider} }) : leg('Net::SIP::Leg', 'udp', '0.0.0.0', 1, 'sip:0.0.0.0:1');
    my $disp = Net::SIP::Dispatcher->new([@legs], undef);
    my $proxy = Net::SIP::StatelessProxy->new(dispatcher => $disp);
    my $rw = $proxy->{rewrite_contact};
    # a second proxy whose leg list has one more leg: same process key, other leg-list identity
    my $disp2 = Net::SIP::Dispatcher->new([@legs, leg(@{ $ks->{extra_leg} })], undef);
    my $rw2 = Net::SIP::StatelessProxy->new(dispatcher => $disp2)->{rewrite_contact};
    my $legobj = sub { my $i = shift; return $i < 0 ? $outsider : $legs[$i] };
    my $legidx = sub {
        my $l = shift;
        return undef if !defined $l;
        for my $i (0 .. $#legs) { return $i if $legs[$i] == $l }
        return -1;
    };
    my @key_queue = ((unpack 'C*', $ks->{key}), unpack('N', $ks->{mackey}));
    my (@vectors, @crypt);
    for my $c (@{ $ks->{cases} }) {
        my ($contact, $in, $out, $seed) = @$c;
        @RAND = (@key_queue, unpack('N', $seed));
        @key_queue = ();
        my $token = invoke_callback($rw, $contact, $legobj->($in), $legobj->($out), 1);
        die "rand() queue not used up\n" if @RAND;
        # decodes as the proxy does them: Request-URI (slot), Contact (leg to check), other legs
        my @decodes;
        for my $li (-1 .. $#legs) {
            my $slot;
            my $back = invoke_callback($rw, $token, $legobj->($li), \$slot);
            push @decodes, { legIn => $li, legOut => undef, contact => str($back), leg => defined $back ? $legidx->($slot) : undef };
            for my $lo (-1 .. $#legs) {
                my $b2 = invoke_callback($rw, $token, $legobj->($li), $legobj->($lo));
                push @decodes, { legIn => $li, legOut => $lo, contact => str($b2) };
            }
        }
        my $slot2;
        my $other_list = invoke_callback($rw2, $token, $legobj->($out < 0 ? 0 : $out), \$slot2);
        my $lower = invoke_callback($rw, lc($token), $legobj->($out < 0 ? 0 : $out), \my $slot3);
        # change of the last character in its padding bits only: Net::SIP still decodes it
        my $padded;
        {
            my $bits = (5 * (length($token) - 1)) % 8;
            if ($bits) {
                my $last = substr($token, -1);
                my $alpha = join '', 'A' .. 'Z', '2' .. '7';
                my $v = index($alpha, $last) ^ 1;
                $padded = substr($token, 0, -1) . substr($alpha, $v, 1);
            }
        }
        my $padded_back = defined $padded ? invoke_callback($rw, $padded, $legobj->($out < 0 ? 0 : $out), \my $slot4) : undef;
        push @vectors, {
            contact => str($contact), legIn => $in, legOut => $out, seedHex => hexs($seed), token => $token,
            decodes => \@decodes,
            otherLegListDecodes => defined $other_list ? JSON::PP::true : JSON::PP::false,
            lowerCaseDecodes => defined $lower ? JSON::PP::true : JSON::PP::false,
            defined $padded ? (paddingChanged => $padded, paddingChangedDecodes => defined $padded_back ? JSON::PP::true : JSON::PP::false) : (),
        };
    }
    # the crypt function alone, with and without add2mac
    for my $d ([ "", undef, 'S000' ], [ "\x00\x01\x02\xff binary", 'add', 'S001' ], [ 'x' x 300, 'L' x 50, 'S002' ]) {
        my ($data, $add2mac, $seed) = @$d;
        @RAND = (unpack 'N', $seed);
        my $enc = Net::SIP::StatelessProxy::_stupid_crypt($data, 1, $add2mac);
        push @crypt, { dataHex => hexs($data), add2mac => $add2mac, seedHex => hexs($seed), outputHex => hexs($enc) };
    }
    return {
        name => $ks->{name},
        keyHex => hexs($ks->{key}),
        macKeyHex => hexs($ks->{mackey}),
        legs => [ map { { key => $_->key, contact => $_->{contact} } } @legs ],
        outsider => { key => $outsider->key, contact => $outsider->{contact} },
        extraLeg => { key => leg(@{ $ks->{extra_leg} })->key, contact => $ks->{extra_leg}[4] },
        vectors => \@vectors,
        crypt => \@crypt,
    };
}

my @out;
for my $ks (@keysets) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        close $r;
        print {$w} JSON::PP->new->utf8->canonical->encode(run_keyset($ks));
        close $w;
        exit 0;
    }
    close $w;
    my $json = do { local $/; <$r> };
    waitpid($pid, 0);
    die "key set '$ks->{name}' failed\n" if $? != 0;
    push @out, JSON::PP->new->utf8->decode($json);
}

my @b32;
for my $n (0 .. 11) {
    my $data = join '', map { chr(($_ * 37 + 11) & 0xff) } 0 .. $n - 1;
    push @b32, { dataHex => hexs($data), text => Net::SIP::StatelessProxy::_encode_base32($data) };
}

print JSON::PP->new->utf8->canonical->pretty->encode({
    generator => 'test/vectors/make-vectors.pl',
    netSipVersion => $Net::SIP::VERSION,
    keySets => \@out,
    base32 => \@b32,
});
