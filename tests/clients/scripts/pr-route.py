"""pyroute2 IPRoute(): routes: add, replace, get, delete, dumps."""
import vkc
from pyroute2 import IPRoute

ipr = IPRoute()
ipr.link('add', ifname='v0', kind='veth', address='02:00:00:00:00:01',
         peer={'ifname': 'v1', 'address': '02:00:00:00:00:02'})
v0 = ipr.link_lookup(ifname='v0')[0]
v1 = ipr.link_lookup(ifname='v1')[0]
for i in (v0, v1):
    ipr.link('set', index=i, IFLA_AF_SPEC={'attrs': [('AF_INET6', {'attrs': [('IFLA_INET6_ADDR_GEN_MODE', 1)]})]})
    ipr.link('set', index=i, state='up')
ipr.addr('add', index=v0, address='192.0.2.1', prefixlen=24)
ipr.addr('add', index=v0, address='2001:db8::1', prefixlen=64, flags=0x2)
vkc.err(ipr.route, 'add', dst='10.9.0.0/16', gateway='192.0.2.254')
vkc.err(ipr.route, 'add', dst='10.8.0.0/16', oif=v0, priority=7, proto='static')
vkc.err(ipr.route, 'add', dst='10.7.0.0/16', gateway='192.0.2.253', table=100)
vkc.err(ipr.route, 'add', dst='10.6.0.0/16', multipath=[{'gateway': '192.0.2.250'}, {'gateway': '192.0.2.251', 'hops': 2}])
vkc.err(ipr.route, 'add', dst='2001:db8:5::/48', gateway='2001:db8::fe')
vkc.err(ipr.route, 'add', dst='10.9.0.0/16', gateway='192.0.2.254')
vkc.err(ipr.route, 'add', dst='10.5.0.0/16', gateway='203.0.113.1')
vkc.err(ipr.route, 'replace', dst='10.9.0.0/16', gateway='192.0.2.252')
vkc.trees(ipr.get_routes(family=2))
print('-- table 100')
vkc.trees(ipr.get_routes(table=100))
print('-- family 10')
vkc.trees(ipr.get_routes(family=10))
print('-- get 10.9.1.1')
vkc.trees(ipr.route('get', dst='10.9.1.1'))
vkc.err(ipr.route, 'del', dst='10.8.0.0/16', oif=v0, priority=7)
vkc.err(ipr.route, 'del', dst='10.8.0.0/16', oif=v0, priority=7)
print('flushed', [(r.get_attr('RTA_DST'), r['dst_len']) for r in ipr.flush_routes(table=100)])
print([(r.get_attr('RTA_TABLE'), r.get_attr('RTA_DST'), r['dst_len']) for r in ipr.get_routes(family=2)])
ipr.close()
