using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

// br_changelink and the option setters of br_netlink.c / br_multicast.c.
public sealed partial class NetBridge
{
    public const byte MdbRtrTypeDisabled = 0, MdbRtrTypeTempQuery = 1, MdbRtrTypePerm = 2, MdbRtrTypeTemp = 3;
    private static readonly long QueryIntvlMin = Jiffies.FromMs(1000), QueryIntvlMax = Jiffies.FromMs(86_400_000);

    private static KErr ModErr(int errno, string msg) => new(errno, "bridge: " + msg);

    /// <summary>br_changelink: the options of a request, applied in the kernel's order; the first
    /// failure stops the rest.</summary>
    internal KErr ChangeLink(BridgeConfig c)
    {
        KErr err;
        if (c.ForwardDelay is uint fd && (err = SetForwardDelay(fd)).Failed) return err;
        if (c.HelloTime is uint ht && (err = SetHelloTime(ht)).Failed) return err;
        if (c.MaxAge is uint ma && (err = SetMaxAge(ma)).Failed) return err;
        if (c.AgeingTime is uint at && (err = SetAgeingTime(at)).Failed) return err;
        if (c.StpState is uint stp && (err = StpSetEnabled(stp)).Failed) return err;
        if (c.Priority is ushort prio) StpSetBridgePriority(prio);
        // br_vlan_filter_toggle without CONFIG_BRIDGE_VLAN_FILTERING; the other VLAN options are
        // compiled out and ignored
        if (c.VlanFiltering != null) return new KErr(Errno.EOPNOTSUPP);
        if (c.GroupFwdMask is ushort mask)
        {
            if ((mask & GroupFwdRestricted) != 0) return new KErr(Errno.EINVAL);
            GroupFwdMask = mask;
        }
        if (c.GroupAddr is { } ga)
        {
            if (ga.Length != 6) return new KErr(Errno.EINVAL);
            // is_link_local_ether_addr: 01:80:c2:00:00:0X
            if (ga[0] != 0x01 || ga[1] != 0x80 || ga[2] != 0xc2 || ga[3] != 0 || ga[4] != 0 || (ga[5] & 0xf0) != 0)
                return new KErr(Errno.EINVAL);
            if (ga[5] is 1 or 2 or 3) return new KErr(Errno.EINVAL); // pause, slow protocols, 802.1X
            GroupAddr = (byte[])ga.Clone();
            GroupAddrSet = true;
            // br_recalculate_fwd_mask
            GroupFwdMaskRequired = (ushort)(StpEnabled == BrStp.Kernel || !GroupAddrSet ? 0 : 1 << ga[5]);
        }
        // IFLA_BR_FDB_FLUSH: every entry but the static ones
        if (c.FdbFlush) FdbFlush(new FdbFlushDesc(0, FdbFlags.Static, 0, 0));
        if (c.McastRouter is byte mr && (err = SetMulticastRouter(mr)).Failed) return err;
        if (c.McastSnooping is byte snoop) MulticastToggle(snoop != 0);
        if (c.McastQueryUseIfaddr is byte qui) MulticastQueryUseIfaddr = qui != 0;
        if (c.McastQuerier is byte q) MulticastQuerier = (byte)(q != 0 ? 1 : 0);
        // IFLA_BR_MCAST_HASH_ELASTICITY is deprecated: a warning, and it stays RHT_ELASTICITY
        if (c.McastHashMax is uint hm) HashMax = hm;
        if (c.McastLastMemberCount is uint lmc) MulticastLastMemberCount = lmc;
        if (c.McastStartupQueryCount is uint sqc) MulticastStartupQueryCount = sqc;
        if (c.McastLastMemberInterval is ulong lmi) MulticastLastMemberInterval = Jiffies.FromClockT(lmi);
        if (c.McastMembershipInterval is ulong mi) MulticastMembershipInterval = Jiffies.FromClockT(mi);
        if (c.McastQuerierInterval is ulong qi) MulticastQuerierInterval = Jiffies.FromClockT(qi);
        if (c.McastQueryInterval is ulong qy) MulticastQueryInterval = ClampQueryInterval(qy);
        if (c.McastQueryResponseInterval is ulong qri) MulticastQueryResponseInterval = Jiffies.FromClockT(qri);
        if (c.McastStartupQueryInterval is ulong sqi) MulticastStartupQueryInterval = ClampQueryInterval(sqi);
        if (c.McastStatsEnabled is byte mse) MulticastStatsEnabled = mse != 0;
        if (c.McastIgmpVersion is byte igmp)
        {
            if (igmp is not (2 or 3)) return new KErr(Errno.EINVAL);
            MulticastIgmpVersion = igmp;
        }
        if (c.McastMldVersion is byte mld)
        {
            if (mld is not (1 or 2)) return new KErr(Errno.EINVAL);
            MulticastMldVersion = mld;
        }
        if (c.NfCallIptables is byte n4) NfCallIptables = n4 != 0;
        if (c.NfCallIp6tables is byte n6) NfCallIp6tables = n6 != 0;
        if (c.NfCallArptables is byte na) NfCallArptables = na != 0;
        if (c.MultiBoolopt is var (val, m) && (err = BoolOptMultiToggle(val, m)).Failed) return err;
        if (c.FdbMaxLearned is uint fml) FdbMaxLearned = fml;
        return KErr.Ok;
    }

