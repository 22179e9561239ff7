"""pyroute2 IPRoute(): link create/set/get/delete and dumps."""
import vkc
from pyroute2 import IPRoute

ipr = IPRoute()
vkc.err(ipr.link, 'add', ifname='v0', kind='veth', address='02:00:00:00:00:01',
        peer={'ifname': 'v1', 'address': '02:00:00:00:00:02'})
vkc.err(ipr.link, 'add', ifname='br0', kind='bridge', address='02:00:00:00:01:00')
for name in ('v0', 'v1', 'br0'):
    idx = ipr.link_lookup(ifname=name)[0]
    print(name, 'index', idx)
    # IFLA_AF_SPEC/AF_INET6/IFLA_INET6_ADDR_GEN_MODE none: no link-local address
    ipr.link('set', index=idx, IFLA_AF_SPEC=vkc.no_link_local())
v0 = ipr.link_lookup(ifname='v0')[0]
br0 = ipr.link_lookup(ifname='br0')[0]
print('lookup nosuch', ipr.link_lookup(ifname='nosuch'))
vkc.err(ipr.link, 'add', ifname='v0', kind='veth', peer='v9')
vkc.err(ipr.link, 'add', ifname='x0', kind='nosuchkind')
vkc.err(ipr.link, 'set', index=v0, mtu=1400, txqlen=500, ifalias='uplink')
vkc.err(ipr.link, 'set', index=v0, master=br0)
vkc.err(ipr.link, 'set', index=v0, state='up')
vkc.err(ipr.link, 'set', index=v0, address='02:00:00:00:aa:01')
vkc.err(ipr.link, 'set', index=v0, mtu=10)
vkc.err(ipr.link, 'set', index=999, mtu=1400)
vkc.trees(ipr.get_links())
print('-- get v0')
vkc.trees(ipr.link('get', index=v0))
print('-- get by name')
vkc.trees(ipr.get_links(ifname='br0'))
vkc.err(ipr.link, 'get', index=999)
print('-- bridge ports (AF_BRIDGE dump)')
vkc.trees(ipr.brport('dump'))
vkc.err(ipr.link, 'set', index=v0, state='down')
vkc.err(ipr.link, 'set', index=v0, ifname='w0')
vkc.err(ipr.link, 'del', index=br0)
vkc.err(ipr.link, 'del', index=br0)
print([(l['index'], l.get_attr('IFLA_IFNAME'), l.get_attr('IFLA_MASTER')) for l in ipr.get_links()])
ipr.close()
