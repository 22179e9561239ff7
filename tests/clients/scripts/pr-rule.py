"""pyroute2 IPRoute(): policy rules."""
import vkc
from pyroute2 import IPRoute

ipr = IPRoute()
vkc.trees(ipr.get_rules())
vkc.err(ipr.rule, 'add', table=100, priority=100, src='192.0.2.0', src_len=24)
vkc.err(ipr.rule, 'add', table=200, priority=200, family=10, dst='2001:db8::', dst_len=32)
vkc.err(ipr.rule, 'add', table=300, priority=300, fwmark=0x10, fwmask=0xff)
vkc.err(ipr.rule, 'add', table=100, priority=100, src='192.0.2.0', src_len=24)
print('-- after')
vkc.trees(ipr.get_rules(family=2))
vkc.trees(ipr.get_rules(family=10))
vkc.err(ipr.rule, 'del', table=100, priority=100, src='192.0.2.0', src_len=24)
vkc.err(ipr.rule, 'del', table=100, priority=100, src='192.0.2.0', src_len=24)
print([(r['family'], r.get_attr('FRA_PRIORITY'), r.get_attr('FRA_TABLE')) for r in ipr.get_rules()])
ipr.close()
