using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

// The spanning tree of a bridge: net/bridge/br_stp.c, br_stp_if.c and br_stp_timer.c. No BPDU is
// ever received here, so the bridge stays root and its enabled ports designated, but the state
// machine is the kernel's: port states, timers, carrier and the ids user space sees.
public sealed partial class NetBridge
{
    /// <summary>br_make_port_id.</summary>
    private static ushort MakePortId(ushort priority, ushort portNo) =>
        (ushort)((priority << PortBits) | (portNo & ((1 << PortBits) - 1)));

    /// <summary>br_set_state.</summary>
    internal void SetState(BridgePort p, byte state)
    {
        if ((p.Flags & BrPortFlags.MrpAware) != 0) return;
        p.State = state;
    }

    /// <summary>br_init_port.</summary>
    internal void InitPort(BridgePort p)
    {
        p.PortId = MakePortId(p.Priority, p.PortNo);
        BecomeDesignatedPort(p);
        SetState(p, BrState.Blocking);
        p.TopologyChangeAck = 0;
        p.ConfigPending = 0;
    }

    /// <summary>br_become_designated_port.</summary>
    private void BecomeDesignatedPort(BridgePort p)
    {
        p.DesignatedRoot = DesignatedRoot;
        p.DesignatedCost = RootPathCost;
        p.DesignatedBridge = BridgeId;
        p.DesignatedPort = p.PortId;
    }

    /// <summary>br_should_become_root_port.</summary>
    private bool ShouldBecomeRootPort(BridgePort p, ushort rootPort)
    {
        if (p.State == BrState.Disabled || p.IsDesignated) return false;
        if (BridgeId.CompareTo(p.DesignatedRoot) <= 0) return false;
        if (rootPort == 0) return true;
        var rp = GetPort(rootPort)!;
        int t = p.DesignatedRoot.CompareTo(rp.DesignatedRoot);
        if (t != 0) return t < 0;
        long a = p.DesignatedCost + p.PathCost, b = rp.DesignatedCost + rp.PathCost;
        if (a != b) return a < b;
        t = p.DesignatedBridge.CompareTo(rp.DesignatedBridge);
        if (t != 0) return t < 0;
        if (p.DesignatedPort != rp.DesignatedPort) return p.DesignatedPort < rp.DesignatedPort;
        return p.PortId < rp.PortId;
    }

    /// <summary>br_root_port_block.</summary>
    private void RootPortBlock(BridgePort p)
    {
        SetState(p, BrState.Listening);
        IfinfoNotify(p, deleted: false);
        if (ForwardDelay > 0) p.ForwardDelayTimer.Mod(Now + ForwardDelay);
    }

    /// <summary>br_root_selection.</summary>
    private void RootSelection()
    {
        ushort rootPort = 0;
        foreach (var p in Ports)
        {
            if (!ShouldBecomeRootPort(p, rootPort)) continue;
            if ((p.Flags & BrPortFlags.RootBlock) != 0) RootPortBlock(p);
            else rootPort = p.PortNo;
        }
        RootPort = rootPort;
        if (rootPort == 0)
        {
            DesignatedRoot = BridgeId;
            RootPathCost = 0;
        }
        else
        {
            var p = GetPort(rootPort)!;
            DesignatedRoot = p.DesignatedRoot;
            RootPathCost = p.DesignatedCost + p.PathCost;
        }
    }

    /// <summary>br_become_root_bridge.</summary>
    private void BecomeRootBridge()
    {
        MaxAge = BridgeMaxAge;
        HelloTime = BridgeHelloTime;
        ForwardDelay = BridgeForwardDelay;
        TopologyChangeDetection();
        TcnTimer.Delete();
        if ((Dev.Flags & IFF_UP) != 0)
        {
            ConfigBpduGeneration();
            HelloTimer.Mod(Now + HelloTime);
        }
    }

    /// <summary>br_transmit_config: the BPDU itself goes nowhere; the hold timer and the pending
    /// flags behave as after a transmission.</summary>
    private void TransmitConfig(BridgePort p)
    {
        if (p.HoldTimer.Pending)
        {
            p.ConfigPending = 1;
            return;
        }
        // message_age is 0 on the root bridge, always below max_age
        p.TopologyChangeAck = 0;
        p.ConfigPending = 0;
        if (StpEnabled == BrStp.Kernel) p.HoldTimer.Mod(Jiffies.Round(Now + HoldTime));
    }

