"""Helpers of the pyroute2 cases: print netlink messages as pyroute2 decoded them, deterministically.

tree() prints every field and attribute (nested ones indented) except those the kernel fills with
values that change from run to run: counters (IFLA_STATS*, IFLA_INET6_STATS, IFLA_INET6_ICMP6STATS),
timestamps (IFLA_INET6_CACHEINFO holds a jiffies stamp and the randomised reachable_time;
IFA_CACHEINFO, RTA_CACHEINFO and NDA_CACHEINFO hold creation and update stamps), and the
header's port id and sequence number.
"""
import sys

SKIP = {
    'IFLA_STATS', 'IFLA_STATS64', 'IFLA_INET6_STATS', 'IFLA_INET6_ICMP6STATS', 'IFLA_INET6_CACHEINFO',
    'IFA_CACHEINFO', 'RTA_CACHEINFO', 'NDA_CACHEINFO',
}


def _value(v):
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    return repr(v)


def _lines(obj, ind):
    out = []
    fields = getattr(obj, 'fields', ()) or ()
    for f in fields:
        name = f[0]
        if name.startswith('__') or name not in obj:
            continue
        out.append('%s%s=%s' % (ind, name, _value(obj[name])))
    if 'attrs' in obj:
        for slot in obj['attrs']:
            name, v = slot[0], slot[1]
            if name in SKIP:
                continue
            if name == 'UNKNOWN':
                raw = bytes(v.data[v.offset + 4:v.offset + v.length])
                out.append('%sUNKNOWN(%d)=%s' % (ind, v['header']['type'], raw.hex()))
            elif hasattr(v, 'get') and ('attrs' in v or getattr(v, 'fields', None)):
                out.append('%s%s:' % (ind, name))
                out.extend(_lines(v, ind + '  '))
            elif isinstance(v, dict):
                out.append('%s%s: %s' % (ind, name, ' '.join('%s=%s' % (k, _value(x)) for k, x in v.items())))
            else:
                out.append('%s%s=%s' % (ind, name, _value(v)))
    return out


def tree(msg, out=sys.stdout):
    """Print one message: its type and flags, its fixed header, its attributes."""
    h = msg['header']
    print('%s flags=0x%x' % (msg.get('event', h.get('type')), h.get('flags', 0)), file=out)
    for line in _lines(msg, '  '):
        print(line, file=out)


def trees(msgs, out=sys.stdout):
    for m in msgs:
        tree(m, out)


def err(fn, *a, **kw):
    """Run fn; print the NetlinkError it raises as the errno and message."""
    from pyroute2.netlink.exceptions import NetlinkError
    try:
        r = fn(*a, **kw)
        print('ok')
        return r
    except NetlinkError as e:
        print('NetlinkError', e.code, e.args[1] if len(e.args) > 1 else '')
        return None


def no_link_local():
    """IFLA_AF_SPEC with IFLA_INET6_ADDR_GEN_MODE none: no IPv6 link-local address (a fresh dict
    each time: the encoder may keep what it is given)."""
    return {'attrs': [('AF_INET6', {'attrs': [('IFLA_INET6_ADDR_GEN_MODE', 1)]})]}


def veth_pair(ipr, up=False):
    """The cases' veth pair v0/v1 (fixed MACs, addrgenmode none; brought up when asked, each
    right after its addrgenmode): returns their indexes."""
    ipr.link('add', ifname='v0', kind='veth', address='02:00:00:00:00:01',
             peer={'ifname': 'v1', 'address': '02:00:00:00:00:02'})
    v0 = ipr.link_lookup(ifname='v0')[0]
    v1 = ipr.link_lookup(ifname='v1')[0]
    for i in (v0, v1):
        ipr.link('set', index=i, IFLA_AF_SPEC=no_link_local())
        if up:
            ipr.link('set', index=i, state='up')
    return v0, v1