    /// <summary>br_multicast_toggle: snooping on or off; a running bridge joins the all-snoopers
    /// groups when it starts snooping, and any bridge leaves them when it stops.</summary>
    private void MulticastToggle(bool on)
    {
        if (MulticastEnabled == on) return;
        MulticastEnabled = on;
        if (!on) LeaveSnoopers();
        else if (Dev.IsUp) JoinSnoopers();
    }

    private const uint AllSnoopers4 = 0xe000006a; // 224.0.0.106, INADDR_ALLSNOOPERS_GROUP
    private static readonly UInt128 AllSnoopers6 = ((UInt128)0xff02UL << 112) | 0x6a; // ff02::6a

    /// <summary>br_multicast_join_snoopers: the groups multicast router discovery listens on.</summary>
    internal void JoinSnoopers()
    {
        if (Dev.Ip4 is { } in4) Net.Ipv4.IpMcIncGroup(in4, AllSnoopers4);
        if (Dev.Ip6 is { } in6) Net.Ipv6.Ipv6DevMcInc(in6, AllSnoopers6);
    }

    /// <summary>br_multicast_leave_snoopers.</summary>
    internal void LeaveSnoopers()
    {
        if (Dev.Ip4 is { } in4) Net.Ipv4.IpMcDecGroup(in4, AllSnoopers4);
        if (Dev.Ip6 is { } in6) Net.Ipv6.Ipv6DevMcDec(in6, AllSnoopers6);
    }

    /// <summary>br_multicast_set_query_intvl / br_multicast_set_startup_query_intvl: clamped to 1 s .. 1 day.</summary>
    private static long ClampQueryInterval(ulong clockT)
    {
        long j = Jiffies.FromClockT(clockT);
        return Math.Clamp(j, QueryIntvlMin, QueryIntvlMax);
    }

    /// <summary>br_multicast_set_router.</summary>
    private KErr SetMulticastRouter(byte val)
    {
        switch (val)
        {
            case MdbRtrTypeDisabled:
            case MdbRtrTypePerm:
            case MdbRtrTypeTempQuery:
                MulticastRouter = val;
                return KErr.Ok;
            default:
                return new KErr(Errno.EINVAL);
        }
    }

    /// <summary>br_boolopt_multi_toggle.</summary>
    private KErr BoolOptMultiToggle(uint optval, uint optmask)
    {
        for (int id = BoolOptMax; id < 32; id++)
            if ((optmask & (1u << id)) != 0) return ModErr(Errno.EINVAL, $"Unknown boolean option {id}");
        for (int id = 0; id < BoolOptMax; id++)
        {
            if ((optmask & (1u << id)) == 0) continue;
            bool on = (optval & (1u << id)) != 0;
            var err = BoolOptToggle(id, on);
            if (err.Failed) return err;
        }
        return KErr.Ok;
    }

    /// <summary>br_boolopt_toggle.</summary>
    private KErr BoolOptToggle(int opt, bool on)
    {
        switch (opt)
        {
            case BoolOptNoLlLearn:
                NoLlLearn = on;
                break;
            case BoolOptMcastVlanSnooping:
                // br_multicast_toggle_vlan_snooping
                if (McastVlanSnooping == on) break;
                if (on && !VlanEnabled)
                    return ModErr(Errno.EINVAL, "Cannot enable multicast vlan snooping with vlan filtering disabled");
                McastVlanSnooping = on;
                break;
            case BoolOptMstEnable:
                // br_mst_set_enabled without CONFIG_BRIDGE_VLAN_FILTERING
                return new KErr(Errno.EOPNOTSUPP);
            case BoolOptMdbOffloadFailNotification:
                MdbOffloadFailNotification = on;
                break;
            case BoolOptFdbLocalVlan0:
                FdbLocalVlan0 = on;
                break;
        }
        return KErr.Ok;
    }