    /// <summary>br_should_become_designated_port.</summary>
    private bool ShouldBecomeDesignatedPort(BridgePort p)
    {
        if (p.IsDesignated) return true;
        if (p.DesignatedRoot != DesignatedRoot) return true;
        if (RootPathCost != p.DesignatedCost) return RootPathCost < p.DesignatedCost;
        int t = BridgeId.CompareTo(p.DesignatedBridge);
        if (t != 0) return t < 0;
        return p.PortId < p.DesignatedPort;
    }

    /// <summary>br_designated_port_selection.</summary>
    private void DesignatedPortSelection()
    {
        foreach (var p in Ports)
            if (p.State != BrState.Disabled && ShouldBecomeDesignatedPort(p)) BecomeDesignatedPort(p);
    }

    /// <summary>br_configuration_update.</summary>
    private void ConfigurationUpdate()
    {
        RootSelection();
        DesignatedPortSelection();
    }

    /// <summary>__br_set_topology_change.</summary>
    private void SetTopologyChange(byte val)
    {
        if (StpEnabled == BrStp.Kernel && TopologyChange != val)
            AgeingTime = val != 0 ? 2 * ForwardDelay : BridgeAgeingTime;
        TopologyChange = val;
    }

    /// <summary>br_topology_change_detection.</summary>
    private void TopologyChangeDetection()
    {
        if (StpEnabled != BrStp.Kernel) return;
        if (IsRootBridge)
        {
            SetTopologyChange(1);
            TopologyChangeTimer.Mod(Now + BridgeForwardDelay + BridgeMaxAge);
        }
        else if (TopologyChangeDetected == 0)
        {
            TcnTimer.Mod(Now + BridgeHelloTime);
        }
        TopologyChangeDetected = 1;
    }

    /// <summary>br_config_bpdu_generation.</summary>
    private void ConfigBpduGeneration()
    {
        foreach (var p in Ports)
            if (p.State != BrState.Disabled && p.IsDesignated) TransmitConfig(p);
    }

    /// <summary>br_make_blocking.</summary>
    private void MakeBlocking(BridgePort p)
    {
        if (p.State == BrState.Disabled || p.State == BrState.Blocking) return;
        if (p.State == BrState.Forwarding || p.State == BrState.Learning) TopologyChangeDetection();
        SetState(p, BrState.Blocking);
        IfinfoNotify(p, deleted: false);
        p.ForwardDelayTimer.Delete();
    }

    /// <summary>br_make_forwarding: without STP straight to forwarding (the forward delay timer
    /// still runs).</summary>
    private void MakeForwarding(BridgePort p)
    {
        if (p.State != BrState.Blocking) return;
        if (StpEnabled == BrStp.None || ForwardDelay == 0)
        {
            SetState(p, BrState.Forwarding);
            TopologyChangeDetection();
            p.ForwardDelayTimer.Delete();
        }
        else if (StpEnabled == BrStp.Kernel) SetState(p, BrState.Listening);
        else SetState(p, BrState.Learning);
        IfinfoNotify(p, deleted: false);
        if (ForwardDelay != 0) p.ForwardDelayTimer.Mod(Now + ForwardDelay);
    }

    /// <summary>br_port_state_selection: the bridge has carrier while a port forwards.</summary>
    internal void PortStateSelection()
    {
        int liveports = 0;
        foreach (var p in Ports)
        {
            if (p.State == BrState.Disabled) continue;
            if (StpEnabled != BrStp.User)
            {
                if (p.PortNo == RootPort)
                {
                    p.ConfigPending = 0;
                    p.TopologyChangeAck = 0;
                    MakeForwarding(p);
                }
                else if (p.IsDesignated)
                {
                    p.MessageAgeTimer.Delete();
                    MakeForwarding(p);
                }
                else
                {
                    p.ConfigPending = 0;
                    p.TopologyChangeAck = 0;
                    MakeBlocking(p);
                }
            }
            if (p.State == BrState.Forwarding) liveports++;
        }
        if (liveports == 0) Net.NetifCarrierOff(Dev);
        else Net.NetifCarrierOn(Dev);
    }

    // ---- br_stp_if.c ---------------------------------------------------------------------------

    /// <summary>br_stp_enable_bridge (ndo_open).</summary>
    internal void StpEnableBridge()
    {
        if (StpEnabled == BrStp.Kernel) HelloTimer.Mod(Now + HelloTime);
        ModGc(Jiffies.HZ / 10);
        ConfigBpduGeneration();
        foreach (var p in Ports.ToList())
            if (p.Dev.IsUp && p.Dev.OperUp) StpEnablePort(p);
    }

    /// <summary>br_stp_disable_bridge (ndo_stop).</summary>
    internal void StpDisableBridge()
    {
        foreach (var p in Ports.ToList())
            if (p.State != BrState.Disabled) StpDisablePort(p);
        SetTopologyChange(0);
        TopologyChangeDetected = 0;
        HelloTimer.Delete();
        TopologyChangeTimer.Delete();
        TcnTimer.Delete();
        GcTimer.Delete();
    }

