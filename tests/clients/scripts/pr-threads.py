"""pyroute2: one IPRoute shared by several threads (replies routed by sequence number), and a
thread receiving events while others send."""
import threading
from pyroute2 import IPRoute

ipr = IPRoute()
for i in range(8):
    ipr.link('add', ifname='v%d' % i, kind='veth', address='02:00:00:00:00:%02x' % (2 * i + 1),
             peer={'ifname': 'p%d' % i, 'address': '02:00:00:00:00:%02x' % (2 * i + 2)})
expected = sorted(l.get_attr('IFLA_IFNAME') for l in ipr.get_links())
results = []
lock = threading.Lock()


def worker(k):
    bad = 0
    for _ in range(30):
        names = sorted(l.get_attr('IFLA_IFNAME') for l in ipr.get_links())
        if names != expected:
            bad += 1
        addrs = ipr.get_addr()
        if len(addrs) != 0:
            bad += 1
    with lock:
        results.append(bad)


threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print('links', len(expected), 'threads', len(results), 'mismatches', sum(results))

mon = IPRoute()
mon.bind()
seen = []


def listen():
    while len(seen) < 8:
        for m in mon.get():
            if m['event'] == 'RTM_NEWADDR':
                seen.append(m.get_attr('IFA_ADDRESS'))


t = threading.Thread(target=listen)
t.start()
senders = []
for i in range(8):
    idx = ipr.link_lookup(ifname='v%d' % i)[0]
    s = threading.Thread(target=lambda idx=idx, i=i: ipr.addr('add', index=idx, address='10.0.%d.1' % i, prefixlen=24))
    senders.append(s)
    s.start()
for s in senders:
    s.join()
t.join(20)
print('addr events', sorted(seen))
