using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

// The model side of net/core/rtnetlink.c's link operations: what rtnl_newlink / do_setlink do with
// values already decoded from the request. The rtnetlink layer decodes, validates the attribute
// policy and reports offsets; the semantics live here.
public sealed partial class Net
{
    /// <summary>rtnl_create_link: a new, unregistered device of <paramref name="ops"/>'s kind with
    /// the generic attributes of <paramref name="cfg"/> applied.</summary>
    public (NetDevice? Dev, KErr Err) RtnlCreateLink(string name, LinkOps ops, LinkConfig cfg)
    {
        uint ntx = cfg.NumTxQueues ?? ops.DefaultNumQueues(this);
        uint nrx = cfg.NumRxQueues ?? ops.DefaultNumQueues(this);
        if (ntx < 1 || ntx > 4096) return (null, new KErr(Errno.EINVAL, "Invalid number of transmit queues"));
        if (nrx < 1 || nrx > 4096) return (null, new KErr(Errno.EINVAL, "Invalid number of receive queues"));

        var dev = new NetDevice(ops, name) { RtnlLinkInitialized = false };
        ops.Setup(dev);
        dev.NumTxQueues = dev.RealNumTxQueues = ntx;
        dev.NumRxQueues = dev.RealNumRxQueues = nrx;

        var err = ValidateLinkMsg(dev, cfg);
        if (err.Failed) return (null, err);
        dev.Net = this;

        if (cfg.Mtu is uint mtu)
        {
            err = DevValidateMtu(dev, mtu);
            if (err.Failed) return (null, err);
            dev.Mtu = mtu;
        }
        if (cfg.Address != null)
        {
            dev.DevAddr = cfg.Address[..dev.AddrLen];
            dev.AddrAssignType = NetAddrAssign.Set;
        }
        if (cfg.Broadcast != null) dev.Broadcast = cfg.Broadcast[..dev.AddrLen];
        if (cfg.TxQueueLen is uint q) dev.TxQueueLen = q;
        if (cfg.OperState is byte os) SetOperState(dev, os);
        if (cfg.LinkMode is byte lm) dev.LinkMode = lm;
        if (cfg.Group is uint g) dev.Group = g;
        if (cfg.GsoMaxSize is uint gs) dev.GsoMaxSize = gs;
        if (cfg.GsoMaxSegs is uint gg) dev.GsoMaxSegs = gg;
        if (cfg.GroMaxSize is uint gr) dev.GroMaxSize = gr;
        if (cfg.GsoIpv4MaxSize is uint g4) dev.GsoIpv4MaxSize = g4;
        if (cfg.GroIpv4MaxSize is uint r4) dev.GroIpv4MaxSize = r4;
        return (dev, KErr.Ok);
    }

    /// <summary>validate_linkmsg: address lengths and per-family IFLA_AF_SPEC checks.</summary>
    private static KErr ValidateLinkMsg(NetDevice dev, LinkConfig cfg)
    {
        if (cfg.Address != null && cfg.Address.Length < dev.AddrLen) return new KErr(Errno.EINVAL);
        if (cfg.Broadcast != null && cfg.Broadcast.Length < dev.AddrLen) return new KErr(Errno.EINVAL);
        // inet6_validate_link_af: a device without inet6_dev (not registered yet) cannot take IPv6 settings
        if ((cfg.AddrGenMode != null || cfg.Ipv6Token != null) && dev.Ip6 == null)
            return new KErr(Errno.EAFNOSUPPORT);
        if (cfg.AddrGenMode is byte mode && !Model.Ipv6.Addrconf.ValidAddrGenMode(mode))
            return new KErr(Errno.EINVAL);
        if (cfg.Ipv4DevConf != null && dev.Ip4 == null) return new KErr(Errno.EAFNOSUPPORT);
        return KErr.Ok;
    }

