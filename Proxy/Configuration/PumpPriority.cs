namespace SrsProxy.Configuration;

/// <summary>How the WebRTC relay's pump threads are scheduled (<c>PROXY_RTC_PUMP_PRIORITY</c>).</summary>
internal enum PumpPriority
{
    /// <summary>Like every other thread of the process.</summary>
    Normal,

    /// <summary>Nice -10: other processes' threads that wake on the same core preempt the pump less often.</summary>
    High,

    /// <summary>
    /// <c>SCHED_FIFO</c> priority 1: no normal thread preempts the pump. It still sleeps after each wake-up's work
    /// (<c>PROXY_RTC_COALESCE</c>) and blocks when idle, so it holds a core only as long as it has datagrams.
    /// </summary>
    Realtime,
}
