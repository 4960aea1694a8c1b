using SrsProxy.Profiling;

namespace SrsProxy.Tests.Profiling;

public sealed class WaitFramesTests
{
    [Theory]
    [InlineData("System.Threading.LowLevelLifoSemaphore.WaitNative", true)]
    [InlineData("Interop+Sys.WaitForSocketEvents", true)]
    [InlineData("System.Threading.Monitor.Wait", true)]
    [InlineData("Interop+Sys.SendTo", false)]
    [InlineData("SrsProxy.WebRtc.Relay.RtcRelay.HandleFromPlayer", false)]
    public void IsWait(string function, bool expected) => Assert.Equal(expected, WaitFrames.IsWait(function));

    [Fact]
    public void TrimArtefacts_DropsTheSamplersPollFrameOnTop()
    {
        StackFrameInfo Frame(string name) => new(1, name, name, "m", "", 0);
        var trimmed = WaitFrames.TrimArtefacts([Frame("System.Threading.Thread.<PollGC>g__PollGCWorker|67_0"), Frame("Work"), Frame("Main")]);
        Assert.Equal(["Work", "Main"], trimmed.Select(f => f.Function));
    }

    [Fact]
    public void IsWaiting_UnresolvedStubCalledFromTheSocketEngineLoop_IsEpollWait()
    {
        StackFrameInfo Frame(string name) => new(1, name, name, "m", "", 0);
        Assert.True(WaitFrames.IsWaiting([Frame(StackFrameInfo.Unresolved), Frame("System.Net.Sockets.SocketAsyncEngine.EventLoop")]));
        Assert.False(WaitFrames.IsWaiting([Frame(StackFrameInfo.Unresolved), Frame("System.Net.Sockets.SocketPal.TryCompleteSendTo")]));
        Assert.False(WaitFrames.IsWaiting([]));
    }
}