    /// <summary>br_set_port_state: user space may move a port only when kernel STP does not.</summary>
    private KErr SetPortState(BridgePort p, byte state)
    {
        if (state > BrState.Blocking) return new KErr(Errno.EINVAL);
        if (StpEnabled == BrStp.Kernel) return new KErr(Errno.EBUSY);
        if (!p.Dev.IsUp || (!p.Dev.OperUp && state != BrState.Disabled)) return new KErr(Errno.ENETDOWN);
        SetState(p, state);
        PortStateSelection();
        return KErr.Ok;
    }

    /// <summary>br_setport: a port's options (IFLA_BRPORT_*), in the kernel's order.</summary>
    internal KErr SetPort(BridgePort p, BridgePortConfig c)
    {
        var oldFlags = p.Flags;
        foreach (var (flag, on) in c.Flags)
        {
            if (on) p.Flags |= flag;
            else p.Flags &= ~flag;
        }
        if ((p.Flags & BrPortFlags.PortMab) != 0 &&
            ((p.Flags & BrPortFlags.PortLocked) == 0 || (p.Flags & BrPortFlags.Learning) == 0))
        {
            p.Flags = oldFlags;
            return new KErr(Errno.EINVAL, "Bridge port must be locked and have learning enabled when MAB is enabled");
        }
        var changed = oldFlags ^ p.Flags;
        // br_port_flags_change
        if ((changed & BrPortFlags.AutoMask) != 0) UpdatePortCount();

        KErr err;
        if (c.Cost is uint cost && (err = StpSetPathCost(p, cost)).Failed) return err;
        if (c.Priority is ushort prio && (err = StpSetPortPriority(p, prio)).Failed) return err;
        if (c.State is byte st && (err = SetPortState(p, st)).Failed) return err;
        if (c.Flush) FdbDeleteByPort(p, 0, doAll: false);
        if (c.MulticastRouter is byte mr)
        {
            // br_multicast_set_port_router
            if (mr > MdbRtrTypeTemp) return new KErr(Errno.EINVAL);
            p.MulticastRouter = mr;
        }
        if (c.McastEhtHostsLimit is uint hl)
        {
            if (hl == 0) return new KErr(Errno.EINVAL);
            p.McastEhtHostsLimit = hl;
        }
        if (c.McastMaxGroups is uint mg) p.McastMaxGroups = mg;
        if (c.GroupFwdMask is ushort gm)
        {
            if ((gm & GroupFwdMacPause) != 0) return new KErr(Errno.EINVAL);
            p.GroupFwdMask = gm;
        }
        if (c.BackupPort is uint bi)
        {
            NetDevice? backupDev = null;
            if (bi != 0)
            {
                backupDev = p.Dev.Net.GetDevice((int)bi);
                if (backupDev == null) return new KErr(Errno.ENOENT);
            }
            if ((err = BackupChange(p, backupDev)).Failed) return err;
        }
        if (c.BackupNhid is uint nh) p.BackupNhid = nh;
        return KErr.Ok;
    }
}

/// <summary>net/bridge: the bridge device (br_device.c, br_if.c, br_netlink.c, br_notify.c).</summary>
public sealed class BridgeLinkOps : LinkOps
{
    public override string Kind => "bridge";
    public override bool IsBridge => true;

    public static NetBridge Priv(NetDevice dev) => (NetBridge)dev.Priv!;

    /// <summary>br_dev_setup.</summary>
    public override void Setup(NetDevice dev)
    {
        Links.Setup.Ether(dev);
        dev.PrivFlags = PrivFlags.Ebridge | PrivFlags.NoQueue | PrivFlags.NetnsLocal;
        dev.MaxMtu = 65535; // ETH_MAX_MTU
        dev.Priv = new NetBridge(dev);
    }

    /// <summary>br_dev_newlink: registered, then the address becomes the bridge id, then the options.</summary>
    public override KErr NewLink(Net net, NetDevice dev, LinkConfig common, object? kindConfig)
    {
        var br = Priv(dev);
        br.InitTimers(net.Kernel);
        if (common.Address == null) Links.Setup.EthHwAddrRandom(net.Kernel, dev);
        var err = net.RegisterNetdevice(dev);
        if (err.Failed) return err;
        if (common.Address != null) br.ChangeBridgeId(common.Address.AsSpan(0, 6));
        if (kindConfig is BridgeConfig c)
        {
            err = br.ChangeLink(c);
            if (err.Failed)
            {
                var kill = new List<NetDevice>();
                br.DevDelete(kill);
                net.UnregisterNetdeviceMany(kill);
                return err;
            }
        }
        return KErr.Ok;
    }

    public override bool HasChangeLink => true;
    public override KErr ChangeLink(NetDevice dev, object kindConfig) =>
        kindConfig is BridgeConfig c ? Priv(dev).ChangeLink(c) : KErr.Ok;

    public override bool HasSlaveChangeLink => true;

