# Net::SIP's StatelessProxy on one TCP leg. stateless_proxy.pl builds its legs with
# Net::SIP::Leg->new(addr => ...) which is always UDP, so the TCP run uses the same class directly.
# Usage: perl netsip-tcp-proxy.pl <ip> <port>
use strict;
use warnings;
use Net::SIP;
$SIG{TERM} = $SIG{INT} = sub { exit(0) };
my ($ip, $port) = @ARGV;
my $leg  = Net::SIP::Leg->new(addr => $ip, port => $port, proto => 'tcp');
my $loop = Net::SIP::Dispatcher::Eventloop->new;
my $disp = Net::SIP::Dispatcher->new([$leg], $loop);
$disp->set_receiver(Net::SIP::StatelessProxy->new(dispatcher => $disp));
print "Net::SIP tcp proxy listening on $ip:$port\n";
$| = 1;
$loop->loop;
