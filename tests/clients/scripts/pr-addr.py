"""pyroute2 IPRoute(): addresses: add, replace, delete, dumps with filters."""
import vkc
from pyroute2 import IPRoute

ipr = IPRoute()
v0, v1 = vkc.veth_pair(ipr)
vkc.err(ipr.addr, 'add', index=v0, address='192.0.2.1', prefixlen=24)
vkc.err(ipr.addr, 'add', index=v0, address='192.0.2.2', prefixlen=24, label='v0:two')
vkc.err(ipr.addr, 'add', index=v0, address='198.51.100.1', local='198.51.100.1', prefixlen=32)
vkc.err(ipr.addr, 'add', index=v0, address='203.0.113.5', prefixlen=28, broadcast='203.0.113.15')
vkc.err(ipr.addr, 'add', index=v1, address='2001:db8::1', prefixlen=64, flags=0x2)  # IFA_F_NODAD
vkc.err(ipr.addr, 'add', index=v1, address='2001:db8::2', prefixlen=64)
vkc.err(ipr.addr, 'add', index=v0, address='192.0.2.1', prefixlen=24)
vkc.err(ipr.addr, 'replace', index=v0, address='192.0.2.1', prefixlen=24)
vkc.err(ipr.addr, 'add', index=999, address='192.0.2.7', prefixlen=24)
vkc.trees(ipr.get_addr())
print('-- family 10')
vkc.trees(ipr.get_addr(family=10))
print('-- label v0:two')
vkc.trees(ipr.get_addr(label='v0:two'))
print('-- index v0')
print([a.get_attr('IFA_ADDRESS') for a in ipr.get_addr(index=v0)])
vkc.err(ipr.addr, 'del', index=v0, address='192.0.2.2', prefixlen=24)
vkc.err(ipr.addr, 'del', index=v0, address='192.0.2.2', prefixlen=24)
print('flushed', sorted(a.get_attr('IFA_ADDRESS') for a in ipr.flush_addr(index=v0)))
print([(a['index'], a.get_attr('IFA_ADDRESS'), a['prefixlen']) for a in ipr.get_addr()])
ipr.close()
