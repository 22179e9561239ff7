"""pyroute2: a bound IPRoute receives the events of changes another socket makes, in order."""
import sys
import vkc
from pyroute2 import IPRoute
from pyroute2.netlink.rtnl import RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR

groups = {
    'default': None,
    'link': RTMGRP_LINK,
    'addr': RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
}[sys.argv[1] if len(sys.argv) > 1 else 'default']
mon = IPRoute()
if groups is None:
    mon.bind()
else:
    mon.bind(groups=groups)
ipr = IPRoute()
v0, v1 = vkc.veth_pair(ipr)
ipr.link('set', index=v0, mtu=1400)
ipr.addr('add', index=v0, address='192.0.2.1', prefixlen=24)
ipr.addr('add', index=v0, address='2001:db8::1', prefixlen=64, flags=0x2)
ipr.addr('del', index=v0, address='192.0.2.1', prefixlen=24)
ipr.link('set', index=v0, ifalias='x')
# the end marker: a link whose deletion ends the loop
ipr.link('add', ifname='end', kind='veth', peer={'ifname': 'end1'})
ipr.link('del', index=ipr.link_lookup(ifname='end')[0])
ipr.addr('add', index=v0, address='192.0.2.99', prefixlen=24)
done = False
n = 0
while not done:
    for m in mon.get():
        name = m.get_attr('IFLA_IFNAME') if m['event'].endswith('LINK') else None
        if name in ('end', 'end1'):
            print(m['event'], name)
        else:
            vkc.tree(m)
        n += 1
        if groups == RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR:
            done = done or (m['event'] == 'RTM_NEWADDR' and m.get_attr('IFA_ADDRESS') == '192.0.2.99')
        else:
            done = done or (m['event'] == 'RTM_DELLINK' and name == 'end1')
print('events', n)
