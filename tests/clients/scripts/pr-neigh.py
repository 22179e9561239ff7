"""pyroute2 IPRoute(): neighbours and bridge fdb entries."""
import vkc
from pyroute2 import IPRoute

ipr = IPRoute()
ipr.link('add', ifname='v0', kind='veth', address='02:00:00:00:00:01',
         peer={'ifname': 'v1', 'address': '02:00:00:00:00:02'})
ipr.link('add', ifname='br0', kind='bridge', address='02:00:00:00:01:00')
v0 = ipr.link_lookup(ifname='v0')[0]
v1 = ipr.link_lookup(ifname='v1')[0]
br0 = ipr.link_lookup(ifname='br0')[0]
for i in (v0, v1, br0):
    ipr.link('set', index=i, IFLA_AF_SPEC=vkc.no_link_local())
ipr.addr('add', index=v1, address='192.0.2.1', prefixlen=24)
vkc.err(ipr.neigh, 'add', dst='192.0.2.9', lladdr='02:00:00:00:00:09', ifindex=v1, state=0x80)
vkc.err(ipr.neigh, 'add', dst='192.0.2.10', lladdr='02:00:00:00:00:0a', ifindex=v1, state=0x02)
vkc.err(ipr.neigh, 'add', dst='2001:db8::9', lladdr='02:00:00:00:00:19', ifindex=v1, state=0x80)
vkc.err(ipr.neigh, 'add', dst='192.0.2.9', lladdr='02:00:00:00:00:09', ifindex=v1, state=0x80)
vkc.err(ipr.neigh, 'replace', dst='192.0.2.9', lladdr='02:00:00:00:00:99', ifindex=v1, state=0x80)
vkc.err(ipr.neigh, 'add', dst='192.0.2.11', lladdr='02:00:00:00:00:0b', ifindex=999, state=0x80)
# the kernel walks its hash tables (random seed): sorted by address
key = lambda n: (n['ifindex'], n.get_attr('NDA_DST') or '', n.get_attr('NDA_LLADDR') or '')
vkc.trees(sorted(ipr.get_neighbours(family=2), key=key))
print('-- family 10')
vkc.trees(sorted(ipr.get_neighbours(family=10), key=key))
vkc.err(ipr.neigh, 'del', dst='192.0.2.9', ifindex=v1)
vkc.err(ipr.neigh, 'del', dst='192.0.2.9', ifindex=v1)
print('-- fdb')
ipr.link('set', index=v0, master=br0)
vkc.err(ipr.fdb, 'add', ifindex=v0, lladdr='02:00:00:00:bb:01', flags=0x04)  # NTF_MASTER
vkc.err(ipr.fdb, 'add', ifindex=v0, lladdr='02:00:00:00:bb:02', flags=0x02, state=0x40)  # self
vkc.err(ipr.fdb, 'add', ifindex=v0, lladdr='02:00:00:00:bb:01', flags=0x04)
vkc.trees(ipr.fdb('dump'))
vkc.err(ipr.fdb, 'del', ifindex=v0, lladdr='02:00:00:00:bb:01', flags=0x04)
vkc.err(ipr.fdb, 'del', ifindex=v0, lladdr='02:00:00:00:bb:02', flags=0x02)
print([(n['ifindex'], n.get_attr('NDA_LLADDR'), n['state'], n['flags']) for n in ipr.fdb('dump')])
ipr.close()