    /// <summary>br_port_slave_changelink.</summary>
    public override KErr SlaveChangeLink(NetDevice master, NetDevice port, object slaveConfig)
    {
        var p = NetBridge.PortOf(port);
        if (p == null || slaveConfig is not BridgePortConfig c) return KErr.Ok;
        return Priv(master).SetPort(p, c);
    }

    /// <summary>br_dev_delete.</summary>
    public override void DelLink(NetDevice dev, List<NetDevice> kill) => Priv(dev).DevDelete(kill);

    /// <summary>br_dev_open: STP, and the all-snoopers groups while snooping.</summary>
    public override KErr Open(NetDevice dev)
    {
        var br = Priv(dev);
        br.StpEnableBridge();
        if (br.MulticastEnabled) br.JoinSnoopers();
        return KErr.Ok;
    }

    /// <summary>br_dev_stop.</summary>
    public override void Stop(NetDevice dev)
    {
        var br = Priv(dev);
        br.StpDisableBridge();
        if (br.MulticastEnabled) br.LeaveSnoopers();
    }

    /// <summary>br_change_mtu: a user-set MTU stops the automatic adjustment.</summary>
    public override KErr ChangeMtu(NetDevice dev, uint mtu)
    {
        dev.Mtu = mtu;
        Priv(dev).MtuSetByUser = true;
        return KErr.Ok;
    }

    /// <summary>br_set_mac_address.</summary>
    public override KErr SetMacAddress(NetDevice dev, byte[] addr)
    {
        if (!EtherAddr.IsValid(addr)) return new KErr(Errno.EADDRNOTAVAIL);
        if (dev.RegState != RegState.Registered) return new KErr(Errno.EBUSY);
        if (!dev.DevAddr.AsSpan().SequenceEqual(addr)) Priv(dev).ChangeBridgeId(addr);
        return KErr.Ok;
    }

    public override bool HasAddSlave => true;
    public override KErr AddSlave(NetDevice master, NetDevice port) => Priv(master).AddIf(port);
    public override bool HasDelSlave => true;
    public override KErr DelSlave(NetDevice master, NetDevice port) => Priv(master).DelIf(port);

    /// <summary>br_dev_change_rx_flags.</summary>
    public override void ChangeRxFlags(NetDevice dev, uint change)
    {
        if ((change & IFF_PROMISC) != 0) Priv(dev).ManagePromisc();
    }

    /// <summary>br_get_link_ksettings: the fastest running port, else unknown.</summary>
    public override int? GetLinkSpeed(NetDevice dev)
    {
        int speed = SpeedUnknown;
        foreach (var p in Priv(dev).Ports)
        {
            if (!p.Dev.IsUp || !p.Dev.OperUp) continue;
            if (p.Dev.Ops.GetLinkSpeed(p.Dev) is not int s || s == SpeedUnknown) continue;
            if (speed == SpeedUnknown || speed < s) speed = s;
        }
        return speed;
    }

    public override INetdevNotifier CreateNotifier(Net net) => new BrDeviceEvent();

    /// <summary>br_device_event: how a port's changes reach its bridge.</summary>
    private sealed class BrDeviceEvent : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            // the bridge's own address is in its table from registration on
            if (ev == NetdevEvent.Register && dev.Ops.IsBridge) Priv(dev).FdbChangeMacAddress(dev.DevAddr.AsSpan(0, 6));
            var p = NetBridge.PortOf(dev);
            if (p == null) return;
            var br = p.Br;
            bool notified = false;
            switch (ev)
            {
                case NetdevEvent.ChangeMtu:
                    br.MtuAutoAdjust();
                    break;
                case NetdevEvent.ChangeAddr:
                    br.FdbChangeAddr(p, dev.DevAddr.AsSpan(0, 6));
                    if (br.RecalculateBridgeId()) br.Dev.Net.CallNetdevNotifiers(NetdevEvent.ChangeAddr, br.Dev);
                    break;
                case NetdevEvent.Change:
                    br.PortCarrierCheck(p, out notified);
                    break;
                case NetdevEvent.Down:
                    if ((br.Dev.Flags & IFF_UP) != 0)
                    {
                        br.StpDisablePort(p);
                        notified = true;
                    }
                    break;
                case NetdevEvent.Up:
                    if (br.Dev.IsUp && dev.OperUp)
                    {
                        br.StpEnablePort(p);
                        notified = true;
                    }
                    break;
                case NetdevEvent.Unregister:
                    br.DelIf(dev);
                    break;
            }
            // events that may cause spanning tree to refresh
            if (!notified && ev is NetdevEvent.ChangeAddr or NetdevEvent.Up or NetdevEvent.Change or NetdevEvent.Down)
                br.IfinfoNotify(p, deleted: false);
        }
    }
}
