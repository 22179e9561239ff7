"""pyroute2 namespaces: netns.create/listnetns/remove/setns, NetNS, moving a link by net_ns_fd."""
import os
import vkc
from pyroute2 import IPRoute, NetNS, netns

netns.create('vkc-a')
print(sorted(netns.listnetns()))
try:
    netns.create('vkc-a')
    print('created twice')
except OSError as e:
    print('create again:', e.errno)
ns = NetNS('vkc-a')
vkc.err(ns.link, 'add', ifname='x0', kind='veth', address='02:00:00:00:00:11',
        peer={'ifname': 'x1', 'address': '02:00:00:00:00:12'})
print('in vkc-a:', [(l['index'], l.get_attr('IFLA_IFNAME'), l.get_attr('IFLA_ADDRESS')) for l in ns.get_links()])
ns.close()
ipr = IPRoute()
ipr.link('add', ifname='v0', kind='veth', address='02:00:00:00:00:01',
         peer={'ifname': 'v1', 'address': '02:00:00:00:00:02'})
v1 = ipr.link_lookup(ifname='v1')[0]
vkc.err(ipr.link, 'set', index=v1, net_ns_fd='vkc-a')
print('here:', [(l['index'], l.get_attr('IFLA_IFNAME'), l.get_attr('IFLA_LINK_NETNSID')) for l in ipr.get_links()])
ipr.close()
netns.setns('vkc-a')
ipr = IPRoute()
print('after setns:', [(l['index'], l.get_attr('IFLA_IFNAME'), l.get_attr('IFLA_LINK_NETNSID')) for l in ipr.get_links()])
ipr.close()
netns.remove('vkc-a')
print(sorted(netns.listnetns()))
try:
    netns.remove('vkc-a')
    print('removed twice')
except OSError as e:
    print('remove again:', e.errno)