    /// <summary>br_stp_enable_port.</summary>
    internal void StpEnablePort(BridgePort p)
    {
        InitPort(p);
        PortStateSelection();
        IfinfoNotify(p, deleted: false);
    }

    /// <summary>br_stp_disable_port.</summary>
    internal void StpDisablePort(BridgePort p)
    {
        bool wasRoot = IsRootBridge;
        BecomeDesignatedPort(p);
        SetState(p, BrState.Disabled);
        p.TopologyChangeAck = 0;
        p.ConfigPending = 0;
        IfinfoNotify(p, deleted: false);
        p.MessageAgeTimer.Delete();
        p.ForwardDelayTimer.Delete();
        p.HoldTimer.Delete();
        if (p.BackupPort == null) FdbDeleteByPort(p, 0, doAll: false);
        ConfigurationUpdate();
        PortStateSelection();
        if (IsRootBridge && !wasRoot) BecomeRootBridge();
    }

    /// <summary>br_stp_start: no user-space helper runs in a namespace, so the kernel does STP.</summary>
    private void StpStart()
    {
        if (BridgeForwardDelay < MinForwardDelay) SetForwardDelayCore(MinForwardDelay);
        else if (BridgeForwardDelay > MaxForwardDelay) SetForwardDelayCore(MaxForwardDelay);
        StpEnabled = BrStp.Kernel;
        // to start timers on any ports left in blocking
        if ((Dev.Flags & IFF_UP) != 0) HelloTimer.Mod(Now + HelloTime);
        PortStateSelection();
    }

    /// <summary>br_stp_stop.</summary>
    private void StpStop()
    {
        if (StpEnabled == BrStp.User) PortStateSelection();
        StpEnabled = BrStp.None;
    }

    /// <summary>br_stp_set_enabled.</summary>
    internal KErr StpSetEnabled(uint val)
    {
        if (val != 0)
        {
            if (StpEnabled == BrStp.None) StpStart();
        }
        else if (StpEnabled != BrStp.None) StpStop();
        return KErr.Ok;
    }

    /// <summary>br_stp_change_bridge_id: the bridge id and the device address change together.</summary>
    internal void ChangeBridgeId(ReadOnlySpan<byte> addr)
    {
        bool wasRoot = IsRootBridge;
        FdbChangeMacAddress(addr);
        var old = BridgeId;
        BridgeId = BridgeId.WithAddr(addr);
        Dev.DevAddr = addr.ToArray();
        foreach (var p in Ports)
        {
            if (p.DesignatedBridge.SameAddr(old)) p.DesignatedBridge = p.DesignatedBridge.WithAddr(addr);
            if (p.DesignatedRoot.SameAddr(old)) p.DesignatedRoot = p.DesignatedRoot.WithAddr(addr);
        }
        ConfigurationUpdate();
        PortStateSelection();
        if (IsRootBridge && !wasRoot) BecomeRootBridge();
    }

    /// <summary>br_stp_recalculate_bridge_id: a bridge without a user-set address takes the lowest
    /// port address (all zeros once the last port leaves).</summary>
    internal bool RecalculateBridgeId()
    {
        if (Dev.AddrAssignType == NetAddrAssign.Set) return false;
        byte[]? addr = null;
        foreach (var p in Ports)
            if (addr == null || p.Dev.DevAddr.AsSpan(0, 6).SequenceCompareTo(addr) < 0) addr = p.Dev.DevAddr;
        addr ??= new byte[6];
        if (BridgeId.Addr.AsSpan().SequenceEqual(addr.AsSpan(0, 6))) return false;
        ChangeBridgeId(addr.AsSpan(0, 6));
        return true;
    }

    /// <summary>br_stp_set_bridge_priority.</summary>
    internal void StpSetBridgePriority(ushort newprio)
    {
        bool wasRoot = IsRootBridge;
        foreach (var p in Ports)
            if (p.State != BrState.Disabled && p.IsDesignated)
                p.DesignatedBridge = p.DesignatedBridge.WithPriority(newprio);
        BridgeId = BridgeId.WithPriority(newprio);
        ConfigurationUpdate();
        PortStateSelection();
        if (IsRootBridge && !wasRoot) BecomeRootBridge();
    }

