#!/usr/bin/perl
# Net::SIP's NATHelper::Local in a process of its own, for the benchmark: sets up `streams`
# calls between the caller at 127.0.0.1:aPort and the callee at 127.0.0.2:bPort the way
# StatelessProxy::do_nat does (allocate_sockets for the request's and the response's SDP, then
# activate_session), prints {"pairs":[[portForCaller, portForCallee], ...]} and relays until killed.
# argv: streams aPort bPort portMin
use strict;
use warnings;
use Net::SIP::Util ();
use Net::SIP::SDP;
use Net::SIP::Dispatcher::Eventloop;
use Net::SIP::NATHelper::Local;

my ($streams, $aport, $bport, $pmin) = @ARGV;
$Net::SIP::Util::RTP_MIN_PORT = $pmin;
$Net::SIP::Util::RTP_MAX_PORT = $pmin + $streams * 4 + 400;
$SIG{TERM} = $SIG{INT} = sub { exit 0 };

my $loop = Net::SIP::Dispatcher::Eventloop->new;
my $nat = Net::SIP::NATHelper::Local->new($loop);
sub sdp { my ($ip, $port) = @_; Net::SIP::SDP->new("v=0\r\no=- 1 1 IN IP4 $ip\r\ns=-\r\nc=IN IP4 $ip\r\nt=0 0\r\nm=audio $port RTP/AVP 0\r\na=ptime:20\r\n") }
my @pairs;
for my $i (0 .. $streams - 1) {
    my $basic = [ "bench-$i", 1, "sip:user\0a\0127.0.0.1", "sip:user\0b\0127.0.0.2", 'sip:a@x', 'sip:b@x' ];
    my $toB = $nat->allocate_sockets($basic, 0, '127.0.0.2', [ sdp('127.0.0.1', $aport)->get_media ]) or die "allocate 0 failed";
    my $toA = $nat->allocate_sockets($basic, 1, '127.0.0.1', [ sdp('127.0.0.2', $bport)->get_media ]) or die "allocate 1 failed";
    $nat->activate_session($basic) or die "activate failed";
    push @pairs, "[$toA->[0][1],$toB->[0][1]]";
}
$| = 1;
print '{"pairs":[' . join(',', @pairs) . "]}\n";
$loop->loop;