    /// <summary>set_operstate: user space may only move between UP and DORMANT/TESTING as rfc2863 allows.</summary>
    public void SetOperState(NetDevice dev, byte transition)
    {
        byte op = dev.OperState;
        switch (transition)
        {
            case (byte)IF_OPER_UP:
                if ((op == IF_OPER_DORMANT || op == IF_OPER_TESTING || op == IF_OPER_UNKNOWN) && !dev.Dormant && !dev.Testing)
                    op = (byte)IF_OPER_UP;
                break;
            case (byte)IF_OPER_TESTING:
                if (dev.OperUp) op = (byte)IF_OPER_TESTING;
                break;
            case (byte)IF_OPER_DORMANT:
                if (dev.OperUp) op = (byte)IF_OPER_DORMANT;
                break;
        }
        if (dev.OperState != op)
        {
            dev.OperState = op;
            NetdevStateChange(dev);
        }
    }

    /// <summary>rtnl_dev_combine_flags: the unchanged bits come from dev_get_flags, so a promiscuity
    /// held by a bridge (dev->flags) does not turn into a user request (dev->gflags).</summary>
    public static uint CombineFlags(NetDevice dev, LinkConfig cfg)
    {
        uint flags = cfg.FlagsValue;
        if (cfg.FlagsChange != 0) flags = (flags & cfg.FlagsChange) | (dev.GetFlags() & ~cfg.FlagsChange);
        return flags;
    }

    /// <summary>rtnl_configure_link: applies ifi_flags and announces the new device, with the
    /// request's port and header unless <paramref name="report"/> is false (portid 0, nlh NULL).</summary>
    public KErr RtnlConfigureLink(NetDevice dev, LinkConfig? cfg, bool report = true)
    {
        uint oldFlags = dev.Flags;
        if (cfg != null && (cfg.FlagsValue != 0 || cfg.FlagsChange != 0))
        {
            var err = ChangeFlagsCore(dev, CombineFlags(dev, cfg));
            if (err.Failed) return err;
        }
        if (dev.RtnlLinkInitialized)
        {
            NotifyFlags(dev, oldFlags, oldFlags ^ dev.Flags, report);
        }
        else
        {
            dev.RtnlLinkInitialized = true;
            NotifyFlags(dev, oldFlags, ~0u, report);
        }
        return KErr.Ok;
    }

    /// <summary>rtnl_newlink_create: creates, registers and configures a device of a kind.</summary>
    public (NetDevice? Dev, KErr Err) RtnlNewLink(LinkOps ops, LinkConfig cfg, object? kindConfig)
    {
        var err = ops.Validate(this, cfg, kindConfig);
        if (err.Failed) return (null, err);
        string name = cfg.Name ?? ops.Kind + "%d";
        var (dev, cerr) = RtnlCreateLink(name, ops, cfg);
        if (cerr.Failed) return (null, cerr);
        dev!.Ifindex = cfg.Ifindex;
        err = ops.NewLink(this, dev, cfg, kindConfig);
        if (err.Failed) return (null, err);
        err = RtnlConfigureLink(dev, cfg);
        if (err.Failed)
        {
            DelLink(dev);
            return (null, err);
        }
        if (cfg.MasterIndex is int m && m != 0)
        {
            err = DoSetMaster(dev, m);
            if (err.Failed)
            {
                DelLink(dev);
                return (null, err);
            }
        }
        return (dev, KErr.Ok);
    }

    /// <summary>do_set_master: enslave to the master with this index, or release (0).</summary>
    public KErr DoSetMaster(NetDevice dev, int masterIndex)
    {
        var upper = dev.Master;
        if (upper != null && upper.Ifindex == masterIndex) return KErr.Ok;
        if (upper != null)
        {
            if (!upper.Ops.HasDelSlave) return new KErr(Errno.EOPNOTSUPP);
            var err = upper.Ops.DelSlave(upper, dev);
            if (err.Failed) return err;
        }
        if (masterIndex != 0)
        {
            var master = GetDevice(masterIndex);
            if (master == null) return new KErr(Errno.EINVAL);
            if (!master.Ops.HasAddSlave) return new KErr(Errno.EOPNOTSUPP);
            return master.Ops.AddSlave(master, dev);
        }
        return KErr.Ok;
    }
}