    /// <summary>br_stp_set_port_priority.</summary>
    internal KErr StpSetPortPriority(BridgePort p, uint newprio)
    {
        if (newprio > MaxPortPriority) return new KErr(Errno.ERANGE);
        ushort newPortId = MakePortId((ushort)newprio, p.PortNo);
        if (p.IsDesignated) p.DesignatedPort = newPortId;
        p.PortId = newPortId;
        p.Priority = (ushort)newprio;
        if (p.DesignatedBridge == BridgeId && p.PortId < p.DesignatedPort)
        {
            BecomeDesignatedPort(p);
            PortStateSelection();
        }
        return KErr.Ok;
    }

    /// <summary>br_stp_set_path_cost.</summary>
    internal KErr StpSetPathCost(BridgePort p, uint cost)
    {
        if (cost < MinPathCost || cost > MaxPathCost) return new KErr(Errno.ERANGE);
        p.Flags |= BrPortFlags.AdminCost;
        p.PathCost = cost;
        ConfigurationUpdate();
        PortStateSelection();
        return KErr.Ok;
    }

    // ---- STP parameters (br_stp.c) ---------------------------------------------------------------

    /// <summary>__br_set_forward_delay.</summary>
    private void SetForwardDelayCore(long t)
    {
        BridgeForwardDelay = t;
        if (IsRootBridge) ForwardDelay = BridgeForwardDelay;
    }

    /// <summary>br_set_forward_delay: range-checked only while STP runs.</summary>
    internal KErr SetForwardDelay(ulong val)
    {
        long t = Jiffies.FromClockT(val);
        if (StpEnabled != BrStp.None && (t < MinForwardDelay || t > MaxForwardDelay)) return new KErr(Errno.ERANGE);
        SetForwardDelayCore(t);
        return KErr.Ok;
    }

    /// <summary>br_set_hello_time.</summary>
    internal KErr SetHelloTime(ulong val)
    {
        long t = Jiffies.FromClockT(val);
        if (t < MinHelloTime || t > MaxHelloTime) return new KErr(Errno.ERANGE);
        BridgeHelloTime = t;
        if (IsRootBridge) HelloTime = BridgeHelloTime;
        return KErr.Ok;
    }

    /// <summary>br_set_max_age.</summary>
    internal KErr SetMaxAge(ulong val)
    {
        long t = Jiffies.FromClockT(val);
        if (t < MinMaxAge || t > MaxMaxAge) return new KErr(Errno.ERANGE);
        BridgeMaxAge = t;
        if (IsRootBridge) MaxAge = BridgeMaxAge;
        return KErr.Ok;
    }

    /// <summary>br_set_ageing_time: also kicks the garbage collection, even on a down bridge.</summary>
    internal KErr SetAgeingTime(ulong val)
    {
        long t = Jiffies.FromClockT(val);
        BridgeAgeingTime = t;
        AgeingTime = t;
        ModGc(0);
        return KErr.Ok;
    }

    // ---- timers (br_stp_timer.c) -------------------------------------------------------------------

    /// <summary>br_is_designated_for_some_port.</summary>
    private bool IsDesignatedForSomePort()
    {
        foreach (var p in Ports)
            if (p.State != BrState.Disabled && p.DesignatedBridge == BridgeId) return true;
        return false;
    }

    private void HelloTimerExpired()
    {
        if ((Dev.Flags & IFF_UP) == 0) return;
        ConfigBpduGeneration();
        if (StpEnabled == BrStp.Kernel) HelloTimer.Mod(Jiffies.Round(Now + HelloTime));
    }

    internal void MessageAgeTimerExpired(BridgePort p)
    {
        if (p.State == BrState.Disabled) return;
        bool wasRoot = IsRootBridge;
        BecomeDesignatedPort(p);
        ConfigurationUpdate();
        PortStateSelection();
        if (IsRootBridge && !wasRoot) BecomeRootBridge();
    }

    internal void ForwardDelayTimerExpired(BridgePort p)
    {
        if (p.State == BrState.Listening)
        {
            SetState(p, BrState.Learning);
            p.ForwardDelayTimer.Mod(Now + ForwardDelay);
        }
        else if (p.State == BrState.Learning)
        {
            SetState(p, BrState.Forwarding);
            if (IsDesignatedForSomePort()) TopologyChangeDetection();
            Net.NetifCarrierOn(Dev);
        }
        IfinfoNotify(p, deleted: false);
    }

    private void TcnTimerExpired()
    {
        if (!IsRootBridge && (Dev.Flags & IFF_UP) != 0) TcnTimer.Mod(Now + BridgeHelloTime);
    }

    private void TopologyChangeTimerExpired()
    {
        TopologyChangeDetected = 0;
        SetTopologyChange(0);
    }

    internal void HoldTimerExpired(BridgePort p)
    {
        if (p.ConfigPending != 0) TransmitConfig(p);
    }
}
